/** RFC 6455 by hand: the opening handshake and frames, written and read on a raw socket. */
import { randomBytes } from 'node:crypto'
import { type ByteReader, connect } from './byte-reader.ts'
import { type ResponseHead, readHead, requestBytes } from './raw-http.ts'

/** The sample key and accept value of RFC 6455 section 1.3. */
export const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ=='
export const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='

export const OP = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const

export function upgradeHeaders(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const h: Record<string, string | undefined> = {
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': RFC_KEY,
    'Sec-WebSocket-Version': '13',
    ...extra,
  }
  return Object.fromEntries(Object.entries(h).filter((e): e is [string, string] => e[1] !== undefined))
}

/** Sends the upgrade request on a new connection and reads the response head. */
export async function upgrade(
  port: number,
  path = '/ws',
  extra: Record<string, string | undefined> = {},
): Promise<{ reader: ByteReader; head: ResponseHead }> {
  const reader = await connect(port)
  reader.socket.write(requestBytes(path, upgradeHeaders(extra)))
  return { reader, head: await readHead(reader) }
}

/** An open WebSocket on a raw socket (fails unless the server answers 101). */
export async function wsOpen(port: number, path = '/ws'): Promise<ByteReader> {
  const { reader, head } = await upgrade(port, path)
  if (head.status !== 101) throw new Error(`upgrade answered ${head.status}: ${head.raw.toString()}`)
  return reader
}

/** A client frame: masked, as RFC 6455 5.3 requires of clients. */
export function clientFrame(opcode: number, payload: Buffer | string, fin = true): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload
  const len = data.length
  const ext = len < 126 ? 0 : len <= 0xffff ? 2 : 8
  const head = Buffer.alloc(2 + ext + 4)
  head[0] = (fin ? 0x80 : 0) | opcode
  if (ext === 0) head[1] = 0x80 | len
  else if (ext === 2) {
    head[1] = 0x80 | 126
    head.writeUInt16BE(len, 2)
  } else {
    head[1] = 0x80 | 127
    head.writeBigUInt64BE(BigInt(len), 2)
  }
  const mask = randomBytes(4)
  mask.copy(head, 2 + ext)
  const masked = Buffer.allocUnsafe(len)
  for (let i = 0; i < len; i++) masked[i] = (data[i] as number) ^ (mask[i % 4] as number)
  return Buffer.concat([head, masked])
}

export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason))
  b.writeUInt16BE(code, 0)
  b.write(reason, 2)
  return b
}

export interface Frame {
  fin: boolean
  opcode: number
  masked: boolean
  headerLength: number
  payload: Buffer
  /** the frame exactly as it came off the wire */
  raw: Buffer
}

/** Length of the first complete frame in `b`, or -1 if it has not all arrived. */
function frameLength(b: Buffer): number {
  if (b.length < 2) return -1
  const masked = ((b[1] as number) & 0x80) !== 0
  let len = (b[1] as number) & 0x7f
  let head = 2
  if (len === 126) {
    if (b.length < 4) return -1
    len = b.readUInt16BE(2)
    head = 4
  } else if (len === 127) {
    if (b.length < 10) return -1
    len = Number(b.readBigUInt64BE(2))
    head = 10
  }
  if (masked) head += 4
  return b.length >= head + len ? head + len : -1
}

export async function readFrame(r: ByteReader, timeoutMs?: number): Promise<Frame> {
  const raw = await r.take(frameLength, 'a WebSocket frame', timeoutMs)
  const b0 = raw[0] as number
  const b1 = raw[1] as number
  const masked = (b1 & 0x80) !== 0
  const len7 = b1 & 0x7f
  const headerLength = (len7 < 126 ? 2 : len7 === 126 ? 4 : 10) + (masked ? 4 : 0)
  let payload = raw.subarray(headerLength)
  if (masked) {
    const mask = raw.subarray(headerLength - 4, headerLength)
    payload = Buffer.from(payload.map((x, i) => x ^ (mask[i % 4] as number)))
  }
  return { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, masked, headerLength, payload, raw }
}

/** Reads frames until a close frame; returns its code (1005 when it has none) and reason. */
export async function readClose(
  r: ByteReader,
  timeoutMs?: number,
): Promise<{ code: number; reason: string }> {
  for (;;) {
    const f = await readFrame(r, timeoutMs)
    if (f.opcode !== OP.close) continue
    if (f.payload.length < 2) return { code: 1005, reason: '' }
    return { code: f.payload.readUInt16BE(0), reason: f.payload.subarray(2).toString('utf8') }
  }
}
