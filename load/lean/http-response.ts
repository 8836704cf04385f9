/**
 * Incremental HTTP/1.1 response parser for one keep-alive client connection: feed it each read as it comes
 * (split anywhere, several responses in one read); responses come out in order. It keeps only the headers a
 * load client needs: Content-Length, Transfer-Encoding (chunked), `pb-seq` and `pb-gap`. It does not know the request
 * method, so an answer to HEAD (which the clients never send) would be misread.
 */
import { EMPTY, ensure } from './grow-buffer.ts'

const HTAB = 0x09
const LF = 0x0a
const CR = 0x0d
const SP = 0x20
const COMMA = 0x2c
const COLON = 0x3a
const SEMICOLON = 0x3b

/** Longest header section (status line, headers, blank line), and longest chunk-size line or trailer section: bytes. */
export const MAX_HEAD_BYTES = 64 * 1024
// a chunk size above 1 TiB is an error, not a body to wait for
const MAX_CHUNK = 2 ** 40

const HTTP1 = Buffer.from('HTTP/1.', 'latin1')
const CONTENT_LENGTH = Buffer.from('content-length', 'latin1')
const TRANSFER_ENCODING = Buffer.from('transfer-encoding', 'latin1')
const PB_SEQ = Buffer.from('pb-seq', 'latin1')
const PB_GAP = Buffer.from('pb-gap', 'latin1')
const CHUNKED = Buffer.from('chunked', 'latin1')
// hex digit value by byte, -1 when not one
const HEX = new Int8Array(256).fill(-1)
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c
  HEX[0x61 + c] = 10 + c
}

// parser states
const HEAD = 0
const LENGTH = 1 // Content-Length body
const UNTIL_CLOSE = 2 // no length: the body runs to the end of the connection
const SIZE = 3 // hex digits of a chunk size
const SIZE_REST = 4 // after the digits: extensions up to LF
const DATA = 5
const DATA_CR = 6
const DATA_LF = 7
const TRAILER = 8 // at the start of a trailer line (or of the blank line ending the body)
const TRAILER_LINE = 9
const TRAILER_LF = 10
const DEAD = 11

/** Whole-body mode (polls). */
export interface HttpBodyHandlers {
  /** `body` is valid only during the call: a view of the read, or of a buffer reused for the next response. */
  onResponse(status: number, body: Buffer, pbSeq: number | undefined): void
  onError(err: Error): void
}

/** Streaming mode (an endless chunked response: SSE). */
export interface HttpStreamHandlers {
  onHead(status: number): void
  /** A piece of body as it arrives, chunk framing removed; `buf[start, end)` is valid only during the call. */
  onData(buf: Buffer, start: number, end: number): void
  /** The response ended (last chunk, or Content-Length reached); the next may follow on the connection. */
  onEnd(): void
  onError(err: Error): void
}

/** Case-insensitive match of a header name (`want` is lower-case) at `b[s]`. */
function nameIs(b: Buffer, s: number, want: Buffer): boolean {
  for (let k = 0; k < want.length; k++) if (((b[s + k] as number) | 0x20) !== want[k]) return false
  return true
}

/** A decimal header value, or -1. */
function decimal(b: Buffer, s: number, e: number): number {
  if (s === e || e - s > 15) return -1
  let v = 0
  for (let i = s; i < e; i++) {
    const d = (b[i] as number) - 0x30
    if (d < 0 || d > 9) return -1
    v = v * 10 + d
  }
  return v
}

/** Parses the responses of one connection; `reset()` before reusing it for another connection. */
export class HttpResponseParser {
  /** Of the latest response: set from its status line on, valid in the callbacks. */
  status = 0
  /** -1 when absent. */
  contentLength = -1
  chunked = false
  pbSeq: number | undefined = undefined
  /** `pb-gap`'s value as sent (a resume older than the ring buffer: servers/app.ts), undefined when absent */
  gap: string | undefined = undefined

  private readonly bodyH: HttpBodyHandlers | undefined
  private readonly streamH: HttpStreamHandlers | undefined
  private state = HEAD
  private sawStatus = false
  private hasTe = false
  // bytes of the header section so far, then of the chunk-size line or trailers
  private headBytes = 0
  // body bytes (LENGTH) or chunk bytes (DATA) still to come; the chunk size while reading it (SIZE)
  private remaining = 0
  private digits = 0
  // a head line split across reads
  private line: Buffer = EMPTY
  private lineLen = 0
  // whole-body mode: the body so far; a view into the current read while that is its only piece
  private view: Buffer | undefined = undefined
  private viewStart = 0
  private viewEnd = 0
  private acc: Buffer = EMPTY
  private accLen = 0
  // bumped by reset(), so that a feed() interrupted by a callback calling reset() stops
  private epoch = 0

  constructor(handlers: HttpBodyHandlers | HttpStreamHandlers) {
    if ('onData' in handlers) this.streamH = handlers
    else this.bodyH = handlers
  }

