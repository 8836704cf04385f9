/**
 * The fault probe's clients (load/fault-probe.ts): one per simulated client of one transport, each of which
 * reconnects when its connection drops, with its transport's usual back-off, and resumes from the newest
 * seq it holds with its transport's resume. Library-level, as an application would write them: node:http
 * (+ eventsource-parser for SSE) and ws. Each records every seq it is handed, so that missed and duplicated
 * are exact, and the instants its connection went down and came back.
 *
 * Back-off and resume, per transport:
 * - SSE: EventSource's rule: after a drop or a failed connect, wait the `retry:` the server sent (pushbench
 *   sends 1 s), else 3 s (what browsers use by default; the spec leaves it to them), no jitter; resume with
 *   `Last-Event-ID: <newest seq>`.
 * - WebSocket: reconnecting-websocket's and socket.io's rule: exponential back-off with full jitter, 0.5 s
 *   base, x2 per failed attempt, 5 s cap (a delay drawn uniformly from 0 to the bound), reset by an open;
 *   resume with the resume message `{"resume":<newest seq>}` sent on open.
 * - long polling: the next request at once after an answer; after an error the same back-off as WebSocket;
 *   resume with `?since=<newest seq>`.
 * - short polling: a poll every `pollIntervalMs` (random phase); after an error the next poll waits the
 *   larger of the interval and the WebSocket back-off; resume with `?since=<newest seq>`.
 *
 * "Up" is the first byte of an answer on a connection (SSE: the 200's head; WebSocket: the open; a poll:
 * an answer). The server's gap signal (README, resume contract: `event: gap`, a `{"type":"gap"}` message,
 * a `pb-gap` header) is counted with the seqs it declares lost, and a refused resume (a 400 with
 * `PB_ERR_RESUME_AHEAD`, a close 1008 after the resume message) makes the client start afresh. Any other
 * message without a numeric `seq` is counted as `other` and never as an update.
 */
import http from 'node:http'
import { createParser } from 'eventsource-parser'
import WebSocket from 'ws'
import { nowMs } from '../lib/clock.ts'
import { parseGapHeader } from './clients/poll.ts'

/** What a client records; the probe reads it at the end. */
export interface ClientRecord {
  /** the seq the client's account starts after: nothing at or before it is expected */
  startSeq: number | undefined
  /** every seq handed over, in arrival order (duplicates kept) */
  seqs: number[]
  /** per seq handed over: its publish instant and its receive instant, epoch ms */
  ts: number[]
  receivedMs: number[]
  /**
   * instants a connection came up (first byte; a poll: every answer), and instants a drop or a failed
   * attempt was noticed
   */
  ups: number[]
  downs: number[]
  /** instants of connection attempts that failed (refused, reset before an answer, an HTTP error) */
  failed: number[]
  /** the server's gap signals, and the seqs they declared lost (a resume older than its ring buffer) */
  gapSignals: number
  /** the ranges declared lost, each `[from, first]`: seqs from + 1 .. first - 1 */
  gaps: [number, number][]
  /** resumes the server refused (a seq past its newest) */
  resumeRefused: number
  /** messages with no numeric seq that are not a gap signal */
  other: number
  /** the first error messages */
  errors: string[]
}

export interface FaultClientOptions {
  transport: string
  /** http://host:port */
  base: URL
  /** the transport's path */
  path: string
  /** short polling's interval */
  pollIntervalMs: number
}

export interface FaultClient {
  readonly record: ClientRecord
  /** whether its connection is up now */
  readonly up: boolean
  /** resolves at the first up; rejects if the first attempt fails */
  start(): Promise<void>
  stop(): void
}

/** SSE's reconnect delay when the server sent no `retry:` (what browsers' EventSource uses). */
export const SSE_DEFAULT_RETRY_MS = 3000
/** WebSocket and the polls' error back-off: base, factor, cap (full jitter). */
export const BACKOFF = Object.freeze({ baseMs: 500, factor: 2, capMs: 5000 })

const MAX_ERRORS = 5

/** Full jitter: uniform in [0, min(cap, base * factor^attempt)). */
export function jitteredBackoffMs(attempt: number, rand: () => number = Math.random): number {
  return rand() * Math.min(BACKOFF.capMs, BACKOFF.baseMs * BACKOFF.factor ** attempt)
}

export function newRecord(): ClientRecord {
  return {
    startSeq: undefined,
    seqs: [],
    ts: [],
    receivedMs: [],
    ups: [],
    downs: [],
    failed: [],
    gapSignals: 0,
    gaps: [],
    resumeRefused: 0,
    other: 0,
    errors: [],
  }
}

abstract class Base implements FaultClient {
  readonly record = newRecord()
  up = false
  protected stopped = false
  /** newest seq held: what a resume asks from */
  protected newest = 0
  private first: { resolve: () => void; reject: (e: Error) => void } | undefined
  protected timer: NodeJS.Timeout | undefined

