/**
 * RFC 6455 for a client on a raw socket: an incremental parser of the server's frames, the client's masked
 * frames, and the opening handshake. No extension is offered, so no frame may set an RSV bit.
 */
import { createHash, randomBytes, randomFillSync } from 'node:crypto'
import { EMPTY, ensure } from './grow-buffer.ts'

/** Frame opcodes. */
export const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const

export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
/** Largest message the parser assembles by default (as the `ws` package): bytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 100 * 1024 * 1024
/** Longest upgrade response head: bytes. */
export const MAX_UPGRADE_HEAD_BYTES = 64 * 1024

export interface WsHandlers {
  /**
   * One whole data message in `buf[start, end)`, valid only during the call: a view of the read for an
   * unfragmented frame wholly inside it, else of a buffer reused for the next message. Text is not
   * checked to be UTF-8.
   */
  onMessage(buf: Buffer, start: number, end: number, isText: boolean): void
  /** `payload` is valid only during the call. */
  onPing(payload: Buffer): void
  onPong(payload: Buffer): void
  /** 1005 when the close frame has no code. The parser ignores what follows a close. */
  onClose(code: number, reason: string): void
  /** A protocol error; the parser ignores what follows. */
  onError(err: Error): void
}

const HEADER = 0
const PAYLOAD = 1
const DONE = 2

/** Frame header length (2, 4 or 10: server frames carry no mask key) from its second byte. */
function headerLength(b1: number): number {
  const len7 = b1 & 0x7f
  return len7 < 126 ? 2 : len7 === 126 ? 4 : 10
}

/** Parses the frames of one connection, from after the upgrade response head. */
export class WsFrameParser {
  private readonly h: WsHandlers
  private readonly maxMessageBytes: number
  private state = HEADER
  // a frame header split across reads
  private readonly head = Buffer.alloc(10)
  private headLen = 0
  private opcode = 0
  private fin = false
  // payload bytes of the current frame still to come
  private remaining = 0
  // a data message begun by a frame without FIN; its type
  private fragmented = false
  private isText = false
  // a data message being assembled; a control frame split across reads
  private acc: Buffer = EMPTY
  private accLen = 0
  private readonly ctrl = Buffer.alloc(125)
  private ctrlLen = 0
  // bumped by reset(), so that a feed() interrupted by a callback calling reset() stops
  private epoch = 0

