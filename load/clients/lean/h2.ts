/**
 * Lean clients of the HTTP/2 rows: one raw connection per simulated client (load/lean/connect.ts: TCP, or TLS
 * offering `h2` by ALPN), HTTP/2 framed here and HPACK done by load/lean/hpack.ts, putting on the wire what
 * node:http2's client does (the same preface, SETTINGS and ACK, request header blocks byte for byte, the same
 * WINDOW_UPDATEs: a stream's and the session's once each has read 32 KiB, half of the 64 KiB windows), so
 * that the byte model and the library client's bytes hold for both kinds. Frames are parsed in place, the
 * clock read once per socket read, poll bodies and SSE events scanned as the HTTP/1.1 lean clients do.
 */
import { nowMs } from '../../../lib/clock.ts'
import { type LeanSocket, type LinkOptions, leanConnect } from '../../lean/connect.ts'
import { HpackDecoder, HpackEncoder } from '../../lean/hpack.ts'
import { SseEventSplitter, type SseHandlers } from '../../lean/sse-events.ts'
import { BaseClient, type ClientSockets, RECONNECT_DELAY_MS } from '../common.ts'
import { SEND_PATH } from '../h2.ts'
import { LongPollClient } from '../long-poll.ts'
import type { PollAnswer, PollConnection } from '../poll.ts'
import { ShortPollClient } from '../short-poll.ts'
import { portOf } from '../tls.ts'

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')
const DATA = 0
const HEADERS = 1
const RST_STREAM = 3
const SETTINGS = 4
const PING = 6
const GOAWAY = 7
const CONTINUATION = 9
const END_STREAM = 0x1
const ACK = 0x1
const END_HEADERS = 0x4
const PADDED = 0x8
const PRIORITY_FLAG = 0x20
/** nghttp2 sends a WINDOW_UPDATE once a window's unacknowledged bytes reach half of it (65,535 / 2) */
const WINDOW_UPDATE_AT = 32_767

/** What a stream's owner is told. */
export interface H2StreamHandlers {
  /** the answer's header block: `:status`, and the suite's `pb-seq` and `pb-gap` when present */
  onHeaders(status: number, pbSeq: number | undefined, gap: string | undefined): void
  /** a DATA frame's payload `buf[start, end)`, valid during the call only */
  onData(buf: Buffer, start: number, end: number): void
  /** the stream ended (END_STREAM); `err` when it was reset or the connection went away first */
  onEnd(err?: Error): void
}

function frameHeader(length: number, type: number, flags: number, stream: number): Buffer {
  const h = Buffer.allocUnsafe(9)
  h.writeUIntBE(length, 0, 3)
  h[3] = type
  h[4] = flags
  h.writeUInt32BE(stream, 5)
  return h
}

function windowUpdate(stream: number, increment: number): Buffer {
  const f = frameHeader(4, 8, 0, stream)
  return Buffer.concat([
    f,
    Buffer.from([(increment >>> 24) & 0x7f, increment >>> 16, increment >>> 8, increment]),
  ])
}

/** One HTTP/2 connection of a lean client. */
export class LeanH2Conn {
  private readonly socket: LeanSocket
  private readonly enc: HpackEncoder
  private readonly dec = new HpackDecoder()
  private readonly streams = new Map<number, H2StreamHandlers>()
  private readonly streamRecv = new Map<number, number>()
  private connRecv = 0
  private nextId = 1
  private pending: Buffer | undefined
  /** a header block split over CONTINUATION frames */
  private block: { stream: number; parts: Buffer[]; end: boolean } | undefined
  /** the receive instant of the read being parsed */
  readMs = 0
  /** no new stream goes on it (GOAWAY, an error, the socket closed) */
  closed = false

