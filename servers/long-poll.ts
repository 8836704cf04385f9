/**
 * Long polling: `GET /long-poll?since=SEQ` answers at once when newer updates exist, else holds the
 * request until the next publish (or 204 after longPollTimeoutMs). A client that goes away is released at once.
 */
import type { FastifyReply } from 'fastify'
import { parseSeq, sendNoContent, type TransportPlugin } from './app.ts'
import { PollBatches } from './poll-batches.ts'

interface Held {
  reply: FastifyReply
  since: number
  timer: NodeJS.Timeout
}

export const longPoll: TransportPlugin = (app, { ticker, stats, options }) => {
  const batches = new PollBatches(ticker)
  const held = new Set<Held>()

  const release = (h: Held): boolean => {
    if (!held.delete(h)) return false
    clearTimeout(h.timer)
    stats.heldRequests--
    return true
  }

  ticker.onTick(() => {
    for (const h of held) {
      const body = batches.get(h.since)
      if (body === undefined) continue
      release(h)
      h.reply.header('content-type', 'application/json').send(body)
    }
  })

  app.get<{ Querystring: { since?: string } }>('/long-poll', (req, reply) => {
    stats.requests++
    const since = parseSeq('since', req.query.since, ticker.lastSeq)
    const body = batches.get(since)
    if (body !== undefined) {
      reply.header('content-type', 'application/json').send(body)
      return
    }
    const h: Held = {
      reply,
      since,
      timer: setTimeout(() => {
        if (release(h)) sendNoContent(reply, ticker.lastSeq)
      }, options.longPollTimeoutMs),
    }
    held.add(h)
    stats.heldRequests++
    if (stats.heldRequests > stats.heldRequestsMax) stats.heldRequestsMax = stats.heldRequests
    // 'close' fires when the answer is done or when the client went away first: either way, not held any more
    reply.raw.once('close', () => release(h))
  })

  app.addHook('preClose', (done) => {
    for (const h of held) {
      release(h)
      h.reply.header('connection', 'close')
      sendNoContent(h.reply, ticker.lastSeq)
    }
    done()
  })
}
