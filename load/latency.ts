/** Latency recording: one HDR histogram at microsecond resolution; formatting stays out of the receive path. */
import * as hdr from 'hdr-histogram-js'
import type { Latency } from '../lib/results-schema.ts'

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

/** The summary of DESIGN.md's latencyMs, in milliseconds (3 decimals: 1 us). */
export function summarise(h: hdr.Histogram): Latency {
  const count = h.totalCount
  if (count === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0, count: 0, min: 0, stddev: 0 }
  // a percentile is its bucket's highest equivalent value, up to 0.1% above any sample in it: never
  // report one above the largest sample recorded (p99.9 248.191 ms beside max 248.117 ms)
  const at = (p: number): number => ms(Math.min(h.getValueAtPercentile(p), h.maxValue))
  return {
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: ms(h.maxValue),
    mean: ms(h.mean),
    count,
    min: ms(h.minNonZeroValue === Number.MAX_SAFE_INTEGER ? 0 : h.minNonZeroValue),
    stddev: ms(h.stdDeviation),
    distribution: DISTRIBUTION_PERCENTILES.map((p) => ({
      percentile: p,
      ms: at(p),
    })),
  }
}