  /** Parses `buf[start, end)`, the next bytes read from the connection. */
  feed(buf: Buffer, start = 0, end = buf.length): void {
    const epoch = this.epoch
    let i = start
    while (i < end && this.epoch === epoch) {
      switch (this.state) {
        case HEAD:
          i = this.headLines(buf, i, end)
          break
        case LENGTH: {
          const n = Math.min(this.remaining, end - i)
          this.piece(buf, i, i + n)
          i += n
          this.remaining -= n
          if (this.remaining === 0) this.complete()
          break
        }
        case UNTIL_CLOSE:
          this.piece(buf, i, end)
          i = end
          break
        case SIZE: {
          const c = buf[i] as number
          const v = HEX[c] as number
          if (v >= 0) {
            this.remaining = this.remaining * 16 + v
            this.digits++
            if (this.remaining > MAX_CHUNK) {
              this.fail('chunk size too large')
              return
            }
            i++
          } else if (this.digits === 0) {
            this.fail('bad chunk size')
            return
          } else if (c === LF) {
            i++
            this.sizeDone()
          } else if (c === SEMICOLON || c === CR || c === SP || c === HTAB) {
            this.state = SIZE_REST
          } else {
            this.fail('bad chunk size')
            return
          }
          break
        }
        case SIZE_REST:
        case TRAILER_LINE: {
          // chunk extensions and trailers are skipped, not read
          let nl = buf.indexOf(LF, i)
          if (nl < 0 || nl >= end) nl = end
          this.headBytes += nl - i
          if (this.headBytes > MAX_HEAD_BYTES) {
            this.fail('chunk-size line or trailers over 64 KiB')
            return
          }
          i = nl
          if (nl < end) {
            i++
            if (this.state === SIZE_REST) this.sizeDone()
            else this.state = TRAILER
          }
          break
        }
        case DATA: {
          const n = Math.min(this.remaining, end - i)
          this.piece(buf, i, i + n)
          i += n
          this.remaining -= n
          if (this.remaining === 0) this.state = DATA_CR
          break
        }
        case DATA_CR:
          if (buf[i] === CR) this.state = DATA_LF
          else if (buf[i] === LF) this.startSize()
          else {
            this.fail('chunk data not followed by CRLF')
            return
          }
          i++
          break
        case DATA_LF:
          if (buf[i] !== LF) {
            this.fail('chunk data not followed by CRLF')
            return
          }
          this.startSize()
          i++
          break
        case TRAILER:
          if (buf[i] === CR) {
            this.state = TRAILER_LF
            i++
          } else if (buf[i] === LF) {
            i++
            this.complete()
          } else this.state = TRAILER_LINE
          break
        case TRAILER_LF:
          if (buf[i] !== LF) {
            this.fail('bad end of chunked body')
            return
          }
          i++
          this.complete()
          break
        default:
          return
      }
    }
    // the read may be reused once we return: a body piece still waiting for the rest is copied
    if (this.view !== undefined && this.epoch === epoch) this.keepView()
  }

  /** The connection ended: completes a body that runs to the close; an error if a response was cut short. */
  finish(): void {
    if (this.state === UNTIL_CLOSE) this.complete()
    else if (this.state !== DEAD && (this.state !== HEAD || this.sawStatus || this.lineLen > 0)) {
      this.fail('connection closed mid-response')
    }
  }

  /** Ready for a new connection (keeps the buffers it grew). */
  reset(): void {
    this.epoch++
    this.state = HEAD
    this.sawStatus = false
    this.headBytes = 0
    this.lineLen = 0
    this.view = undefined
    this.accLen = 0
  }

  private fail(message: string): void {
    this.state = DEAD
    this.view = undefined
    ;(this.streamH ?? (this.bodyH as HttpBodyHandlers)).onError(new Error(message))
  }

  /** The lines of the header section; returns where it stopped. */
  private headLines(buf: Buffer, i: number, end: number): number {
    while (i < end) {
      let nl = buf.indexOf(LF, i)
      if (nl >= end) nl = -1
      this.headBytes += (nl < 0 ? end : nl + 1) - i
      if (this.headBytes > MAX_HEAD_BYTES) {
        this.fail('header section over 64 KiB')
        return end
      }
      if (nl < 0) {
        this.carry(buf, i, end)
        return end
      }
      let lb = buf
      let s = i
      let e = nl
      if (this.lineLen > 0) {
        this.carry(buf, i, nl)
        lb = this.line
        s = 0
        e = this.lineLen
        this.lineLen = 0
      }
      if (e > s && lb[e - 1] === CR) e--
      i = nl + 1
      if (!this.sawStatus) {
        if (!this.statusLine(lb, s, e)) return end
      } else if (e === s) {
        // back to feed(), which sees a reset() made by a callback
        this.endOfHead()
        return i
      } else if (!this.headerLine(lb, s, e)) {
        return end
      }
    }
    return i
  }

  private carry(buf: Buffer, s: number, e: number): void {
    this.line = ensure(this.line, this.lineLen, this.lineLen + e - s)
    buf.copy(this.line, this.lineLen, s, e)
    this.lineLen += e - s
  }

