/**
 * One update on the wire: `{"seq":N,"sym":"AAPL","px":123.45,"ts":<epoch ms, 3 decimals>,"pad":"..."}`,
 * exactly `payloadBytes` long; `pad` absorbs what the fixed fields leave.
 */
import { PbOptionError } from '../lib/errors.ts'

/** Widest values the fixed fields can take (checked at publish): a 10-digit seq, a 4-letter symbol, 7-char px, 17-char ts. */
const WIDEST = { seq: 9_999_999_999, sym: 'WWWW', px: '9999.99', ts: '1764050000000.123' } as const
export const MAX_PX = 9999.99
export const MIN_PX = 1

export function encodeUpdateString(seq: number, sym: string, px: string, ts: string, pad: string): string {
  return `{"seq":${seq},"sym":"${sym}","px":${px},"ts":${ts},"pad":"${pad}"}`
}

/** Smallest payload the fixed fields fit in, whatever seq, symbol and price the run reaches. */
export const MIN_PAYLOAD_BYTES = encodeUpdateString(WIDEST.seq, WIDEST.sym, WIDEST.px, WIDEST.ts, '').length

export function formatTs(ts: number): string {
  return ts.toFixed(3)
}

export function formatPx(px: number): string {
  return px.toFixed(2)
}

/** Serialises one update to exactly `payloadBytes` bytes (ASCII). */
export function encodeUpdate(
  seq: number,
  sym: string,
  px: number,
  ts: number,
  payloadBytes: number,
  padSource: string,
): Buffer {
  const pxs = formatPx(px)
  const tss = formatTs(ts)
  const fixed = encodeUpdateString(seq, sym, pxs, tss, '').length
  const padLen = payloadBytes - fixed
  if (padLen < 0)
    throw new PbOptionError('payloadBytes', `update ${seq} needs ${fixed} bytes, more than ${payloadBytes}`)
  return Buffer.from(encodeUpdateString(seq, sym, pxs, tss, padSource.slice(0, padLen)), 'latin1')
}

/** The shape clients parse. */
export interface UpdateJson {
  seq: number
  sym: string
  px: number
  ts: number
  pad: string
}
