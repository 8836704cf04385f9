/**
 * Short polling: `GET <path>?since=SEQ` answers at once, every update newer than SEQ or 204. A SEQ
 * older than the ring buffer gets what is held with `pb-gap: from=SEQ; first=M` (servers/app.ts).
 */
import { parseSeq, parseStream, sendBatch, sendNoContent, type TransportPlugin } from './app.ts'
import { PollBatches } from './poll-batches.ts'

export const shortPoll: TransportPlugin = (app, { feed, stats, path }) => {
  const batches = new PollBatches(feed)
  app.get<{ Querystring: { since?: string; stream?: string } }>(path, (req, reply) => {
    stats.requests++
    const stream = parseStream(req.query.stream, feed)
    const batch = batches.get(stream, parseSeq('since', req.query.since, feed.lastSeqOf(stream)))
    if (batch === undefined) return sendNoContent(reply, feed.lastSeqOf(stream))
    sendBatch(reply, batch)
  })
}