  constructor(handlers: WsHandlers, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {
    this.h = handlers
    this.maxMessageBytes = maxMessageBytes
  }

  /** Parses `buf[start, end)`, the next bytes read from the connection. */
  feed(buf: Buffer, start = 0, end = buf.length): void {
    const epoch = this.epoch
    let i = start
    while (i < end && this.state !== DONE && this.epoch === epoch) {
      if (this.state === PAYLOAD) {
        const n = Math.min(this.remaining, end - i)
        if (this.opcode >= 0x8) {
          buf.copy(this.ctrl, this.ctrlLen, i, i + n)
          this.ctrlLen += n
        } else this.append(buf, i, i + n)
        i += n
        this.remaining -= n
        if (this.remaining === 0) {
          this.state = HEADER
          if (this.opcode >= 0x8) this.control(this.ctrl, 0, this.ctrlLen)
          else if (this.fin) this.message()
        }
        continue
      }
      // the header: straight from the read when it is all there, else gathered across reads
      let hb = buf
      let hs = i
      if (this.headLen === 0 && end - i >= 2 && end - i >= headerLength(buf[i + 1] as number)) {
        i += headerLength(buf[i + 1] as number)
      } else {
        while (this.headLen < 2 && i < end) this.head[this.headLen++] = buf[i++] as number
        if (this.headLen < 2) break
        const need = headerLength(this.head[1] as number)
        while (this.headLen < need && i < end) this.head[this.headLen++] = buf[i++] as number
        if (this.headLen < need) break
        this.headLen = 0
        hb = this.head
        hs = 0
      }
      if (!this.header(hb, hs)) return
      const len = this.remaining
      if (end - i < len) {
        // the payload spans reads: gathered
        this.state = PAYLOAD
        this.ctrlLen = 0
        if (this.opcode < 0x8) this.acc = ensure(this.acc, this.accLen, this.accLen + len)
        continue
      }
      // the whole payload is in this read
      this.remaining = 0
      if (this.opcode >= 0x8) this.control(buf, i, i + len)
      else if (this.fin && this.opcode !== 0) {
        this.h.onMessage(buf, i, i + len, this.opcode === OPCODE.text)
      } else {
        this.append(buf, i, i + len)
        if (this.fin) this.message()
      }
      i += len
    }
  }

  /** Ready for a new connection (keeps the buffer it grew). */
  reset(): void {
    this.epoch++
    this.state = HEADER
    this.headLen = 0
    this.remaining = 0
    this.fragmented = false
    this.accLen = 0
  }

  private fail(message: string): false {
    this.state = DONE
    this.h.onError(new Error(message))
    return false
  }

  /** Checks and records one frame header at `b[s]`. */
  private header(b: Buffer, s: number): boolean {
    const b0 = b[s] as number
    const b1 = b[s + 1] as number
    if (b1 & 0x80) return this.fail('masked frame from the server')
    if (b0 & 0x70) return this.fail('RSV bit set without an extension')
    const op = b0 & 0x0f
    const fin = (b0 & 0x80) !== 0
    let len = b1 & 0x7f
    if (len === 126) len = ((b[s + 2] as number) << 8) | (b[s + 3] as number)
    else if (len === 127) {
      const hi = b.readUInt32BE(s + 2)
      // above 2^53: not a length a Number holds (and no server sends it)
      if (hi > 0x1fffff) return this.fail('frame length over 2^53')
      len = hi * 2 ** 32 + b.readUInt32BE(s + 6)
    }
    if (op >= 0x8) {
      if (op > 0xa) return this.fail(`reserved opcode 0x${op.toString(16)}`)
      if (!fin || len > 125) return this.fail('fragmented or over-long control frame')
    } else {
      if (op > 0x2) return this.fail(`reserved opcode 0x${op.toString(16)}`)
      if (op === 0) {
        if (!this.fragmented) return this.fail('continuation frame outside a fragmented message')
      } else {
        if (this.fragmented) return this.fail('new data frame inside a fragmented message')
        this.isText = op === OPCODE.text
        this.fragmented = !fin
      }
      if (this.accLen + len > this.maxMessageBytes) return this.fail('message over the size limit')
    }
    this.opcode = op
    this.fin = fin
    this.remaining = len
    return true
  }

  private append(buf: Buffer, s: number, e: number): void {
    this.acc = ensure(this.acc, this.accLen, this.accLen + e - s)
    buf.copy(this.acc, this.accLen, s, e)
    this.accLen += e - s
  }

  /** The assembled message is complete. */
  private message(): void {
    const n = this.accLen
    this.accLen = 0
    this.fragmented = false
    this.h.onMessage(this.acc, 0, n, this.isText)
  }

  private control(b: Buffer, s: number, e: number): void {
    if (this.opcode === OPCODE.ping) this.h.onPing(b.subarray(s, e))
    else if (this.opcode === OPCODE.pong) this.h.onPong(b.subarray(s, e))
    else if (e - s === 1) this.fail('close frame with a 1-byte body')
    else {
      this.state = DONE
      if (e === s) this.h.onClose(1005, '')
      else this.h.onClose(((b[s] as number) << 8) | (b[s + 1] as number), b.toString('utf8', s + 2, e))
    }
  }
}

// random mask keys, drawn 4 bytes at a time from a pool refilled by the system's CSPRNG
const maskPool = Buffer.allocUnsafe(4096)
let maskAt = maskPool.length

/**
 * A client frame, masked as RFC 6455 5.3 requires: `maskKey` (4 bytes) for reproducible bytes, else a
 * random key. `fin` false for a fragment.
 */
export function maskedFrame(
  opcode: number,
  payload: Buffer | string = EMPTY,
  maskKey?: Buffer,
  fin = true,
): Buffer {
  const len = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length
  const h = len < 126 ? 6 : len <= 0xffff ? 8 : 14
  const out = Buffer.allocUnsafe(h + len)
  out[0] = (fin ? 0x80 : 0) | opcode
  if (h === 6) out[1] = 0x80 | len
  else if (h === 8) {
    out[1] = 0x80 | 126
    out.writeUInt16BE(len, 2)
  } else {
    out[1] = 0x80 | 127
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2)
    out.writeUInt32BE(len >>> 0, 6)
  }
  if (maskKey !== undefined) maskKey.copy(out, h - 4, 0, 4)
  else {
    if (maskAt === maskPool.length) {
      randomFillSync(maskPool)
      maskAt = 0
    }
    maskPool.copy(out, h - 4, maskAt, maskAt + 4)
    maskAt += 4
  }
  if (typeof payload === 'string') out.write(payload, h)
  else payload.copy(out, h)
  for (let k = 0; k < len; k++) out[h + k] = (out[h + k] as number) ^ (out[h - 4 + (k & 3)] as number)
  return out
}

