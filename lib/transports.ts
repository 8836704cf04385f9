/**
 * The transport registry: every transport is listed here once, and everything else reads it: the CLI
 * choices, the servers and baselines, the generator's clients, the byte model, the charts and the report.
 * Adding a transport = one entry here (or `registerTransport` from a plugin module) plus its own server,
 * client and model files. An entry without a model does not compile.
 */
import type { ClientClass } from '../load/clients/common.ts'
import { type ChatUpstreamModel, chatUpstreamBy } from '../load/model/chat.ts'
import {
  type FreshnessModel,
  longPollFreshness,
  shortPollFreshness,
  sseFreshness,
  websocketFreshness,
} from '../load/model/freshness.ts'
import { longPollH2Model, shortPollH2Model, sseH2Model } from '../load/model/h2.ts'
import { longPollModel } from '../load/model/long-poll.ts'
import { shortPollModel } from '../load/model/short-poll.ts'
import {
  socketIoPollChatUpstream,
  socketIoPollModel,
  socketIoWsChatUpstream,
  socketIoWsModel,
} from '../load/model/socketio.ts'
import { sseModel } from '../load/model/sse.ts'
import type { ByteModel } from '../load/model/types.ts'
import { websocketModel } from '../load/model/websocket.ts'
import type { TransportPlugin } from '../servers/app.ts'
import type { BaselineFactory } from '../servers/baseline/common.ts'
import { PbError } from './errors.ts'

export interface TransportEntry {
  /** what people call it: `short polling`, `WebSocket` */
  readonly label: string
  /** the URL path it serves; no other file names it */
  readonly path: string
  /**
   * `poll`: the client decides when it asks (short polling: staleness is set by its interval, the
   * capacity of the endpoint is measured with autocannon); `push`: the server decides when an update
   * leaves (long polling, SSE, WebSocket: the capacity search steps the publish rate)
   */
  readonly kind: 'push' | 'poll'
  /** how a client resumes from a seq it has: `?since=` on the request, a header, or a message on the socket */
  readonly resume: 'query' | 'header' | 'message'
  /** chart colour (Okabe-Ito: told apart with the common colour-vision deficiencies) */
  readonly color: string
  /** the suite's server: routes on the shared fastify app */
  readonly server: () => Promise<TransportPlugin>
  /** the bare reference server it is held against, where there is one */
  readonly baseline?: () => Promise<BaselineFactory>
  /**
   * the generator's clients, by kind: `library` is what an application would use (ws, undici,
   * eventsource-parser); `lean` does the least work that measures (raw sockets, byte scans)
   */
  readonly clients: {
    readonly library: () => Promise<ClientClass>
    readonly lean?: () => Promise<ClientClass>
    /**
     * which of the served page's clients (servers/page/page.js) opens it with a browser's own API:
     * `fetch` on a schedule, `fetch` held, `EventSource`, `WebSocket`; without one, `--client browser` refuses it
     */
    readonly browser?: BrowserPageClient
  }
  /** the least bytes per delivered update it must cost (load/model/) */
  readonly model: ByteModel
  /**
   * the latency it adds on top of the server's processing for a round trip (load/model/freshness.ts).
   * Optional for plugins written before it existed: registerTransport fills in its kind's (a push
   * stream's RTT/2, or short polling's I/2 + RTT/2)
   */
  readonly freshness?: FreshnessModel
  /**
   * left out of a scenario that names no transports (the stacks beyond the four, Socket.IO and HTTP/2):
   * a profile lists it by name where it wants its row; `--transport`, `--transports` and a scenario's
   * `transports` take it like any other
   */
  readonly optIn?: boolean
  /**
   * how a chat client sends (lib/workloads.ts `chat`): `post` is `POST /send` on a keep-alive connection
   * of its own (load/chat/); `connection` is the client's own connection (a WebSocket text message, a
   * Socket.IO event, a request on the same HTTP/2 session), through its `LoadClient.send`. Optional for
   * plugins written before chat existed: registerTransport fills in `post`
   */
  readonly upstream?: 'post' | 'connection'
  /**
   * chat: the bytes of one sent message upstream, both ways, when its sends are framed otherwise than
   * `upstream` says (load/model/chat.ts: a POST /send and its 204, or a masked text frame of the body), as
   * Socket.IO's events and acknowledgements are. Optional: registerTransport fills in `upstream`'s
   */
  readonly chatUpstream?: ChatUpstreamModel
  /**
   * the HTTP version its server speaks (servers/app.ts createApp): `h1` (the default) is HTTP/1.1; `h2` is
   * node:http2, cleartext h2c with prior knowledge, or h2 by ALPN under `--tls`
   */
  readonly protocol?: 'h1' | 'h2'
  /**
   * the chart line's dash pattern (canvas setLineDash: dash, gap, px), for a row drawn in its twin's colour
   * (an HTTP/2 row beside its HTTP/1.1 one); absent: a solid line
   */
  readonly dash?: readonly number[]
}

