/**
 * The HTTP/2 rows' byte model (lib/transports.ts `*-h2`): what node:http2 puts on the wire for the suite's
 * server and its node:http2 clients, as frames were read off a session (test/servers/h2.test.ts checks these
 * against a live one). Every frame has a 9-byte header (RFC 9113 4.1). Header blocks are HPACK (RFC 7541):
 * a header already in the session's dynamic table costs 1 byte; nghttp2 never indexes `:path` and
 * `content-length`, so those are literals on every request and answer; a string is Huffman-coded when that is
 * shorter. What a session carries once (preface, SETTINGS and their ACKs, the first request's `:authority`,
 * the first answer's `content-type`) is set-up, left out as the HTTP/1.1 models leave out SSE's head.
 *
 * Per request (a poll): HEADERS = 9 + `:method GET` 1 + `:authority` 1 + `:scheme` 1 + the `:path` literal.
 * Per 200 answer: HEADERS = 9 + `:status 200` 1 + `content-type` 1 + the `content-length` literal + `date` 1,
 * then DATA = 9 + body, then an empty DATA that ends the stream, 9 (node writes the body and ends it apart).
 * Per 204 (short polling, nothing newer): HEADERS (END_STREAM) = 9 + `:status 204` 1 + `pb-seq` 1 + `date` 1,
 * and a `pb-seq` literal instead once per tick (the newest seq moved). `date` changes every second: the first
 * answer of each second on a session carries it as a literal (23 bytes more than the 1 of an indexed one):
 * counted at one a second, so a window holds one more or one less of them per client than the model says.
 * SSE: the event inside one DATA frame per write (per tick, or per update).
 * Not counted: WINDOW_UPDATE (the client's: one of 13 bytes for the stream and one for the session each time
 * it has read 32 KiB, half of node's 64 KiB windows, so 26 bytes per 32 KiB: measured 338 bytes for 437,700 read
 * per client, 0.11 byte per 145-byte update; none at all in a run that reads under 32 KiB per client, which is
 * why it is left out of a least figure), PING (none is sent), the HEADERS of the SSE stream's answer.
 */
import { sseEventLength } from '../../servers/frames.ts'
import { hpackIntLength, huffmanBits } from '../lean/hpack.ts'
import { meanDigits, pollBodyLength } from './http.ts'
import { type ByteModel, modelResult } from './types.ts'

export { hpackIntLength, huffmanBits }

/** Every HTTP/2 frame's header: length 3, type 1, flags 1, stream 4 (RFC 9113 4.1). */
export const FRAME_HEADER = 9

/**
 * A string literal's bytes: its length (7-bit prefix) and its octets, Huffman-coded when that is shorter, as
 * nghttp2 chooses. `extraBits` are bits of characters beyond `s` (a mean digit count's fraction).
 */
export function hpackStringLength(s: string, extraBits = 0, extraChars = 0): number {
  const huff = Math.ceil((huffmanBits(s) + extraBits) / 8)
  const len = Math.min(huff, s.length + extraChars)
  return hpackIntLength(len, 7) + len
}

/**
 * A header field as a literal whose name is in the static table at `nameIndex` (RFC 7541 6.2): with
 * incremental indexing (6-bit prefix) or without (4-bit prefix).
 */
export function hpackLiteralLength(
  nameIndex: number,
  value: string,
  indexed: boolean,
  extraBits = 0,
  extraChars = 0,
): number {
  return hpackIntLength(nameIndex, indexed ? 6 : 4) + hpackStringLength(value, extraBits, extraChars)
}

/** Static table indexes (RFC 7541 Appendix A). */
const PATH = 4
const CONTENT_LENGTH = 28
const DATE_NAME = 33

/** Bits a digit costs at the least: 0, 1 and 2 are 5-bit codes, 3 to 9 6-bit. */
const DIGIT_BITS = 5