  constructor(protected readonly o: FaultClientOptions) {}

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.first = { resolve, reject }
      this.open()
    })
  }

  protected abstract open(): void

  protected wentUp(): void {
    this.up = true
    this.record.ups.push(nowMs())
    this.first?.resolve()
    this.first = undefined
  }

  /** A drop (of an up connection) or a failed attempt; `attemptFailed`: it never came up. */
  protected wentDown(err: Error | undefined, attemptFailed: boolean): void {
    if (this.stopped) return
    this.up = false
    const at = nowMs()
    this.record.downs.push(at)
    if (attemptFailed) this.record.failed.push(at)
    if (err && this.record.errors.length < MAX_ERRORS) this.record.errors.push(err.message)
    if (this.first && err) {
      this.first.reject(err)
      this.first = undefined
    }
  }

  protected later(ms: number, fn: () => void): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    this.timer = setTimeout(fn, ms)
  }

  /** The server's gap signal: `from + 1 .. first - 1` are lost, `first` is the next seq it sends. */
  protected onGap(from: number, first: number): void {
    this.record.gapSignals++
    if (first - from > 1) this.record.gaps.push([from, first])
    if (first - 1 > this.newest) this.newest = first - 1
  }

  /** The server refused the resume point: the next connection asks from nothing. */
  protected onResumeRefused(): void {
    this.record.resumeRefused++
    this.newest = 0
  }

  /** One parsed message: an update when it has a numeric seq, a gap signal when it says so. */
  protected onMessage(m: unknown, receivedMs: number): void {
    const u = m as { seq?: unknown; ts?: unknown; type?: unknown; from?: unknown; first?: unknown } | null
    if (u !== null && typeof u === 'object' && u.type === 'gap') {
      if (typeof u.from === 'number' && typeof u.first === 'number') this.onGap(u.from, u.first)
      else this.record.other++
      return
    }
    if (u === null || typeof u !== 'object' || typeof u.seq !== 'number') {
      this.record.other++
      return
    }
    const r = this.record
    if (r.startSeq === undefined) r.startSeq = u.seq - 1
    r.seqs.push(u.seq)
    r.ts.push(typeof u.ts === 'number' ? u.ts : receivedMs)
    r.receivedMs.push(receivedMs)
    if (u.seq > this.newest) this.newest = u.seq
  }

  protected parse(text: string, receivedMs: number): void {
    let m: unknown
    try {
      m = JSON.parse(text)
    } catch {
      this.record.other++
      return
    }
    if (Array.isArray(m)) for (const u of m) this.onMessage(u, receivedMs)
    else this.onMessage(m, receivedMs)
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
  }
}

class SseFaultClient extends Base {
  private req: http.ClientRequest | undefined
  private retryMs = SSE_DEFAULT_RETRY_MS
  private chunkMs = 0
  private readonly parser = createParser({
    onEvent: (e) => {
      // an update, or `gap`: the server's gap signal (its data says so); another named event is neither
      if (e.event === undefined || e.event === 'message' || e.event === 'gap')
        this.parse(e.data, this.chunkMs)
      else this.record.other++
    },
    onRetry: (ms) => {
      this.retryMs = ms
    },
  })

  protected open(): void {
    if (this.stopped) return
    const headers: Record<string, string> = { accept: 'text/event-stream' }
    if (this.newest > 0) headers['last-event-id'] = String(this.newest)
    this.parser.reset()
    let wasUp = false
    let done = false
    const down = (err?: Error): void => {
      if (done) return
      done = true
      req.destroy()
      this.wentDown(err, !wasUp)
      this.later(this.retryMs, () => this.open())
    }
    const req = http.get({
      host: this.o.base.hostname,
      port: this.o.base.port,
      path: this.o.path,
      headers,
      agent: false,
    })
    this.req = req
    req.once('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        // a Last-Event-ID past the server's newest: the next connection sends none
        if (res.statusCode === 400 && headers['last-event-id'] !== undefined) this.onResumeRefused()
        down(new Error(`HTTP ${res.statusCode}`))
        return
      }
      wasUp = true
      this.wentUp()
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        this.chunkMs = nowMs()
        this.parser.feed(chunk)
      })
      res.once('end', () => down())
      res.once('close', () => down())
      res.once('error', (err) => down(err))
    })
    req.once('error', (err) => down(err))
  }

  override stop(): void {
    super.stop()
    this.req?.destroy()
  }
}

class WebSocketFaultClient extends Base {
  private ws: WebSocket | undefined
  private attempt = 0

