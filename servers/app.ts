/** The one fastify setup every transport runs on: no logger, same keep-alive and timeouts. */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { PbOptionError } from '../lib/errors.ts'
import type { ChatInbox } from './chat-inbox.ts'
import type { SocketCounters, TransportStats } from './counters.ts'
import type { Feed } from './feed.ts'
import {
  connectionsCheckingInterval,
  HEADERS_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  MAX_HEADER_BYTES,
} from './http-settings.ts'
import type { ServerOptions } from './options.ts'

export interface TransportContext {
  /** the workload's messages, by stream */
  feed: Feed
  /** the URL path the transport serves (from the registry) */
  path: string
  options: Readonly<ServerOptions>
  stats: TransportStats
  sockets: SocketCounters
  /** the chat workload's upstream (servers/chat-inbox.ts); absent for a one-way workload */
  chat?: ChatInbox | undefined
}

/** A transport registers its routes and its shutdown (preClose) on the shared app. */
export type TransportPlugin = (app: FastifyInstance, ctx: TransportContext) => void

/**
 * The shared fastify app; with `tls` (key and certificate, servers/options.ts tlsServerOptions) it serves
 * https, and WebSocket upgrades on the same server are wss. Either way `app.server` emits 'connection'
 * with the raw TCP socket (what SocketCounters counts: under TLS, the TLS records as they go on the wire).
 * A request on a served path with a method it does not take gets 405 with `Allow`; `OPTIONS` there gets
 * 204 with `Allow` (servers/cors.ts answers it first on a transport's path).
 *
 * `protocol` h2 (the HTTP/2 rows, lib/transports.ts): a node:http2 server, cleartext h2c with prior
 * knowledge, or under `tls` h2 chosen by ALPN (HTTP/1.1 still taken there, `allowHTTP1`). Http2Server is a
 * net.Server and Http2SecureServer a tls.Server: 'connection' still carries every raw TCP socket. What
 * differs from h1: no header timer (node:http2 has none; an idle session is closed after the keep-alive
 * time instead, fastify's http2SessionTimeout), and the close sends every session a GOAWAY
 * (forceCloseConnections: fastify closes the sessions it tracks) rather than closing idle connections.
 */
export function createApp(
  tls?: { key: Buffer; cert: Buffer },
  headersTimeoutMs = HEADERS_TIMEOUT_MS,
  protocol: 'h1' | 'h2' = 'h1',
): FastifyInstance {
  // the node:http server's own limits (servers/http-settings.ts): under TLS they go with the key
  const http = {
    headersTimeout: headersTimeoutMs,
    connectionsCheckingInterval: connectionsCheckingInterval(headersTimeoutMs),
    maxHeaderSize: MAX_HEADER_BYTES,
  }
  const h2 = protocol === 'h2'
  const server = h2
    ? {
        http2: true,
        ...(tls ? { https: { ...tls, allowHTTP1: true } } : {}),
        http2SessionTimeout: KEEP_ALIVE_TIMEOUT_MS,
        forceCloseConnections: true,
      }
    : {
        ...(tls ? { https: { ...tls, ...http } } : { http }),
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        forceCloseConnections: 'idle',
      }
  // an https server is an http.Server to every route and hook: the typings only tell them apart by a generic
  // (and so is an http2 one: its requests and responses are node:http2's compatibility objects)
  const app = (Fastify as (o: object) => FastifyInstance)({
    ...server,
    logger: false,
    // held long polls and open streams must not be cut by a request timer (the header timer is above)
    connectionTimeout: 0,
    requestTimeout: 0,
    return503OnClosing: true,
  })
  // fastify copies its own options onto the server, not these (an http2 server has no header timer)
  if (!h2) app.server.headersTimeout = headersTimeoutMs
  const methods = new Map<string, Set<string>>()
  routeMethods.set(app, methods)
  app.addHook('onRoute', (r) => {
    const set = methods.get(r.url) ?? new Set<string>()
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) set.add(m)
    methods.set(r.url, set)
  })
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?', 1)[0] as string
    if (methods.has(path)) {
      const allow = allowHeader(app, path)
      if (req.method === 'OPTIONS') {
        reply.code(204).header('allow', allow).send()
        return
      }
      reply
        .code(405)
        .header('allow', allow)
        .send({
          error: 'Method Not Allowed',
          code: 'PB_ERR_METHOD',
          message: `${path} does not take ${req.method}; it takes ${allow}`,
        })
      return
    }
    reply
      .code(404)
      .send({ error: 'Not Found', code: 'PB_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url}` })
  })
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof PbResumeAheadError) {
      reply.code(400).header('pb-seq', err.newest).send({
        error: 'Bad Request',
        code: err.code,
        field: err.field,
        message: err.message,
        newest: err.newest,
      })
      return
    }
    if (err instanceof PbOptionError) {
      reply.code(400).send({ error: 'Bad Request', code: err.code, field: err.field, message: err.message })
      return
    }
    const status = (err as { statusCode?: number }).statusCode ?? 500
    reply.code(status).send({
      error: status >= 500 ? 'Internal Server Error' : 'Bad Request',
      message: (err as Error).message,
    })
  })
  return app
}

