/** The one fastify setup every transport runs on: no logger, same keep-alive and timeouts. */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { PbOptionError } from '../lib/errors.ts'
import type { SocketCounters, TransportStats } from './counters.ts'
import type { ServerOptions } from './options.ts'
import type { Ticker } from './ticker.ts'

export interface TransportContext {
  ticker: Ticker
  options: Readonly<ServerOptions>
  stats: TransportStats
  sockets: SocketCounters
}

/** A transport registers its routes and its shutdown (preClose) on the shared app. */
export type TransportPlugin = (app: FastifyInstance, ctx: TransportContext) => void

export const KEEP_ALIVE_TIMEOUT_MS = 72_000

export function createApp(): FastifyInstance {
  const app = Fastify({
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

/** 204 for "nothing newer": carries the newest seq so a client that started without `since` learns where to resume. */
export function sendNoContent(reply: FastifyReply, lastSeq: number): void {
  reply.code(204).header('pb-seq', lastSeq).send()
}
