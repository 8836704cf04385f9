/** Short polling: `GET /poll?since=SEQ` answers at once, every update newer than SEQ or 204. */
import { parseSeq, sendNoContent, type TransportPlugin } from './app.ts'
import { PollBatches } from './poll-batches.ts'

export const shortPoll: TransportPlugin = (app, { ticker, stats }) => {
  const batches = new PollBatches(ticker)
  app.get<{ Querystring: { since?: string } }>('/poll', (req, reply) => {
    stats.requests++
    const body = batches.get(parseSeq('since', req.query.since, ticker.lastSeq))
    if (body === undefined) return sendNoContent(reply, ticker.lastSeq)
    reply.header('content-type', 'application/json').send(body)
  })
}