  constructor(base: URL, sockets: ClientSockets, link: LinkOptions, onConnect?: () => void) {
    const https = base.protocol === 'https:'
    const host = base.hostname.startsWith('[') ? base.hostname.slice(1, -1) : base.hostname
    const port = portOf(base)
    this.enc = new HpackEncoder(base.host || `${host}:${port}`, https)
    this.socket = leanConnect(
      host,
      port,
      (buf, end, atMs) => {
        this.readMs = atMs
        this.feed(end === buf.length ? buf : buf.subarray(0, end))
      },
      { ...link, sharedReads: false, ...(https ? { alpn: ['h2'] } : {}) },
    )
    sockets.track(this.socket)
    this.socket.on('connect', () => onConnect?.())
    this.socket.on('error', () => {}) // 'close' follows and ends every stream
    this.socket.on('close', () => this.fail(new Error('connection closed')))
    // the client preface and an empty SETTINGS, as node:http2's client sends them
    this.socket.write(Buffer.concat([PREFACE, frameHeader(0, SETTINGS, 0, 0)]))
  }

  /** Opens a stream: a request's header block (and a body, ending the stream with it). */
  request(
    method: 'GET' | 'POST',
    path: string,
    headers: readonly (readonly [string, string])[],
    handlers: H2StreamHandlers,
    body?: Buffer,
  ): void {
    const id = this.nextId
    this.nextId += 2
    this.streams.set(id, handlers)
    const block = this.enc.request(method, path, headers)
    const head = frameHeader(block.length, HEADERS, END_HEADERS | (body ? 0 : END_STREAM), id)
    if (body)
      this.socket.write(Buffer.concat([head, block, frameHeader(body.length, DATA, END_STREAM, id), body]))
    else this.socket.write(Buffer.concat([head, block]))
  }

  close(): void {
    this.closed = true
    this.socket.destroy()
  }

  private fail(err: Error): void {
    this.closed = true
    const all = [...this.streams.values()]
    this.streams.clear()
    for (const h of all) h.onEnd(err)
  }

  private feed(read: Buffer): void {
    let buf = read
    if (this.pending) {
      buf = Buffer.concat([this.pending, read])
      this.pending = undefined
    }
    let at = 0
    try {
      while (buf.length - at >= 9) {
        const len = buf.readUIntBE(at, 3)
        if (buf.length - at < 9 + len) break
        this.frame(
          buf,
          at + 9,
          at + 9 + len,
          buf[at + 3] as number,
          buf[at + 4] as number,
          buf.readUInt32BE(at + 5) & 0x7fffffff,
        )
        at += 9 + len
      }
    } catch (err) {
      this.fail(err as Error)
      this.socket.destroy()
      return
    }
    // a frame split across reads: kept (copied) until the rest comes
    if (at < buf.length) this.pending = Buffer.from(buf.subarray(at))
  }

  private frame(buf: Buffer, start: number, end: number, type: number, flags: number, id: number): void {
    switch (type) {
      case DATA: {
        const h = this.streams.get(id)
        const len = end - start
        let s = start
        let e = end
        if (flags & PADDED) {
          const pad = buf[s] as number
          s++
          e -= pad
        }
        h?.onData(buf, s, e)
        // flow control: both windows count the whole payload, padding included
        this.connRecv += len
        const updates: Buffer[] = []
        if (!(flags & END_STREAM)) {
          const r = (this.streamRecv.get(id) ?? 0) + len
          if (r >= WINDOW_UPDATE_AT) {
            updates.push(windowUpdate(id, r))
            this.streamRecv.set(id, 0)
          } else this.streamRecv.set(id, r)
        }
        if (this.connRecv >= WINDOW_UPDATE_AT) {
          updates.push(windowUpdate(0, this.connRecv))
          this.connRecv = 0
        }
        if (updates.length > 0)
          this.socket.write(updates.length === 1 ? (updates[0] as Buffer) : Buffer.concat(updates))
        if (flags & END_STREAM) this.end(id)
        return
      }
      case HEADERS: {
        let s = start
        let e = end
        if (flags & PADDED) {
          e -= buf[s] as number
          s++
        }
        if (flags & PRIORITY_FLAG) s += 5
        const part = Buffer.from(buf.subarray(s, e))
        if (flags & END_HEADERS) this.headers(id, part, (flags & END_STREAM) !== 0)
        else this.block = { stream: id, parts: [part], end: (flags & END_STREAM) !== 0 }
        return
      }
      case CONTINUATION: {
        const b = this.block
        if (b === undefined || b.stream !== id) throw new Error('HTTP/2: CONTINUATION out of place')
        b.parts.push(Buffer.from(buf.subarray(start, end)))
        if (flags & END_HEADERS) {
          this.block = undefined
          this.headers(id, Buffer.concat(b.parts), b.end)
        }
        return
      }
      case RST_STREAM: {
        const h = this.streams.get(id)
        this.streams.delete(id)
        this.streamRecv.delete(id)
        h?.onEnd(new Error(`stream reset (code ${buf.readUInt32BE(start)})`))
        return
      }
      case SETTINGS:
        if (!(flags & ACK)) this.socket.write(frameHeader(0, SETTINGS, ACK, 0))
        return
      case PING:
        if (!(flags & ACK))
          this.socket.write(Buffer.concat([frameHeader(8, PING, ACK, 0), buf.subarray(start, end)]))
        return
      case GOAWAY:
        // no new stream here; those open finish, then the server closes the connection
        this.closed = true
        return
      default:
        // WINDOW_UPDATE (nothing here sends enough to wait on one), PRIORITY, unknown types: ignored
        return
    }
  }

