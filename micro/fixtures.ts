/** The updates the cases work on: made by the real Ticker and encodeUpdate, so the bytes are the shipped ones. */
import { Ticker, type Update } from '../servers/ticker.ts'
import { encodeUpdate, MIN_PAYLOAD_BYTES, type UpdateJson } from '../servers/update.ts'

/**
 * The scenarios' sizes, bytes. The issue's 64 B cannot exist: 76 B is the smallest update the fixed
 * JSON fields fit in (MIN_PAYLOAD_BYTES), so it stands in as the smallest size.
 */
export const PAYLOAD_SIZES = [MIN_PAYLOAD_BYTES, 128, 1024, 16_384] as const

/** A publish instant whose shortest decimal form is its 3-decimal form, so JSON.stringify and encodeUpdate agree. */
const TS = 1_764_050_000_000.125

/** `n` consecutive updates (seq 1..n) as the ticker publishes them, one tick of n updates. */
export function tickerUpdates(payloadBytes: number, n: number): Update[] {
  const t = new Ticker({ seed: 1, symbols: 50, tickHz: 10, updatesPerTick: n, payloadBytes, ringSize: 0 })
  return t.publishTick(TS)
}

/**
 * One update as an object and as the bytes encodeUpdate makes of it; the price has two significant
 * decimals so JSON.stringify of the object gives exactly those bytes.
 */
export function sampleUpdate(payloadBytes: number): {
  obj: UpdateJson
  json: Buffer
  args: [number, string, number, number, number, string]
} {
  const pad = 'x'.repeat(payloadBytes)
  const args: [number, string, number, number, number, string] = [
    123_456,
    'AAPL',
    123.45,
    TS,
    payloadBytes,
    pad,
  ]
  const json = encodeUpdate(...args)
  return { obj: JSON.parse(json.toString('latin1')) as UpdateJson, json, args }
}

/** '76 B', '1 KiB', '16 KiB' */
export function sizeLabel(bytes: number): string {
  return bytes >= 1024 && bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`
}
