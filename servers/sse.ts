/**
 * Server-Sent Events: `GET /sse` (resume with `Last-Event-ID`, or `?lastEventId=` where a header
 * cannot be set), `text/event-stream`, one `id:`/`data:` event per update, comment heartbeats.
 */
import type { ServerResponse } from 'node:http'
import { parseSeq, type TransportPlugin } from './app.ts'
import { SSE_HEARTBEAT, sseEvent } from './frames.ts'
import { type PushSink, PushWriter } from './push-writer.ts'
import type { Update } from './ticker.ts'

class SseSink implements PushSink {
  constructor(readonly res: ServerResponse) {}
  write(buf: Buffer): void {
    this.res.write(buf)
  }
  get buffered(): number {
    return this.res.writableLength
  }
  get open(): boolean {
    return !this.res.destroyed && !this.res.writableEnded
  }
  destroy(): void {
    this.res.destroy()
  }
}

const frame = (u: Update): Buffer => {
  if (u.framed === undefined) u.framed = sseEvent(u.seq, u.json)
  return u.framed
}

export const sse: TransportPlugin = (app, { ticker, stats, options }) => {
  const writer = new PushWriter<SseSink>(options.writePolicy, options.maxBufferedBytes, stats, frame)
  ticker.onTick((updates) => writer.publish(updates))

  const heartbeat = setInterval(() => {
    for (const s of writer.sinks) writer.deliver(s, SSE_HEARTBEAT)
  }, options.heartbeatMs)
  heartbeat.unref()

  app.get<{ Querystring: { lastEventId?: string } }>('/sse', (req, reply) => {
    stats.requests++
    const header = req.headers['last-event-id']
    const resume = header !== undefined ? (Array.isArray(header) ? header[0] : header) : req.query.lastEventId
    const field = header !== undefined ? 'Last-Event-ID' : 'lastEventId'
    const since = parseSeq(field, resume, ticker.lastSeq)
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
    res.flushHeaders()
    const sink = new SseSink(res)
    stats.streams++
    res.once('close', () => {
      stats.streams--
      writer.sinks.delete(sink)
    })
    writer.backlog(sink, ticker.since(since))
    if (sink.open) writer.sinks.add(sink)
  })

  app.addHook('preClose', (done) => {
    clearInterval(heartbeat)
    for (const s of writer.sinks) s.res.end()
    writer.sinks.clear()
    done()
  })
}
