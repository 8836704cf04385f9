/**
 * Baseline polling: one bare fastify route each (no plugins, logger off). `GET <path>?since=` answers
 * at once for short polling; long polling's route holds until the next tick (or a 204 after the timeout). Answers are
 * the stored update buffers joined (frames.ts pollBody), built once per tick for each distinct `since`.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import type { PbOptionError } from '../../lib/errors.ts'
import { parseSeq } from '../app.ts'
import { pollBody } from '../frames.ts'
import { tlsServerOptions } from '../options.ts'
import type { Ticker } from '../ticker.ts'
import type { BaselineContext, BaselineFactory, BaselineTransport } from './common.ts'

type Query = { Querystring: { since?: string } }

/** Every update newer than `since` as a JSON array, or undefined; cached until the next tick. */
function bodies(ticker: Ticker): (since: number) => Buffer | undefined {
  const cache = new Map<number, Buffer>()
  ticker.onPublish(() => cache.clear())
  return (since) => {
    if (since >= ticker.lastSeq) return undefined
    let body = cache.get(since)
    if (body === undefined) {
      const updates = ticker.since(0, since)
      if (updates.length === 0) return undefined
      body = pollBody(updates.map((u) => u.json))
      // a bound, so odd `since` values cannot grow it within one tick
      if (cache.size >= 4096) cache.clear()
      cache.set(since, body)
    }
    return body
  }
}

/** `since` or undefined after answering 400 the way the suite's server does. */
function sinceOrReject(
  ctx: BaselineContext,
  raw: string | undefined,
  reply: FastifyReply,
): number | undefined {
  try {
    return parseSeq('since', raw, ctx.ticker.lastSeq)
  } catch (err) {
    ctx.stats.errors++
    const e = err as PbOptionError
    reply.code(400).send({ error: 'Bad Request', code: e.code, field: e.field, message: e.message })
    return undefined
  }
}

function noContent(reply: FastifyReply, lastSeq: number): void {
  // pb-seq: where a client that started without `since` resumes (same as the suite's server)
  reply.code(204).header('pb-seq', lastSeq).send()
}

function fastifyTransport(app: FastifyInstance, ctx: BaselineContext): BaselineTransport {
  return {
    httpServer: app.server,
    listen: async () => {
      await app.listen({ host: ctx.options.host, port: ctx.options.port, backlog: ctx.options.backlog })
    },
    close: () => app.close(),
  }
}

/** Bare fastify, logger off; https with the options' key and certificate (TLS runs). */
function baselineFastify(ctx: BaselineContext, opts: object): FastifyInstance {
  const tls = tlsServerOptions(ctx.options)
  // an https server is an http.Server to the routes: the typings only tell them apart by a generic
  return (Fastify as (o: object) => FastifyInstance)({
    ...(tls ? { https: tls } : {}),
    logger: false,
    ...opts,
  })
}

export const baselineShortPoll: BaselineFactory = (ctx) => {
  const get = bodies(ctx.ticker)
  const app = baselineFastify(ctx, {})
  app.get<Query>(ctx.path, (req, reply) => {
    ctx.stats.requests++
    const since = sinceOrReject(ctx, req.query.since, reply)
    if (since === undefined) return
    const body = get(since)
    if (body === undefined) return noContent(reply, ctx.ticker.lastSeq)
    reply.header('content-type', 'application/json').send(body)
  })
  return fastifyTransport(app, ctx)
}

export const baselineLongPoll: BaselineFactory = (ctx) => {
  const { ticker, stats, options } = ctx
  const get = bodies(ticker)
  const held = new Map<FastifyReply, { since: number; timer: NodeJS.Timeout }>()
  const release = (reply: FastifyReply): boolean => {
    const h = held.get(reply)
    if (h === undefined) return false
    held.delete(reply)
    clearTimeout(h.timer)
    stats.heldRequests--
    return true
  }

  ticker.onPublish(() => {
    for (const [reply, h] of held) {
      const body = get(h.since)
      if (body === undefined) continue
      release(reply)
      reply.header('content-type', 'application/json').send(body)
    }
  })

  const app = baselineFastify(ctx, { connectionTimeout: 0, requestTimeout: 0 })
  app.get<Query>(ctx.path, (req, reply) => {
    stats.requests++
    const since = sinceOrReject(ctx, req.query.since, reply)
    if (since === undefined) return
    const body = get(since)
    if (body !== undefined) {
      reply.header('content-type', 'application/json').send(body)
      return
    }
    const timer = setTimeout(() => {
      if (release(reply)) noContent(reply, ticker.lastSeq)
    }, options.longPollTimeoutMs)
    held.set(reply, { since, timer })
    stats.heldRequests++
    if (stats.heldRequests > stats.heldRequestsMax) stats.heldRequestsMax = stats.heldRequests
    // answered, or the client went away first: not held any more
    reply.raw.once('close', () => release(reply))
  })
  app.addHook('preClose', (done) => {
    for (const reply of [...held.keys()]) {
      release(reply)
      reply.header('connection', 'close')
      noContent(reply, ticker.lastSeq)
    }
    done()
  })
  return fastifyTransport(app, ctx)
}
