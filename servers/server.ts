/** Starts one transport's server: the workload's source + shared fastify app + the transport's routes, on 127.0.0.1 by default. */
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { transport } from '../lib/transports.ts'
import { workload } from '../lib/workloads.ts'
import { createApp } from './app.ts'
import { isChatInbox } from './chat.ts'
import { chatSend } from './chat-send.ts'
import { cors } from './cors.ts'
import {
  type CounterSnapshot,
  newTransportStats,
  RssSampler,
  SocketCounters,
  snapshot,
  type TransportStats,
} from './counters.ts'
import { guardDescriptors } from './descriptors.ts'
import type { Source } from './feed.ts'
import { listenError } from './listen-error.ts'
import { resolveServerOptions, type ServerOptions, serverUrl, tlsServerOptions } from './options.ts'
import { servePage } from './page.ts'

/** Which implementation serves: the suite's own, or the bare baseline it is held against (servers/baseline/). */
export const SERVER_KINDS = ['pushbench', 'baseline'] as const
export type ServerKind = (typeof SERVER_KINDS)[number]

/** A listening server of either kind; what main.ts and the tests drive. */
export interface RunningServer {
  readonly kind: ServerKind
  /** the node:http server that listens (every socket, upgraded ones included, goes through it) */
  readonly httpServer: Server
  /** the workload's publisher: tick boundaries, rate steps and publish counts go through it */
  readonly source: Source
  readonly options: Readonly<ServerOptions>
  readonly stats: TransportStats
  readonly host: string
  readonly port: number
  /** http://host:port, or https://host:port when it serves TLS */
  readonly url: string
  counters(): CounterSnapshot
  /** restarts the RSS peak (at the start of a measured window) */
  markRss(): void
  /** stops counting the connection a control request came on (servers/counters.ts SocketCounters.exclude) */
  excludeSocket(socket: Socket): boolean
  /**
   * Cuts every open connection now (socket.destroy: no close frame, no last chunk, as a network fault or a
   * proxy restart would) and keeps serving; returns how many it cut. The IPC `drop-all` (reconnect storm).
   */
  dropAll(): number
  /** Stops publishing, closes every connection the proper way for its transport, stops listening. */
  close(): Promise<void>
}

/** The suite's server: a RunningServer with its fastify app. */
export interface PushbenchServer extends RunningServer {
  readonly app: FastifyInstance
}

/** `names` maps option keys to the names errors should use (e.g. CLI flags). */
export async function startServer(
  input: Partial<ServerOptions> & { transport: unknown },
  names: Partial<Record<keyof ServerOptions, string>> = {},
): Promise<PushbenchServer> {
  const options = resolveServerOptions(input, names)
  const entry = transport(options.transport)
  const plugin = await entry.server()
  const source = (await workload(options.workload).source())(options)
  const stats = newTransportStats()
  const sockets = new SocketCounters()
  const app = createApp(tlsServerOptions(options), options.headersTimeoutMs, entry.protocol ?? 'h1')
  sockets.attach(app.server)
  // the chat workload: its rooms take what clients send, on the transport's own connection (the
  // transport's plugin reads ctx.chat) and on POST /send, which every server of the chat has
  const chat = isChatInbox(source) ? source : undefined
  plugin(app, { feed: source, path: entry.path, options, stats, sockets, chat })
  if (chat) chatSend(app, chat, stats, options.payloadBytes)
  cors(app, entry.path, options.allowOrigin)
  servePage(app, options)
  await app.listen({ host: options.host, port: options.port, backlog: options.backlog }).catch((err) => {
    throw listenError(err, options, names)
  })
  const addr = app.server.address()
  const port = typeof addr === 'object' && addr ? addr.port : options.port
  const rss = new RssSampler(stats)
  // connections past what the open-files limit holds are turned away and counted, never fatal
  const fds = guardDescriptors(app.server, stats, { backlog: options.backlog })
  if (options.autoStart) source.start()
  let closing: Promise<void> | undefined
  return {
    kind: 'pushbench',
    httpServer: app.server,
    app,
    source,
    options,
    stats,
    host: options.host,
    port,
    url: serverUrl(options, port),
    counters: () => snapshot(sockets, rss, stats, source.lastSeqOf(0)),
    markRss: () => rss.mark(),
    excludeSocket: (socket) => sockets.exclude(socket),
    dropAll: () => dropSockets(sockets),
    close: () => {
      closing ??= (async () => {
        source.stop()
        rss.stop()
        fds.stop()
        await app.close()
        // whatever is left (a peer that never finished its close handshake) is cut
        for (const s of sockets.sockets()) s.destroy()
      })()
      return closing
    },
  }
}

/** Destroys every socket a server holds (the IPC's own channel is not one); returns how many. */
export function dropSockets(sockets: SocketCounters): number {
  const all = [...sockets.sockets()]
  for (const s of all) s.destroy()
  return all.length
}