/** A masked close frame with its code and reason. */
export function maskedClose(code: number, reason = '', maskKey?: Buffer): Buffer {
  const body = Buffer.allocUnsafe(2 + Buffer.byteLength(reason))
  body.writeUInt16BE(code, 0)
  body.write(reason, 2)
  return maskedFrame(OPCODE.close, body, maskKey)
}

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64. */
export function wsKey(): string {
  return randomBytes(16).toString('base64')
}

/** The GET that asks for the upgrade (no extension, no subprotocol). */
export function upgradeRequest(host: string, port: number, path: string, key: string): string {
  const h = host.includes(':') ? `[${host}]` : host
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${h}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  )
}

/** The Sec-WebSocket-Accept a server must answer `key` with. */
export function expectedAccept(key: string): string {
  return createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64')
}

/** Reads the answer to the upgrade request (once per connection, so plain strings here). */
export class UpgradeResponse {
  status = 0
  /** Header values by lower-case name. */
  readonly headers = new Map<string, string>()
  private head: Buffer = EMPTY
  private done = false

  /**
   * Gathers the response head from `buf[start, end)`: -1 while it is incomplete, then the offset in `buf`
   * where frames begin (bytes after the head in the same read are frames). Throws on a head over 64 KiB or
   * a malformed status line.
   */
  feed(buf: Buffer, start = 0, end = buf.length): number {
    if (this.done) return start
    const before = this.head.length
    this.head = Buffer.concat([this.head, buf.subarray(start, end)])
    // the blank line may straddle two reads
    const at = this.head.indexOf('\r\n\r\n', Math.max(0, before - 3), 'latin1')
    if (at < 0) {
      if (this.head.length > MAX_UPGRADE_HEAD_BYTES) throw new Error('upgrade response head over 64 KiB')
      return -1
    }
    this.done = true
    const lines = this.head.toString('latin1', 0, at).split('\r\n')
    const m = /^HTTP\/1\.\d (\d{3})(?: |$)/.exec(lines[0] ?? '')
    if (m === null) throw new Error(`malformed status line: ${JSON.stringify(lines[0])}`)
    this.status = Number(m[1])
    for (let k = 1; k < lines.length; k++) {
      const line = lines[k] as string
      const colon = line.indexOf(':')
      if (colon > 0) this.headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
    }
    return start + (at + 4 - before)
  }

  /** Why the head does not complete the upgrade asked with `key`; undefined when it does. */
  check(key: string): string | undefined {
    if (this.status !== 101) return `status ${this.status}, not 101`
    if (this.headers.get('upgrade')?.toLowerCase() !== 'websocket') return 'no Upgrade: websocket'
    if (!/(^|[\s,])upgrade($|[\s,])/i.test(this.headers.get('connection') ?? ''))
      return 'no Connection: Upgrade'
    if (this.headers.get('sec-websocket-accept') !== expectedAccept(key)) return 'wrong Sec-WebSocket-Accept'
    if (this.headers.has('sec-websocket-extensions')) return 'an extension the client did not offer'
    return undefined
  }
}
