/**
 * SSE client: a streaming parser (eventsource-parser) on one long response; resumes with Last-Event-ID.
 * An `event: gap` is accounted as lost seqs; a 400 to a resume (past the server's newest seq) starts afresh.
 */
import http from 'node:http'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { nowMs } from '../../lib/clock.ts'
import { BaseClient, RECONNECT_DELAY_MS } from './common.ts'
import { isTls, portOf, tlsConnect } from './tls.ts'

export class SseClient extends BaseClient {
  private req: http.ClientRequest | undefined
  /** receive instant of the chunk being parsed: every event in one chunk arrived together */
  private chunkMs = 0
  private readonly parser = createParser({
    onEvent: (e: EventSourceMessage) => {
      if (e.event === undefined) this.onJson(e.data, this.chunkMs)
      else if (e.event === 'gap') this.onGapJson(e.data)
    },
  })

  start(): Promise<void> {
    return new Promise((resolve, reject) => this.open(resolve, reject))
  }

  private open(onOpen?: () => void, onFail?: (e: Error) => void): void {
    if (this.stopped) return
    this.counters.requests++
    const headers: Record<string, string> = { accept: 'text/event-stream' }
    const resumed = this.delivery.maxSeq > 0
    if (resumed) headers['last-event-id'] = String(this.delivery.maxSeq)
    this.parser.reset()
    const { base, ca, sockets } = this.ctx
    const secure = isTls(base)
    const req = http.get({
      host: base.hostname,
      port: portOf(base),
      path: this.target(),
      headers,
      // https: node:http over a TLS socket made here, on a TCP socket that the tally counts (./tls.ts)
      ...(secure
        ? { createConnection: () => tlsConnect(base.hostname, portOf(base), ca, sockets) }
        : { agent: false }),
    })
    this.req = req
    if (!secure) req.once('socket', (s) => sockets.track(s))
    req.once('response', (res) => {
      if (res.statusCode !== 200) {
        const err = new Error(`HTTP ${res.statusCode}`)
        this.error(err)
        onFail?.(err)
        res.resume()
        // Last-Event-ID past the server's newest seq (it restarted): its seqs are another run, start afresh
        if (res.statusCode === 400 && resumed && res.headers['pb-seq'] !== undefined) {
          this.delivery.onResumeRefused()
          res.once('end', () => this.reconnect())
        }
        return
      }
      onOpen?.()
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        this.chunkMs = nowMs()
        this.parser.feed(chunk)
      })
      res.once('end', () => this.reconnect())
      res.once('error', () => {})
    })
    req.once('error', (err) => {
      this.error(err)
      onFail?.(err)
      this.reconnect()
    })
  }

  private reconnect(): void {
    if (this.stopped) return
    this.req?.destroy()
    this.req = undefined
    this.counters.reconnects++
    setTimeout(() => this.open(), RECONNECT_DELAY_MS)
  }

  stop(): void {
    this.stopped = true
    this.req?.destroy()
  }
}