/** The clients the served page has (servers/page/page.js). */
export type BrowserPageClient = 'short-poll' | 'long-poll' | 'sse' | 'websocket'

/** An entry as the registry holds it: every one has a freshness model. */
export type RegisteredTransport = BuiltinEntry & { readonly chatUpstream: ChatUpstreamModel }

/** A built-in entry: its freshness model and upstream stated; registration fills in the rest. */
type BuiltinEntry = TransportEntry & {
  readonly freshness: FreshnessModel
  readonly upstream: 'post' | 'connection'
}

/** An entry with registerTransport's defaults filled in: its chat upstream model by `upstream`. */
const registered = (entry: BuiltinEntry): RegisteredTransport =>
  Object.freeze({ ...entry, chatUpstream: entry.chatUpstream ?? chatUpstreamBy(entry.upstream) })

const BUILTIN = {
  'short-poll': {
    label: 'short polling',
    path: '/poll',
    kind: 'poll',
    resume: 'query',
    color: '#E69F00',
    server: async () => (await import('../servers/short-poll.ts')).shortPoll,
    baseline: async () => (await import('../servers/baseline/poll.ts')).baselineShortPoll,
    clients: {
      library: async () => (await import('../load/clients/short-poll.ts')).ShortPollClient,
      lean: async () => (await import('../load/clients/lean/polls.ts')).LeanShortPollClient,
      browser: 'short-poll',
    },
    upstream: 'post',
    model: shortPollModel,
    freshness: shortPollFreshness,
  },
  'long-poll': {
    label: 'long polling',
    path: '/long-poll',
    kind: 'push',
    resume: 'query',
    color: '#CC79A7',
    server: async () => (await import('../servers/long-poll.ts')).longPoll,
    baseline: async () => (await import('../servers/baseline/poll.ts')).baselineLongPoll,
    clients: {
      library: async () => (await import('../load/clients/long-poll.ts')).LongPollClient,
      lean: async () => (await import('../load/clients/lean/polls.ts')).LeanLongPollClient,
      browser: 'long-poll',
    },
    upstream: 'post',
    model: longPollModel,
    freshness: longPollFreshness,
  },
  sse: {
    label: 'SSE',
    path: '/sse',
    kind: 'push',
    resume: 'header',
    color: '#0072B2',
    server: async () => (await import('../servers/sse.ts')).sse,
    baseline: async () => (await import('../servers/baseline/sse.ts')).baselineSse,
    clients: {
      library: async () => (await import('../load/clients/sse.ts')).SseClient,
      lean: async () => (await import('../load/clients/lean/sse.ts')).LeanSseClient,
      browser: 'sse',
    },
    upstream: 'post',
    model: sseModel,
    freshness: sseFreshness,
  },
  websocket: {
    label: 'WebSocket',
    path: '/ws',
    kind: 'push',
    resume: 'message',
    color: '#009E73',
    server: async () => (await import('../servers/websocket.ts')).websocket,
    baseline: async () => (await import('../servers/baseline/websocket.ts')).baselineWebsocket,
    clients: {
      library: async () => (await import('../load/clients/websocket.ts')).WebSocketClient,
      lean: async () => (await import('../load/clients/lean/websocket.ts')).LeanWebSocketClient,
      browser: 'websocket',
    },
    upstream: 'connection',
    model: websocketModel,
    freshness: websocketFreshness,
  },
  // Socket.IO (servers/socketio.ts): stream and resume point in the handshake's auth, so `message`; one
  // server plugin for both rows, Engine.IO's transport picked by the name; no baseline, no browser client
  'socketio-ws': {
    label: 'Socket.IO (WebSocket)',
    path: '/socket.io/',
    kind: 'push',
    resume: 'message',
    color: '#D55E00',
    optIn: true,
    server: async () => (await import('../servers/socketio.ts')).socketio,
    clients: {
      library: async () => (await import('../load/clients/socketio.ts')).SocketIoWsClient,
      lean: async () => (await import('../load/clients/lean/socketio-ws.ts')).LeanSocketIoWsClient,
    },
    upstream: 'connection',
    chatUpstream: socketIoWsChatUpstream,
    model: socketIoWsModel,
    freshness: websocketFreshness,
  },
  'socketio-poll': {
    label: 'Socket.IO (long polling)',
    path: '/socket.io-poll/',
    kind: 'push',
    resume: 'message',
    color: '#56B4E9',
    optIn: true,
    server: async () => (await import('../servers/socketio.ts')).socketio,
    clients: {
      library: async () => (await import('../load/clients/socketio.ts')).SocketIoPollClient,
      lean: async () => (await import('../load/clients/lean/socketio-poll.ts')).LeanSocketIoPollClient,
    },
    upstream: 'connection',
    chatUpstream: socketIoPollChatUpstream,
    model: socketIoPollModel,
    freshness: longPollFreshness,
  },
} as const satisfies Record<string, BuiltinEntry>

