/**
 * Lean SSE client: a raw socket, the response head and chunk framing parsed by
 * load/lean/http-response.ts (streaming), events split by load/lean/sse-events.ts, seq and ts scanned
 * from each event's data. One clock read per socket read. Resumes with `Last-Event-ID`; an `event: gap` is
 * accounted as lost seqs, a 400 to a resume (past the server's newest seq) starts afresh.
 */
import { type LeanSocket, leanConnect } from '../../lean/connect.ts'
import { HttpResponseParser, type HttpStreamHandlers } from '../../lean/http-response.ts'
import { SseEventSplitter, type SseHandlers } from '../../lean/sse-events.ts'
import { BaseClient, RECONNECT_DELAY_MS } from '../common.ts'

export class LeanSseClient extends BaseClient implements HttpStreamHandlers, SseHandlers {
  private socket: LeanSocket | undefined
  private readonly http = new HttpResponseParser(this)
  private readonly events = new SseEventSplitter(this)
  private readMs = 0
  private onOpen: (() => void) | undefined
  private onFail: ((e: Error) => void) | undefined
  /** this connection sent Last-Event-ID */
  private resumed = false

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.onOpen = resolve
      this.onFail = reject
      this.open()
    })
  }

  private open(): void {
    if (this.stopped) return
    this.counters.requests++
    const { hostname, port } = this.ctx.base
    this.resumed = this.delivery.maxSeq > 0
    const resume = this.resumed ? `Last-Event-ID: ${this.delivery.maxSeq}\r\n` : ''
    this.http.reset()
    this.events.reset()
    const s = leanConnect(
      hostname,
      Number(port),
      (buf, end, atMs) => {
        this.readMs = atMs
        this.http.feed(buf, 0, end)
      },
      this.link(),
    )
    this.socket = s
    this.ctx.sockets.track(s)
    s.write(
      `GET ${this.target()} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/event-stream\r\n${resume}Connection: keep-alive\r\n\r\n`,
    )
    s.on('error', (err) => {
      this.error(err)
      this.onFail?.(err)
      this.onFail = undefined
    })
    s.on('close', () => this.reconnect(s))
  }

  onHead(status: number): void {
    if (status === 200) {
      this.onOpen?.()
      this.onOpen = undefined
      this.onFail = undefined
      return
    }
    const err = new Error(`HTTP ${status}`)
    // Last-Event-ID past the server's newest seq (it restarted): its seqs are another run, start afresh
    if (status === 400 && this.resumed && this.http.pbSeq !== undefined) this.delivery.onResumeRefused()
    this.error(err)
    this.onFail?.(err)
    this.onFail = undefined
    this.socket?.destroy()
  }

  onData(buf: Buffer, start: number, end: number): void {
    this.events.feed(buf, start, end)
  }

  onEvent(data: Buffer, start: number, end: number): void {
    const type = this.events.eventType
    if (type === '') this.onUpdateBytes(data, start, end, this.readMs)
    else if (type === 'gap') this.onGapJson(data.toString('latin1', start, end))
  }

  onEnd(): void {
    this.socket?.end()
  }

  onError(err: Error): void {
    this.error(err)
    this.socket?.destroy()
  }

  private reconnect(s: LeanSocket): void {
    if (this.stopped || this.socket !== s) return
    this.socket = undefined
    this.counters.reconnects++
    setTimeout(() => this.open(), RECONNECT_DELAY_MS)
  }

  stop(): void {
    this.stopped = true
    this.socket?.destroy()
  }
}
