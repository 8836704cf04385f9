/**
 * The bytes each transport puts around an update's JSON. Pure functions: the servers, the model and
 * the micro-benchmarks all use these, so what is measured is what is shipped.
 */

/** RFC 6455 5.2: server-to-client frames are unmasked; FIN + text opcode. Header is 2, 4 or 10 bytes. */
export function wsFrameHeaderLength(payloadLength: number): number {
  if (payloadLength < 126) return 2
  if (payloadLength <= 0xffff) return 4
  return 10
}

export function wsFrameHeader(payloadLength: number, opcode = 0x1): Buffer {
  const len = wsFrameHeaderLength(payloadLength)
  const h = Buffer.allocUnsafe(len)
  h[0] = 0x80 | opcode
  if (len === 2) {
    h[1] = payloadLength
  } else if (len === 4) {
    h[1] = 126
    h.writeUInt16BE(payloadLength, 2)
  } else {
    h[1] = 127
    h.writeBigUInt64BE(BigInt(payloadLength), 2)
  }
  return h
}

/** One complete unmasked text frame, built once and written as is to every socket. */
export function wsTextFrame(payload: Buffer): Buffer {
  return Buffer.concat([wsFrameHeader(payload.length), payload])
}

/** `id: SEQ\ndata: JSON\n\n` (the JSON has no newline, so one data line carries it). */
export function sseEvent(seq: number, json: Buffer): Buffer {
  const head = `id: ${seq}\ndata: `
  const out = Buffer.allocUnsafe(head.length + json.length + 2)
  out.write(head, 0, 'latin1')
  json.copy(out, head.length)
  out[out.length - 2] = 0x0a
  out[out.length - 1] = 0x0a
  return out
}

export function sseEventLength(seq: number, jsonLength: number): number {
  return `id: ${seq}\ndata: `.length + jsonLength + 2
}

/** HTTP/1.1 chunked framing that node:http puts around each `res.write`: `HEX\r\n` + data + `\r\n`. */
export function chunkOverhead(dataLength: number): number {
  return dataLength.toString(16).length + 4
}

export const SSE_HEARTBEAT = Buffer.from(':\n\n', 'latin1')

/**
 * `retry: MS\n\n`: how long a browser's EventSource waits before it reconnects. Written once per stream,
 * before any event; a block without `data:` dispatches nothing, so no client counts it as an update.
 */
export function sseRetry(ms: number): Buffer {
  return Buffer.from(`retry: ${ms}\n\n`, 'latin1')
}

const OPEN = Buffer.from('[', 'latin1')
const COMMA = Buffer.from(',', 'latin1')
const CLOSE = Buffer.from(']', 'latin1')

/** A poll answer: the stored update buffers joined into a JSON array, never re-serialised. */
export function pollBody(jsons: readonly Buffer[]): Buffer {
  const parts: Buffer[] = new Array(jsons.length * 2 + 1)
  let n = 0
  parts[n++] = OPEN
  for (let i = 0; i < jsons.length; i++) {
    if (i > 0) parts[n++] = COMMA
    parts[n++] = jsons[i] as Buffer
  }
  parts[n++] = CLOSE
  parts.length = n
  return Buffer.concat(parts)
}

/**
 * The gap message of the push transports, `{"type":"gap","from":N,"first":M}`: a resume from N was older
 * than the ring buffer, so N+1 .. M-1 are lost and M is the first seq that follows. An update never has
 * a `type` key (it starts `{"seq":`), so a client tells the two apart by their first bytes.
 */
export function gapJson(from: number, first: number): string {
  return `{"type":"gap","from":${from},"first":${first}}`
}

/**
 * SSE: `event: gap`, the gap JSON as data, and `id: M-1`, so an EventSource that reconnects right after
 * it resumes where the replay starts instead of being told of the same gap again.
 */
export function sseGapEvent(from: number, first: number): Buffer {
  return Buffer.from(`event: gap\nid: ${first - 1}\ndata: ${gapJson(from, first)}\n\n`, 'latin1')
}