  private headers(id: number, block: Buffer, endStream: boolean): void {
    let status = 0
    let pbSeq: number | undefined
    let gap: string | undefined
    // decoded even for a stream nobody holds any more: the table must follow every block
    this.dec.decode(block, 0, block.length, (name, value) => {
      if (name === ':status') status = Number(value)
      else if (name === 'pb-seq') pbSeq = Number(value)
      else if (name === 'pb-gap') gap = value
    })
    this.streams.get(id)?.onHeaders(status, pbSeq, gap)
    if (endStream) this.end(id)
  }

  private end(id: number): void {
    const h = this.streams.get(id)
    this.streams.delete(id)
    this.streamRecv.delete(id)
    h?.onEnd()
  }
}

/** POSTs `/send` (chat) on a lean connection; `done()` on the 204. */
function sendOn(conn: LeanH2Conn, body: Buffer, done: (err?: Error) => void): void {
  let status = 0
  conn.request(
    'POST',
    SEND_PATH,
    [['content-type', 'application/json']],
    {
      onHeaders: (s) => {
        status = s
      },
      onData: () => {},
      onEnd: (err) =>
        done(err ?? (status === 204 ? undefined : new Error(`POST ${SEND_PATH}: HTTP ${status}`))),
    },
    body,
  )
}

/** A lean poll connection over HTTP/2: each GET a stream; a new connection when the old one is gone. */
export class LeanH2Get implements PollConnection {
  private conn: LeanH2Conn | undefined
  private stopped = false

  constructor(
    private readonly base: URL,
    private readonly sockets: ClientSockets,
    private readonly link: LinkOptions,
    private readonly onConnect?: () => void,
  ) {}

  connection(): LeanH2Conn {
    if (this.stopped) throw new Error('connection closed by the client')
    if (this.conn === undefined || this.conn.closed)
      this.conn = new LeanH2Conn(this.base, this.sockets, this.link, this.onConnect)
    return this.conn
  }

  get(path: string): Promise<PollAnswer> {
    return new Promise((resolve, reject) => {
      let conn: LeanH2Conn
      try {
        conn = this.connection()
      } catch (err) {
        return reject(err)
      }
      let status = 0
      let pbSeq: number | undefined
      let gap: string | undefined
      const chunks: Buffer[] = []
      conn.request('GET', path, [], {
        onHeaders: (s, seq, g) => {
          status = s
          pbSeq = seq
          gap = g
        },
        // a view of the read: the read is a Buffer of its own (sharedReads false), never written over
        onData: (buf, start, end) => chunks.push(buf.subarray(start, end)),
        onEnd: (err) => {
          if (err) return reject(err)
          const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
          resolve({ status, body, pbSeq, gap, receivedMs: conn.readMs })
        },
      })
    })
  }