/**
 * One poll's request HEADERS frame: `:method`, `:scheme` and `:authority` indexed (1 byte each), and
 * `:path` (`path?since=N`) as a literal never indexed; the seq's digits past the first at their mean count.
 */
export function h2RequestLength(pathWithSince: string, extraDigits: number): number {
  return (
    FRAME_HEADER + 3 + hpackLiteralLength(PATH, pathWithSince, false, extraDigits * DIGIT_BITS, extraDigits)
  )
}

/** A 200 answer of `bodyLength` bytes: HEADERS, DATA, and the empty DATA that ends the stream. */
export function h2AnswerLength(bodyLength: number): number {
  const headers =
    FRAME_HEADER + 1 + 1 + hpackLiteralLength(CONTENT_LENGTH, String(Math.round(bodyLength)), false) + 1
  return headers + FRAME_HEADER + bodyLength + FRAME_HEADER
}

/** A 204 with `pb-seq` and `date` already in the session's table: one HEADERS frame that ends the stream. */
export const H2_NO_CONTENT_LENGTH = FRAME_HEADER + 3

/** A fixed date (the HTTP/1.1 model's): how long the `date` literal is once a second. */
const DATE = 'Wed, 25 Nov 2026 06:23:51 GMT'

/** Bytes a `date` literal costs beyond the indexed byte it replaces, once a second per session. */
export const DATE_LITERAL_EXTRA = hpackLiteralLength(DATE_NAME, DATE, true) - 1

/** SSE over HTTP/2: the event, inside one DATA frame per write. */
export const sseH2Model: ByteModel = (p, ctx) => {
  const ev = sseEventLength(1, p.payloadBytes) + meanDigits(ctx.seqFrom, ctx.seqTo) - 1
  const k = p.updatesPerTick
  return modelResult(0, p.writePolicy === 'per-update' ? ev + FRAME_HEADER : ev + FRAME_HEADER / k)
}

/** Long polling over HTTP/2: one request and one answer per tick, each a stream of the client's session. */
export const longPollH2Model: ByteModel = (p, ctx) => {
  const k = p.updatesPerTick
  const extra = meanDigits(ctx.seqFrom, ctx.seqTo) - 1
  const up = h2RequestLength(`${ctx.path}?since=1`, extra) / k
  // one answer a tick; the first answer of each second carries the new date
  const dates = Math.min(1, p.tickHz)
  const down =
    (h2AnswerLength(pollBodyLength(k, p.payloadBytes)) + (dates * DATE_LITERAL_EXTRA) / p.tickHz) / k
  return modelResult(up, down)
}

/**
 * Short polling over HTTP/2: R polls a second, at most one per tick with that tick's updates, the rest 204;
 * a 204 after a new tick carries the moved `pb-seq` as a literal.
 */
export const shortPollH2Model: ByteModel = (p, ctx) => {
  const extraDigits = meanDigits(ctx.seqFrom, ctx.seqTo) - 1
  const updatesPerS = p.tickHz * p.updatesPerTick
  const pollsPerS = 1000 / p.pollIntervalMs
  const dataPollsPerS = Math.min(pollsPerS, p.tickHz)
  const emptyPollsPerS = pollsPerS - dataPollsPerS
  const body = pollBodyLength(updatesPerS / dataPollsPerS, p.payloadBytes)
  const up = (pollsPerS * h2RequestLength(`${ctx.path}?since=1`, extraDigits)) / updatesPerS
  // a moved pb-seq: a literal (name from the dynamic table, 6-bit prefix) instead of the indexed byte
  const seqLiteral = 1 + hpackStringLength('1', extraDigits * DIGIT_BITS, extraDigits) - 1
  const down =
    (dataPollsPerS * h2AnswerLength(body) +
      emptyPollsPerS * H2_NO_CONTENT_LENGTH +
      Math.min(emptyPollsPerS, p.tickHz) * seqLiteral +
      Math.min(1, pollsPerS) * DATE_LITERAL_EXTRA) /
    updatesPerS
  return modelResult(up, down)
}
