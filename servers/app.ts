/** The one fastify setup every transport runs on: no logger, same keep-alive and timeouts. */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { PbOptionError } from '../lib/errors.ts'
import type { SocketCounters, TransportStats } from './counters.ts'
import type { Feed } from './feed.ts'
import { KEEP_ALIVE_TIMEOUT_MS } from './http-settings.ts'
import type { ServerOptions } from './options.ts'

export interface TransportContext {
  /** the workload's messages, by stream */
  feed: Feed
  /** the URL path the transport serves (from the registry) */
  path: string
  options: Readonly<ServerOptions>
  stats: TransportStats
  sockets: SocketCounters
}

/** A transport registers its routes and its shutdown (preClose) on the shared app. */
export type TransportPlugin = (app: FastifyInstance, ctx: TransportContext) => void

/**
 * The shared fastify app; with `tls` (key and certificate, servers/options.ts tlsServerOptions) it serves
 * https, and WebSocket upgrades on the same server are wss. Either way `app.server` emits 'connection'
 * with the raw TCP socket (what SocketCounters counts: under TLS, the TLS records as they go on the wire).
 */
export function createApp(tls?: { key: Buffer; cert: Buffer }): FastifyInstance {
  // an https server is an http.Server to every route and hook: the typings only tell them apart by a generic
  const app = (Fastify as (o: object) => FastifyInstance)({
    ...(tls ? { https: tls } : {}),
    logger: false,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // held long polls and open streams must not be cut by a request timer
    connectionTimeout: 0,
    requestTimeout: 0,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  })
  app.setNotFoundHandler((req, reply) => {
    reply
      .code(404)
      .send({ error: 'Not Found', code: 'PB_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url}` })
  })
  app.setErrorHandler((err, _req, reply) => {
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

const SEQ = /^\d{1,15}$/

/**
 * Parses a resume point (`since`, `Last-Event-ID`): absent means "from now" (the newest seq).
 * Anything else than a non-negative integer is a 400 naming the field.
 */
export function parseSeq(field: string, raw: unknown, lastSeq: number): number {
  if (raw === undefined || raw === '') return lastSeq
  if (typeof raw !== 'string' || !SEQ.test(raw)) {
    throw new PbOptionError(field, `must be a non-negative integer seq, got ${JSON.stringify(raw)}`)
  }
  return Number(raw)
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

/** 204 for "nothing newer": carries the newest seq so a client that started without `since` learns where to resume. */
export function sendNoContent(reply: FastifyReply, lastSeq: number): void {
  reply.code(204).header('pb-seq', lastSeq).send()
}