/**
 * The HTTP/2 rows (servers/app.ts createApp `h2`): the HTTP/1.1 rows' own routes on a node:http2 server, each
 * row in its twin's colour with a dashed line; opt-in, a profile names them. No baseline, no browser client (the page's clients speak HTTP/1.1
 * to the suite's cleartext server: a browser speaks h2 only over TLS).
 */
const HTTP2 = {
  'short-poll-h2': {
    label: 'short polling over HTTP/2',
    path: '/h2/poll',
    kind: 'poll',
    resume: 'query',
    color: '#E69F00',
    dash: [6, 3],
    protocol: 'h2',
    optIn: true,
    server: async () => (await import('../servers/short-poll.ts')).shortPoll,
    clients: {
      library: async () => (await import('../load/clients/h2.ts')).H2ShortPollClient,
      lean: async () => (await import('../load/clients/lean/h2.ts')).LeanH2ShortPollClient,
    },
    upstream: 'connection',
    model: shortPollH2Model,
    freshness: shortPollFreshness,
  },
  'long-poll-h2': {
    label: 'long polling over HTTP/2',
    path: '/h2/long-poll',
    kind: 'push',
    resume: 'query',
    color: '#CC79A7',
    dash: [6, 3],
    protocol: 'h2',
    optIn: true,
    server: async () => (await import('../servers/long-poll.ts')).longPoll,
    clients: {
      library: async () => (await import('../load/clients/h2.ts')).H2LongPollClient,
      lean: async () => (await import('../load/clients/lean/h2.ts')).LeanH2LongPollClient,
    },
    upstream: 'connection',
    model: longPollH2Model,
    freshness: longPollFreshness,
  },
  'sse-h2': {
    label: 'SSE over HTTP/2',
    path: '/h2/sse',
    kind: 'push',
    resume: 'header',
    color: '#0072B2',
    dash: [6, 3],
    protocol: 'h2',
    optIn: true,
    server: async () => (await import('../servers/sse.ts')).sse,
    clients: {
      library: async () => (await import('../load/clients/h2.ts')).H2SseClient,
      lean: async () => (await import('../load/clients/lean/h2.ts')).LeanH2SseClient,
    },
    upstream: 'connection',
    model: sseH2Model,
    freshness: sseFreshness,
  },
} as const satisfies Record<string, BuiltinEntry>

/** The four transports every scenario runs unless it names others: the built-in ones that are not opt-in. */
export type BuiltinTransport = {
  [K in keyof typeof BUILTIN]: (typeof BUILTIN)[K] extends { optIn: true } ? never : K
}[keyof typeof BUILTIN]

/** A registered transport's name: one of the built-in four, or one a plugin registered. */
export type Transport = string

/** The HTTP/2 rows the suite ships (opt-in). */
export type Http2Transport = keyof typeof HTTP2

const registry = new Map<string, RegisteredTransport>(
  [...Object.entries(BUILTIN), ...Object.entries(HTTP2)].map(([name, e]) => [name, registered(e)]),
)

/** Names in registration order: the built-in four first. */
export function transportNames(): string[] {
  return [...registry.keys()]
}

export function isTransport(name: unknown): name is Transport {
  return typeof name === 'string' && registry.has(name)
}

/** The entry of a registered transport; anything else is a bug in the caller (names are checked at the edge). */
export function transport(name: Transport): RegisteredTransport {
  const entry = registry.get(name)
  if (!entry) {
    throw new PbError(
      'PB_ERR_TRANSPORT',
      `no transport ${JSON.stringify(name)}; registered: ${transportNames().join(', ')}`,
    )
  }
  return entry
}

const NAME = /^[a-z][a-z0-9-]{0,31}$/

/**
 * Adds a transport (a plugin module calls this; see PUSHBENCH_PLUGINS in lib/plugins.ts). Its path must
 * be free: two transports never share one.
 */
export function registerTransport(name: string, entry: TransportEntry): void {
  if (!NAME.test(name))
    throw new PbError('PB_ERR_TRANSPORT', `transport name ${JSON.stringify(name)} must match ${NAME}`)
  if (registry.has(name)) throw new PbError('PB_ERR_TRANSPORT', `transport ${name} is registered already`)
  for (const [other, e] of registry) {
    if (e.path === entry.path)
      throw new PbError('PB_ERR_TRANSPORT', `${name}: path ${entry.path} is ${other}'s`)
  }
  const freshness = entry.freshness ?? (entry.kind === 'poll' ? shortPollFreshness : sseFreshness)
  registry.set(name, registered({ ...entry, freshness, upstream: entry.upstream ?? 'post' }))
}

/** Transports of one kind, in registry order (opt-in ones left out unless `all`). */
export function transportsOfKind(kind: TransportEntry['kind'], all = false): string[] {
  return transportNames().filter((n) => transport(n).kind === kind && (all || !transport(n).optIn))
}

/** What a scenario without a `transports` list runs: every registered transport that is not opt-in. */
export function defaultTransports(): string[] {
  return transportNames().filter((n) => !transport(n).optIn)
}