  send(body: Buffer, done: (err?: Error) => void): void {
    try {
      sendOn(this.connection(), body, done)
    } catch (err) {
      done(err as Error)
    }
  }

  close(): void {
    this.stopped = true
    this.conn?.close()
  }
}

export class LeanH2ShortPollClient extends ShortPollClient {
  protected override connect(onConnect: () => void): PollConnection {
    return new LeanH2Get(this.ctx.base, this.ctx.sockets, this.link(false), onConnect)
  }
  protected override account(body: Buffer, receivedMs: number): void {
    this.accountScanned(body, receivedMs)
  }
  send(body: Buffer, done: (err?: Error) => void): void {
    const c = this.conn as LeanH2Get | undefined
    if (c === undefined) done(new Error('not started'))
    else c.send(body, done)
  }
}

export class LeanH2LongPollClient extends LongPollClient {
  protected override connect(onConnect: () => void): PollConnection {
    return new LeanH2Get(this.ctx.base, this.ctx.sockets, this.link(false), onConnect)
  }
  protected override account(body: Buffer, receivedMs: number): void {
    this.accountScanned(body, receivedMs)
  }
  send(body: Buffer, done: (err?: Error) => void): void {
    const c = this.conn as LeanH2Get | undefined
    if (c === undefined) done(new Error('not started'))
    else c.send(body, done)
  }
}

/**
 * Lean SSE over HTTP/2: the GET stream's DATA payloads split into events by load/lean/sse-events.ts, seq and ts
 * scanned; resumes with Last-Event-ID on a new stream (a new connection when the old one is gone).
 */
export class LeanH2SseClient extends BaseClient implements SseHandlers {
  private readonly get: LeanH2Get
  private readonly events = new SseEventSplitter(this)
  private conn: LeanH2Conn | undefined
  private onOpen: (() => void) | undefined
  private onFail: ((e: Error) => void) | undefined
  /** which of its GET streams is the current one (an old one ending does not reconnect) */
  private opened = 0

  constructor(...args: ConstructorParameters<typeof BaseClient>) {
    super(...args)
    this.get = new LeanH2Get(this.ctx.base, this.ctx.sockets, this.link(false))
  }

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
    const resumed = this.delivery.maxSeq > 0
    const headers: [string, string][] = [['accept', 'text/event-stream']]
    if (resumed) headers.push(['last-event-id', String(this.delivery.maxSeq)])
    this.events.reset()
    const mine = ++this.opened
    let conn: LeanH2Conn
    try {
      conn = this.get.connection()
    } catch (err) {
      this.failed(err as Error)
      return
    }
    this.conn = conn
    conn.request('GET', this.target(), headers, {
      onHeaders: (status, pbSeq) => {
        if (status === 200) {
          this.onOpen?.()
          this.onOpen = undefined
          this.onFail = undefined
          return
        }
        // Last-Event-ID past the server's newest seq (it restarted): its seqs are another run, start afresh
        if (status === 400 && resumed && pbSeq !== undefined) this.delivery.onResumeRefused()
        this.failed(new Error(`HTTP ${status}`))
      },
      onData: (buf, start, end) => this.events.feed(buf, start, end),
      onEnd: (err) => {
        if (err) this.failed(err)
        if (mine === this.opened) this.reconnect()
      },
    })
  }

  private failed(err: Error): void {
    this.error(err)
    this.onFail?.(err)
    this.onFail = undefined
  }

  onEvent(data: Buffer, start: number, end: number): void {
    const type = this.events.eventType
    if (type === '') this.onUpdateBytes(data, start, end, this.conn?.readMs ?? nowMs())
    else if (type === 'gap') this.onGapJson(data.toString('latin1', start, end))
  }

  private reconnect(): void {
    if (this.stopped) return
    this.opened++
    this.counters.reconnects++
    setTimeout(() => this.open(), RECONNECT_DELAY_MS)
  }

  send(body: Buffer, done: (err?: Error) => void): void {
    this.get.send(body, done)
  }

  stop(): void {
    this.stopped = true
    this.get.close()
  }
}
