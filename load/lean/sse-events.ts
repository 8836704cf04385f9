/**
 * Incremental Server-Sent Events splitter over bytes (the chunk payloads the HTTP parser hands on), per the
 * WHATWG event-stream format: lines end in CRLF, LF or CR; fields `id`, `data`, `event`, `retry`; `:` starts
 * a comment; a blank line dispatches the event. A leading byte-order mark is not stripped.
 */
import { EMPTY, ensure } from './grow-buffer.ts'

const LF = 0x0a
const CR = 0x0d
const SP = 0x20
const COLON = 0x3a

const DATA = Buffer.from('data', 'latin1')
const ID = Buffer.from('id', 'latin1')
const EVENT = Buffer.from('event', 'latin1')
const RETRY = Buffer.from('retry', 'latin1')

export interface SseHandlers {
  /**
   * An event with data, `data[start, end)` (data lines joined with LF), valid only during the call: a view
   * of the read when the event has one data line wholly inside it, else of a buffer reused for the next
   * event. The splitter's `lastId` is the last event ID (per spec it persists across events).
   */
  onEvent(data: Buffer, start: number, end: number): void
}

function fieldIs(b: Buffer, s: number, n: number, name: Buffer): boolean {
  if (n !== name.length) return false
  for (let k = 0; k < n; k++) if (b[s + k] !== name[k]) return false
  return true
}

/** Splits one event stream; `reset()` before reusing it for another connection. */
export class SseEventSplitter {
  /** Comment lines seen (heartbeats). */
  comments = 0
  /** The last event ID; undefined until one is sent. Kept as bytes and decoded only when asked for. */
  get lastId(): string | undefined {
    if (this.idLen < 0) return undefined
    this.idText ??= this.id.toString('utf8', 0, this.idLen)
    return this.idText
  }
  /** `event:` of the event being dispatched: valid during onEvent; '' for the default, `message`. */
  eventType = ''
  /** The latest valid `retry:`: ms. */
  retry: number | undefined = undefined

  private readonly h: SseHandlers
  // the last event ID's bytes (-1: none yet), and its text once asked for
  private id: Buffer = EMPTY
  private idLen = -1
  private idText: string | undefined = undefined
  // a line split across reads
  private line: Buffer = EMPTY
  private lineLen = 0
  // the last read ended in CR: a LF opening the next belongs to that line end
  private skipLf = false
  // the event's data: a view into the current read while it is one line of it, else copied into `data`
  private hasData = false
  private view: Buffer | undefined = undefined
  private viewStart = 0
  private viewEnd = 0
  private data: Buffer = EMPTY
  private dataLen = 0
  // bumped by reset(), so that a feed() interrupted by a callback calling reset() stops
  private epoch = 0

  constructor(handlers: SseHandlers) {
    this.h = handlers
  }

  /** Splits `buf[start, end)`, the next bytes of the stream. */
  feed(buf: Buffer, start = 0, end = buf.length): void {
    const epoch = this.epoch
    let i = start
    if (this.skipLf && i < end) {
      this.skipLf = false
      if (buf[i] === LF) i++
    }
    // the next CR and LF at or after i (`end`: none in this read), each searched again only once passed
    let cr = -1
    let lf = -1
    while (i < end && this.epoch === epoch) {
      if (cr < i) {
        cr = buf.indexOf(CR, i)
        if (cr < 0 || cr > end) cr = end
      }
      if (lf < i) {
        lf = buf.indexOf(LF, i)
        if (lf < 0 || lf > end) lf = end
      }
      const le = Math.min(cr, lf)
      if (le === end) {
        this.carry(buf, i, end)
        break
      }
      if (this.lineLen > 0) {
        this.carry(buf, i, le)
        const n = this.lineLen
        this.lineLen = 0
        this.field(this.line, 0, n)
      } else this.field(buf, i, le)
      i = le + 1
      if (le === cr) {
        if (i < end) {
          if (buf[i] === LF) i++
        } else this.skipLf = true
      }
    }
    // the read may be reused once we return: data waiting for the blank line is copied
    if (this.view !== undefined && this.epoch === epoch) this.keepView()
  }

  /** Ready for a new connection; `lastId` is kept, as a reconnecting client sends it back. */
  reset(): void {
    this.epoch++
    this.lineLen = 0
    this.skipLf = false
    this.hasData = false
    this.view = undefined
    this.dataLen = 0
    this.eventType = ''
  }

  private carry(buf: Buffer, s: number, e: number): void {
    this.line = ensure(this.line, this.lineLen, this.lineLen + e - s)
    buf.copy(this.line, this.lineLen, s, e)
    this.lineLen += e - s
  }

  /** One line, `b[s, e)` without its end. */
  private field(b: Buffer, s: number, e: number): void {
    if (s === e) {
      this.dispatch()
      return
    }
    if (b[s] === COLON) {
      this.comments++
      return
    }
    let colon = s
    while (colon < e && b[colon] !== COLON) colon++
    let vs = colon < e ? colon + 1 : e
    if (vs < e && b[vs] === SP) vs++
    const n = colon - s
    if (fieldIs(b, s, n, DATA)) this.addData(b, vs, e)
    else if (fieldIs(b, s, n, ID)) {
      // an id with a NUL is ignored
      let k = vs
      while (k < e && b[k] !== 0) k++
      if (k === e) {
        this.id = ensure(this.id, 0, e - vs)
        b.copy(this.id, 0, vs, e)
        this.idLen = e - vs
        this.idText = undefined
      }
    } else if (fieldIs(b, s, n, EVENT)) this.eventType = b.toString('utf8', vs, e)
    else if (fieldIs(b, s, n, RETRY)) {
      let v = 0
      for (let k = vs; k < e && v >= 0; k++) {
        const d = (b[k] as number) - 0x30
        v = d >= 0 && d <= 9 ? v * 10 + d : -1
      }
      if (vs < e && v >= 0) this.retry = v
    }
  }

  private addData(b: Buffer, s: number, e: number): void {
    if (!this.hasData) {
      this.hasData = true
      // the carry buffer is reused for the next line: only a line of the read itself is kept as a view
      if (b !== this.line) {
        this.view = b
        this.viewStart = s
        this.viewEnd = e
        return
      }
      this.dataLen = 0
    } else {
      if (this.view !== undefined) this.keepView()
      this.data = ensure(this.data, this.dataLen, this.dataLen + 1)
      this.data[this.dataLen++] = LF
    }
    this.append(b, s, e)
  }

  private keepView(): void {
    const v = this.view as Buffer
    this.view = undefined
    this.dataLen = 0
    this.append(v, this.viewStart, this.viewEnd)
  }

  private append(b: Buffer, s: number, e: number): void {
    this.data = ensure(this.data, this.dataLen, this.dataLen + e - s)
    b.copy(this.data, this.dataLen, s, e)
    this.dataLen += e - s
  }

  private dispatch(): void {
    if (this.hasData) {
      this.hasData = false
      if (this.view !== undefined) {
        const v = this.view
        this.view = undefined
        this.h.onEvent(v, this.viewStart, this.viewEnd)
      } else {
        const n = this.dataLen
        this.dataLen = 0
        this.h.onEvent(this.data, 0, n)
      }
    }
    this.eventType = ''
  }
}