/** The methods each path of an app is routed for (its onRoute hook fills it). */
const routeMethods = new WeakMap<FastifyInstance, Map<string, Set<string>>>()
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

/** `Allow` for `path`: the methods routed there, and OPTIONS (always answered), in a fixed order. */
export function allowHeader(app: FastifyInstance, path: string): string {
  const set = new Set(routeMethods.get(app)?.get(path) ?? [])
  set.add('OPTIONS')
  const rank = (m: string): number => (METHOD_ORDER.includes(m) ? METHOD_ORDER.indexOf(m) : 99)
  return [...set].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).join(', ')
}

const SEQ = /^\d{1,15}$/

/** A resume point past the newest seq: the client follows another run of the stream (a restarted server). */
export class PbResumeAheadError extends PbOptionError {
  override readonly code = 'PB_ERR_RESUME_AHEAD'
  constructor(
    field: string,
    readonly since: number,
    /** the stream's newest seq */
    readonly newest: number,
  ) {
    super(
      field,
      `${since} is ahead of the newest seq, ${newest}: resume from at most ${newest}, or without ${field} to start from now`,
    )
  }
}

/**
 * Parses a resume point (`since`, `Last-Event-ID`): absent or empty means "from now" (the newest seq).
 * Anything else than a non-negative integer of at most 15 digits is a 400 naming the field, and so is
 * a seq past the newest (PbResumeAheadError, which also names the newest). The newest itself is fine:
 * nothing newer yet (a long poll holds, a stream waits for the next publish).
 */
export function parseSeq(field: string, raw: unknown, lastSeq: number): number {
  if (raw === undefined || raw === '') return lastSeq
  if (typeof raw !== 'string' || !SEQ.test(raw)) {
    const shown = typeof raw === 'string' && raw.length > 24 ? `${raw.slice(0, 24)}...` : raw
    throw new PbOptionError(field, `must be a non-negative integer seq, got ${JSON.stringify(shown)}`)
  }
  const seq = Number(raw)
  if (seq > lastSeq) throw new PbResumeAheadError(field, seq, lastSeq)
  return seq
}

/**
 * The gap a resume from `since` falls into: the server no longer holds `since + 1 .. first - 1` (the ring
 * buffer moved past them), `first` being the oldest seq it will send. Undefined when nothing is lost.
 */
export interface Gap {
  /** the seq resumed from */
  from: number
  /** the first seq still held, the first one sent */
  first: number
}

export function gapOf(since: number, first: number | undefined): Gap | undefined {
  return first !== undefined && first > since + 1 ? { from: since, first } : undefined
}

/** The polling transports' gap header: `pb-gap: from=N; first=M`. */
export function gapHeader(g: Gap): string {
  return `from=${g.from}; first=${g.first}`
}

/** The stream a request subscribes to: `?stream=N`, 0 when absent; outside 0..streams-1 is a 400. */
export function parseStream(raw: unknown, feed: Feed): number {
  if (raw === undefined) return 0
  const n = typeof raw === 'string' && SEQ.test(raw) ? Number(raw) : -1
  if (n < 0 || n >= feed.streams) {
    throw new PbOptionError(
      'stream',
      `must be an integer from 0 to ${feed.streams - 1}, got ${JSON.stringify(raw)}`,
    )
  }
  return n
}

/** 200 with a poll answer, and `pb-gap` when a gap comes before it. */
export function sendBatch(reply: FastifyReply, batch: { body: Buffer; gap: Gap | undefined }): void {
  if (batch.gap) reply.header('pb-gap', gapHeader(batch.gap))
  reply.header('content-type', 'application/json').send(batch.body)
}

/** 204 for "nothing newer": carries the newest seq so a client that started without `since` learns where to resume. */
export function sendNoContent(reply: FastifyReply, lastSeq: number): void {
  reply.code(204).header('pb-seq', lastSeq).send()
}
