/**
 * Server-Sent Events: `GET <path>` (resume with `Last-Event-ID`, or `?lastEventId=` where a header
 * cannot be set), `text/event-stream`: a `retry:` field first (the browser's reconnect delay), then one
 * `id:`/`data:` event per update, and comment heartbeats. A resume older than the ring buffer gets an
 * `event: gap` (servers/frames.ts sseGapEvent) before the updates still held; one past the newest seq, a 400.
 */
import { gapOf, parseSeq, parseStream, type TransportPlugin } from './app.ts'
import type { Message } from './feed.ts'
import { SSE_HEARTBEAT, sseEvent, sseGapEvent, sseRetry } from './frames.ts'
import { PushWriter, ResponseSink } from './push-writer.ts'

const frame = (u: Message): Buffer => {
  if (u.framed === undefined) u.framed = sseEvent(u.seq, u.json)
  return u.framed
}

export const sse: TransportPlugin = (app, { feed, stats, options, path }) => {
  /** one writer per stream: a connection is on the stream it asked for */
  const writers = Array.from(
    { length: feed.streams },
    () => new PushWriter<ResponseSink>(options.writePolicy, options.maxBufferedBytes, stats, frame),
  )
  feed.onPublish((stream, messages) => writers[stream]?.publish(messages))

  const heartbeat = setInterval(() => {
    for (const w of writers) for (const s of w.sinks) w.deliver(s, SSE_HEARTBEAT)
  }, options.heartbeatMs)
  heartbeat.unref()
  const retry = options.sseRetryMs > 0 ? sseRetry(options.sseRetryMs) : undefined

  app.get<{ Querystring: { lastEventId?: string; stream?: string } }>(path, (req, reply) => {
    stats.requests++
    const stream = parseStream(req.query.stream, feed)
    const writer = writers[stream] as PushWriter<ResponseSink>
    const header = req.headers['last-event-id']
    const resume = header !== undefined ? (Array.isArray(header) ? header[0] : header) : req.query.lastEventId
    const field = header !== undefined ? 'Last-Event-ID' : 'lastEventId'
    const since = parseSeq(field, resume, feed.lastSeqOf(stream))
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
    // the head leaves with the retry field (one write), or alone
    if (retry) res.write(retry)
    else res.flushHeaders()
    const sink = new ResponseSink(res)
    stats.streams++
    res.once('close', () => {
      stats.streams--
      writer.sinks.delete(sink)
    })
    const backlog = feed.since(stream, since)
    const gap = gapOf(since, backlog[0]?.seq)
    if (gap) writer.deliver(sink, sseGapEvent(gap.from, gap.first))
    writer.backlog(sink, backlog)
    if (sink.open) writer.sinks.add(sink)
  })

  app.addHook('preClose', (done) => {
    clearInterval(heartbeat)
    for (const w of writers) {
      for (const s of w.sinks) s.res.end()
      w.sinks.clear()
    }
    done()
  })
}
