/**
 * Long polling: `GET <path>?since=SEQ` answers at once when newer updates exist, else holds the
 * request until the next publish (or 204 after longPollTimeoutMs). A client that goes away is released at once.
 * A SEQ older than the ring buffer gets what is held with `pb-gap` (servers/app.ts); one past the newest, a 400.
 */
import type { FastifyReply } from 'fastify'
import { parseSeq, parseStream, sendBatch, sendNoContent, type TransportPlugin } from './app.ts'
import { PollBatches } from './poll-batches.ts'

interface Held {
  reply: FastifyReply
  stream: number
  since: number
  timer: NodeJS.Timeout
}

export const longPoll: TransportPlugin = (app, { feed, stats, options, path }) => {
  const batches = new PollBatches(feed)
  /** held requests, per stream */
  const held = Array.from({ length: feed.streams }, () => new Set<Held>())

  const release = (h: Held): boolean => {
    if (!held[h.stream]?.delete(h)) return false
    clearTimeout(h.timer)
    stats.heldRequests--
    return true
  }

  feed.onPublish((stream) => {
    for (const h of held[stream] ?? []) {
      const batch = batches.get(stream, h.since)
      if (batch === undefined) continue
      release(h)
      sendBatch(h.reply, batch)
    }
  })

  app.get<{ Querystring: { since?: string; stream?: string } }>(path, (req, reply) => {
    stats.requests++
    const stream = parseStream(req.query.stream, feed)
    const since = parseSeq('since', req.query.since, feed.lastSeqOf(stream))
    const batch = batches.get(stream, since)
    if (batch !== undefined) {
      sendBatch(reply, batch)
      return
    }
    const h: Held = {
      reply,
      stream,
      since,
      timer: setTimeout(() => {
        if (release(h)) sendNoContent(reply, feed.lastSeqOf(stream))
      }, options.longPollTimeoutMs),
    }
    held[stream]?.add(h)
    stats.heldRequests++
    if (stats.heldRequests > stats.heldRequestsMax) stats.heldRequestsMax = stats.heldRequests
    // 'close' fires when the answer is done or when the client went away first: either way, not held any more
    reply.raw.once('close', () => release(h))
  })

  app.addHook('preClose', (done) => {
    for (const h of held.flatMap((set) => [...set])) {
      release(h)
      // HTTP/2 has no such header (node warns and drops it): the session's GOAWAY says it (servers/app.ts)
      if (h.reply.request.raw.httpVersionMajor === 1) h.reply.header('connection', 'close')
      sendNoContent(h.reply, feed.lastSeqOf(h.stream))
    }
    done()
  })
}
