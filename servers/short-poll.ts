/** Short polling: `GET <path>?since=SEQ` answers at once, every update newer than SEQ or 204. */
import { parseSeq, parseStream, sendNoContent, type TransportPlugin } from './app.ts'
import { PollBatches } from './poll-batches.ts'

export const shortPoll: TransportPlugin = (app, { feed, stats, path }) => {
  const batches = new PollBatches(feed)
  app.get<{ Querystring: { since?: string; stream?: string } }>(path, (req, reply) => {
    stats.requests++
    const stream = parseStream(req.query.stream, feed)
    const body = batches.get(stream, parseSeq('since', req.query.since, feed.lastSeqOf(stream)))
    if (body === undefined) return sendNoContent(reply, feed.lastSeqOf(stream))
    reply.header('content-type', 'application/json').send(body)
  })
}
