/** Latency recording: one HDR histogram at microsecond resolution; formatting stays out of the receive path. */
import * as hdr from 'hdr-histogram-js'
import type { Latency } from './results-schema.ts'

/** 10 minutes in us: anything later is clamped (and shows as max). */
const HIGHEST_US = 600_000_000

export function newHistogram(): hdr.Histogram {
  return hdr.build({
    bitBucketSize: 32,
    autoResize: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  })
}

/** Records `ms` (>= 0) as whole microseconds. */
export function recordMs(h: hdr.Histogram, ms: number): void {
  const us = Math.round(ms * 1000)
  h.recordValue(Math.max(0, Math.min(us, HIGHEST_US)))
}

/** Records `ms` `count` times: the same histogram as `count` calls of recordMs, for one call's cost. */
export function recordMsTimes(h: hdr.Histogram, ms: number, count: number): void {
  const us = Math.round(ms * 1000)
  h.recordValueWithCount(Math.max(0, Math.min(us, HIGHEST_US)), count)
}

const ms = (us: number): number => Math.round(us) / 1000

/**
 * The percentiles of the distribution plot: evenly spaced on a log scale of 1 / (1 - p), four a decade,
 * from 0 to 99.99 (0, 43.77, 68.38, 82.22, 90, ... 99.99), as HdrHistogram's plots space them; then 100.
 */
export const DISTRIBUTION_PERCENTILES: readonly number[] = [
  ...Array.from({ length: 17 }, (_, k) => Math.round((100 - 100 * 10 ** (-k / 4)) * 1e4) / 1e4),
  100,
]

/** The summary of DESIGN.md's latencyMs, in milliseconds (3 decimals: 1 us); `withHdr` adds the histogram itself. */
export function summarise(h: hdr.Histogram, opts: { withHdr?: boolean } = {}): Latency {
  const count = h.totalCount
  const hdrField = opts.withHdr ? { hdr: encodeHistogram(h) } : {}
  if (count === 0)
    return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0, count: 0, min: 0, stddev: 0, ...hdrField }
  // a percentile is its bucket's highest equivalent value, up to 0.1% above any sample in it: never
  // report one above the largest sample recorded (p99.9 248.191 ms beside max 248.117 ms)
  const at = (p: number): number => ms(Math.min(h.getValueAtPercentile(p), h.maxValue))
  // no non-zero sample: a fresh histogram says MAX_SAFE_INTEGER, a decoded one MAX_VALUE
  const minNonZero = h.minNonZeroValue > h.maxValue ? 0 : h.minNonZeroValue
  return {
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: ms(h.maxValue),
    mean: ms(h.mean),
    count,
    min: ms(minNonZero),
    stddev: ms(h.stdDeviation),
    distribution: DISTRIBUTION_PERCENTILES.map((p) => ({
      percentile: p,
      ms: at(p),
    })),
    ...hdrField,
  }
}

/** The histogram as the results file's `latencyMs.hdr` keeps it: HdrHistogram's V2 compressed encoding, base64. */
export function encodeHistogram(h: hdr.Histogram): string {
  return hdr.encodeIntoCompressedBase64(h)
}

/**
 * A histogram from `encodeHistogram`'s text, into one built as newHistogram builds them: the same counts
 * at every value. One encoded with other settings is re-recorded, values above 10 minutes clamped as
 * recordMs clamps them. The encoding keeps counts, not the exact extremes: the max read back is the top
 * of its bucket and the min the bottom of its (up to 0.1% off; `restoreExtremes` puts the exact ones back).
 * Throws on text that is not an encoded histogram.
 */
export function decodeHistogram(s: string): hdr.Histogram {
  const raw = hdr.decodeFromCompressedBase64(s, 32, false)
  const h = newHistogram()
  if (!(raw instanceof hdr.JsHistogram) || !(h instanceof hdr.JsHistogram))
    throw new Error('hdr-histogram-js decoded into an unexpected histogram type')
  if (
    raw.highestTrackableValue === h.highestTrackableValue &&
    raw.numberOfSignificantValueDigits === h.numberOfSignificantValueDigits &&
    raw.countsArrayLength === h.countsArrayLength &&
    raw.lowestEquivalentValue(1) === 1
  ) {
    h.add(raw)
    // the top bucket reaches past 10 minutes, which recordMs never records above
    if (h.maxValue > HIGHEST_US) h.maxValue = HIGHEST_US
    return h
  }
  for (let i = 0; i < raw.countsArrayLength; i++) {
    const n = raw.getCountAtIndex(i)
    if (n > 0) h.recordValueWithCount(Math.max(0, Math.min(raw.valueFromIndex(i), HIGHEST_US)), n)
  }
  return h
}

/** How many samples were recorded as 0 us (recordMs clamps a negative latency to 0). */
export function countAtZero(h: hdr.Histogram): number {
  if (!(h instanceof hdr.JsHistogram)) throw new Error('hdr-histogram-js built an unexpected histogram type')
  return h.getCountAtIndex(h.countsArrayIndex(0))
}

/** Several encoded histograms merged exactly: every count added at its value, never an average of percentiles. */
export function mergeEncoded(encoded: string[]): hdr.Histogram {
  const h = newHistogram()
  for (const e of encoded) h.add(decodeHistogram(e))
  return h
}

/**
 * Puts back the exact largest and smallest non-zero samples (us) a decoded histogram lost to its buckets,
 * as the summaries the encodings came with report them (`Latency.max`, `Latency.min`): each only when it
 * lies in the bucket the decoded extreme points at, so a figure from another histogram changes nothing.
 * Then `summarise` gives what one histogram of all the samples gives, max and min included.
 */
export function restoreExtremes(h: hdr.Histogram, exact: { maxUs?: number; minNonZeroUs?: number }): void {
  if (!(h instanceof hdr.JsHistogram) || h.totalCount === 0) return
  const { maxUs, minNonZeroUs } = exact
  if (maxUs !== undefined && h.maxValue > 0 && h.countsArrayIndex(maxUs) === h.countsArrayIndex(h.maxValue))
    h.maxValue = maxUs
  if (
    minNonZeroUs !== undefined &&
    minNonZeroUs > 0 &&
    h.minNonZeroValue <= h.maxValue &&
    h.countsArrayIndex(minNonZeroUs) === h.countsArrayIndex(h.minNonZeroValue)
  )
    h.minNonZeroValue = minNonZeroUs
}

/**
 * Summaries that carry their histogram (`hdr`) merged into one histogram, exactly: mergeEncoded, then the
 * exact max and min of all of them restored from the summaries. Throws when one carries no `hdr`.
 */
export function mergeLatencies(all: readonly Latency[]): hdr.Histogram {
  const encoded = all.map((l) => {
    if (l.hdr === undefined) throw new Error('a latency summary carries no HDR histogram (latencyMs.hdr)')
    return l.hdr
  })
  const h = mergeEncoded(encoded)
  const counted = all.filter((l) => l.count > 0)
  const mins = counted.map((l) => l.min ?? 0).filter((m) => m > 0)
  restoreExtremes(h, {
    ...(counted.length > 0 ? { maxUs: Math.round(Math.max(...counted.map((l) => l.max)) * 1000) } : {}),
    ...(mins.length > 0 ? { minNonZeroUs: Math.round(Math.min(...mins) * 1000) } : {}),
  })
  return h
}