  /** `HTTP/1.x SSS[ reason]`. */
  private statusLine(b: Buffer, s: number, e: number): boolean {
    let ok = e - s >= 12 && b[s + 8] === SP && (e - s === 12 || b[s + 12] === SP)
    for (let k = 0; ok && k < HTTP1.length; k++) ok = b[s + k] === HTTP1[k]
    const d0 = (b[s + 9] as number) - 0x30
    const d1 = (b[s + 10] as number) - 0x30
    const d2 = (b[s + 11] as number) - 0x30
    if (!ok || d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) {
      this.fail('malformed status line')
      return false
    }
    this.status = d0 * 100 + d1 * 10 + d2
    this.contentLength = -1
    this.chunked = false
    this.hasTe = false
    this.pbSeq = undefined
    this.gap = undefined
    this.sawStatus = true
    return true
  }

  private headerLine(b: Buffer, s: number, e: number): boolean {
    // an obsolete folded continuation line: ignored
    if (b[s] === SP || b[s] === HTAB) return true
    let colon = s
    while (colon < e && b[colon] !== COLON) colon++
    if (colon === e || colon === s) {
      this.fail('malformed header line')
      return false
    }
    let vs = colon + 1
    while (vs < e && (b[vs] === SP || b[vs] === HTAB)) vs++
    let ve = e
    while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HTAB)) ve--
    const n = colon - s
    if (n === CONTENT_LENGTH.length && nameIs(b, s, CONTENT_LENGTH)) {
      this.contentLength = decimal(b, vs, ve)
      if (this.contentLength < 0) {
        this.fail('bad content-length')
        return false
      }
    } else if (n === TRANSFER_ENCODING.length && nameIs(b, s, TRANSFER_ENCODING)) {
      // chunked only as the last coding; another last coding means the body runs to the close
      this.hasTe = true
      const t = ve - CHUNKED.length
      this.chunked =
        t >= vs &&
        nameIs(b, t, CHUNKED) &&
        (t === vs || b[t - 1] === COMMA || b[t - 1] === SP || b[t - 1] === HTAB)
    } else if (n === PB_SEQ.length && nameIs(b, s, PB_SEQ)) {
      const v = decimal(b, vs, ve)
      this.pbSeq = v < 0 ? undefined : v
    } else if (n === PB_GAP.length && nameIs(b, s, PB_GAP)) {
      // rare (a resume past the ring buffer): read as text
      this.gap = b.toString('latin1', vs, ve)
    }
    return true
  }

  private endOfHead(): void {
    this.sawStatus = false
    this.headBytes = 0
    const st = this.status
    // 1xx: an interim answer; the real one follows
    if (st < 200) return
    const epoch = this.epoch
    if (st === 204 || st === 304 || (!this.hasTe && this.contentLength === 0)) {
      this.streamH?.onHead(st)
      if (this.epoch === epoch) this.complete()
      return
    }
    if (this.chunked) this.startSize()
    else if (!this.hasTe && this.contentLength > 0) {
      this.state = LENGTH
      this.remaining = this.contentLength
    } else this.state = UNTIL_CLOSE
    this.streamH?.onHead(st)
  }

  private startSize(): void {
    this.state = SIZE
    this.remaining = 0
    this.digits = 0
    this.headBytes = 0
  }

  private sizeDone(): void {
    this.headBytes = 0
    this.state = this.remaining === 0 ? TRAILER : DATA
  }

  /** A piece of body: to the stream, or kept for the whole body. */
  private piece(buf: Buffer, s: number, e: number): void {
    if (s === e) return
    if (this.streamH !== undefined) {
      this.streamH.onData(buf, s, e)
      return
    }
    if (this.view === undefined && this.accLen === 0) {
      this.view = buf
      this.viewStart = s
      this.viewEnd = e
      return
    }
    if (this.view !== undefined) this.keepView()
    this.append(buf, s, e)
  }

  private keepView(): void {
    const v = this.view as Buffer
    this.view = undefined
    // room for the whole body at once when its length is known
    if (this.state === LENGTH) this.acc = ensure(this.acc, 0, this.viewEnd - this.viewStart + this.remaining)
    this.append(v, this.viewStart, this.viewEnd)
  }

  private append(buf: Buffer, s: number, e: number): void {
    this.acc = ensure(this.acc, this.accLen, this.accLen + e - s)
    buf.copy(this.acc, this.accLen, s, e)
    this.accLen += e - s
  }

  private complete(): void {
    this.state = HEAD
    if (this.streamH !== undefined) {
      this.streamH.onEnd()
      return
    }
    let body = EMPTY
    if (this.view !== undefined) body = this.view.subarray(this.viewStart, this.viewEnd)
    else if (this.accLen > 0) body = this.acc.subarray(0, this.accLen)
    this.view = undefined
    this.accLen = 0
    ;(this.bodyH as HttpBodyHandlers).onResponse(this.status, body, this.pbSeq)
  }
}