  protected open(): void {
    if (this.stopped) return
    const url = new URL(this.o.path, this.o.base)
    url.protocol = 'ws:'
    const ws = new WebSocket(url, { perMessageDeflate: false })
    this.ws = ws
    let wasUp = false
    let done = false
    let resumed = false
    const down = (err?: Error): void => {
      if (done) return
      done = true
      ws.terminate()
      this.wentDown(err, !wasUp)
      const delay = jitteredBackoffMs(this.attempt)
      this.attempt++
      this.later(delay, () => this.open())
    }
    ws.once('open', () => {
      wasUp = true
      this.attempt = 0
      this.wentUp()
      // the resume message: what this client has not had since its newest seq
      if (this.newest > 0) {
        ws.send(JSON.stringify({ resume: this.newest }))
        resumed = true
      }
    })
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.record.other++
      else this.parse(data.toString('latin1'), nowMs())
    })
    ws.once('error', (err) => down(err))
    ws.once('close', (code) => {
      // 1008 after the resume message: a seq past the server's newest, or one it could not read
      if (code === 1008 && resumed) this.onResumeRefused()
      down(code === 1000 || code === 1001 ? undefined : new Error(`close ${code}`))
    })
  }

  override stop(): void {
    super.stop()
    const ws = this.ws
    if (!ws) return
    if (ws.readyState === WebSocket.OPEN) ws.close(1000)
    else ws.terminate()
    setTimeout(() => ws.terminate(), 1000).unref()
  }
}

/** Both polls: `GET <path>?since=<newest>` on a keep-alive connection of the client's own. */
class PollFaultClient extends Base {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  private req: http.ClientRequest | undefined
  private attempt = 0
  /** short polling: the schedule's next instant */
  private nextAt = 0
  /** the account starts where the first answer says the stream is */
  private since: number | undefined

  constructor(
    o: FaultClientOptions,
    private readonly long: boolean,
  ) {
    super(o)
  }

  protected open(): void {
    this.nextAt = nowMs() + (this.long ? 0 : Math.random() * this.o.pollIntervalMs)
    this.ask()
  }

  private ask(): void {
    if (this.stopped) return
    const path = this.since === undefined ? this.o.path : `${this.o.path}?since=${this.since}`
    let done = false
    const req = http.get({
      host: this.o.base.hostname,
      port: this.o.base.port,
      path,
      agent: this.agent,
    })
    this.req = req
    const fail = (err: Error): void => {
      if (done) return
      done = true
      req.destroy()
      this.wentDown(err, true)
      const delay = Math.max(this.long ? 0 : this.o.pollIntervalMs, jitteredBackoffMs(this.attempt))
      this.attempt++
      this.nextAt = nowMs() + delay
      this.later(delay, () => this.ask())
    }
    req.once('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.once('error', (err) => fail(err))
      res.once('end', () => {
        if (done) return
        const receivedMs = nowMs()
        if (res.statusCode !== 200 && res.statusCode !== 204) {
          // a since past the server's newest: the next poll asks from nothing
          if (res.statusCode === 400 && this.since !== undefined && res.headers['pb-seq'] !== undefined) {
            this.onResumeRefused()
            this.since = undefined
          }
          fail(new Error(`HTTP ${res.statusCode}`))
          return
        }
        done = true
        this.attempt = 0
        // every answer is an up: a short poll whose idle connection was cut may never see an error
        this.wentUp()
        if (res.statusCode === 204) {
          const pbSeq = Number(res.headers['pb-seq'])
          if (this.since === undefined && Number.isInteger(pbSeq)) {
            this.since = pbSeq
            this.record.startSeq ??= pbSeq
          }
        } else {
          const gap = res.headers['pb-gap']
          const g = typeof gap === 'string' ? parseGapHeader(gap) : undefined
          if (g !== undefined) this.onGap(g.from, g.first)
          else if (gap !== undefined) this.record.other++
          this.parse(Buffer.concat(chunks).toString('latin1'), receivedMs)
          if (this.newest > (this.since ?? 0)) this.since = this.newest
        }
        if (this.long) this.ask()
        else {
          // the next poll on the schedule (a late answer: at once)
          do this.nextAt += this.o.pollIntervalMs
          while (this.nextAt < receivedMs - this.o.pollIntervalMs)
          this.later(Math.max(0, this.nextAt - nowMs()), () => this.ask())
        }
      })
    })
    req.once('error', (err) => fail(err))
  }

  /** a poll client's start is the account's start: an update before any 204 sets it */
  protected override onMessage(m: unknown, receivedMs: number): void {
    if (this.record.startSeq === undefined && this.since !== undefined) this.record.startSeq = this.since
    super.onMessage(m, receivedMs)
  }

  override stop(): void {
    super.stop()
    this.req?.destroy()
    this.agent.destroy()
  }
}

/** The client of `transport` (one of the suite's four). */
export function faultClient(o: FaultClientOptions): FaultClient {
  switch (o.transport) {
    case 'sse':
      return new SseFaultClient(o)
    case 'websocket':
      return new WebSocketFaultClient(o)
    case 'long-poll':
      return new PollFaultClient(o, true)
    case 'short-poll':
      return new PollFaultClient(o, false)
    default:
      throw new Error(`the fault probe has no client for ${o.transport}`)
  }
}
