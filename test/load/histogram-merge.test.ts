/**
 * Exact merging of latency histograms (lib/latency.ts): samples recorded over several shards, each
 * shard's histogram encoded and decoded, then merged, give the histogram of all the samples recorded in
 * one, count for count; a property test over seeded random cases, never an average of percentiles.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as hdr from 'hdr-histogram-js'
import {
  DISTRIBUTION_PERCENTILES,
  decodeHistogram,
  encodeHistogram,
  mergeEncoded,
  mergeLatencies,
  newHistogram,
  recordMs,
  summarise,
} from '../../lib/latency.ts'
import { mulberry32 } from '../../lib/random.ts'

/** recordMs's clamp: 10 minutes in us */
const HIGHEST_US = 600_000_000
const CASES = 200

type Rng = () => number

function normal(rng: Rng): number {
  // Box-Muller; 1 - u keeps log() away from 0
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng())
}

/** One case's samples, ms: a distribution picked at random, some with zeros and values at the clamp. */
function samples(rng: Rng): { kind: string; ms: number[] } {
  const size = rng() < 0.1 ? Math.floor(rng() * 4) : Math.floor(rng() * 3000) + 1
  const kinds = ['uniform', 'log-normal', 'zeros', 'near-clamp', 'tiny', 'mixed'] as const
  const kind = kinds[Math.floor(rng() * kinds.length)] ?? 'uniform'
  const draw = (k: string): number => {
    switch (k) {
      case 'uniform':
        return rng() * 500
      case 'log-normal':
        return Math.exp(Math.log(20) + 1.2 * normal(rng))
      case 'zeros':
        return rng() < 0.4 ? 0 : rng() * 50
      case 'near-clamp':
        // around 600 s, some past it (clamped), some at it exactly
        return rng() < 0.2 ? 600_000 : 599_000 + rng() * 3_000
      case 'tiny':
        // below 1 us rounds to 0; a few us
        return rng() * 0.006
      default: {
        const pick = kinds[Math.floor(rng() * 5)] ?? 'uniform'
        return draw(pick)
      }
    }
  }
  return { kind, ms: Array.from({ length: size }, () => draw(kind)) }
}

function asJs(h: hdr.Histogram): hdr.JsHistogram {
  assert.ok(h instanceof hdr.JsHistogram, 'newHistogram builds a JS histogram')
  return h
}

/** Every index of the counts array holds the same count in both (same settings: same layout). */
function assertSameCounts(a: hdr.Histogram, b: hdr.Histogram, what: string): void {
  const ja = asJs(a)
  const jb = asJs(b)
  assert.equal(ja.countsArrayLength, jb.countsArrayLength, `${what}: layout`)
  for (let i = 0; i < ja.countsArrayLength; i++) {
    const ca = ja.getCountAtIndex(i)
    const cb = jb.getCountAtIndex(i)
    if (ca !== cb) assert.fail(`${what}: count at ${ja.valueFromIndex(i)} us: ${ca} vs ${cb}`)
  }
  assert.equal(a.totalCount, b.totalCount, `${what}: totalCount`)
}

test('decode(encode(h)) holds the same count at every value, the total, the mean and stddev', () => {
  const rng = mulberry32(7)
  for (let c = 0; c < 50; c++) {
    const { kind, ms } = samples(rng)
    const h = newHistogram()
    for (const x of ms) recordMs(h, x)
    const d = decodeHistogram(encodeHistogram(h))
    assertSameCounts(d, h, `case ${c} (${kind}, ${ms.length} samples)`)
    assert.equal(d.mean, h.mean)
    assert.equal(d.stdDeviation, h.stdDeviation)
    // the encoding keeps counts, not extremes: the max read back is its bucket's top (never above the clamp)
    if (h.totalCount > 0) {
      const jh = asJs(h)
      assert.equal(d.maxValue, Math.min(jh.highestEquivalentValue(h.maxValue), HIGHEST_US))
    }
    // and encoding what was decoded gives the same text
    assert.equal(encodeHistogram(d), encodeHistogram(h))
  }
})

test(`property: ${CASES} random sample sets over 1..8 shards merge into the one-histogram result exactly`, () => {
  const rng = mulberry32(20_240_611)
  for (let c = 0; c < CASES; c++) {
    const { kind, ms } = samples(rng)
    const n = 1 + Math.floor(rng() * 8)
    const what = `case ${c} (${kind}, ${ms.length} samples, ${n} shards)`
    const all = newHistogram()
    const shards = Array.from({ length: n }, () => newHistogram())
    for (const x of ms) {
      recordMs(all, x)
      const shard = shards[Math.floor(rng() * n)]
      assert.ok(shard)
      recordMs(shard, x)
    }
    const encoded = shards.map(encodeHistogram)

    // the histogram: every count at its value, the total, and what is computed from the counts
    const merged = mergeEncoded(encoded)
    assertSameCounts(merged, all, what)
    assert.equal(merged.mean, all.mean, `${what}: mean`)
    assert.equal(merged.stdDeviation, all.stdDeviation, `${what}: stddev`)
    for (const p of [...DISTRIBUTION_PERCENTILES, 50, 99, 99.9])
      assert.equal(merged.getValueAtPercentile(p), all.getValueAtPercentile(p), `${what}: p${p}`)
    if (all.totalCount > 0) {
      // extremes from the counts alone: the same buckets as the one histogram's
      const ja = asJs(all)
      assert.equal(
        ja.countsArrayIndex(merged.maxValue),
        ja.countsArrayIndex(all.maxValue),
        `${what}: max bucket`,
      )
    }

    // the summaries, extremes restored from the shards' own: identical to the one histogram's, field for field
    const shardSummaries = shards.map((h) => summarise(h, { withHdr: true }))
    const exact = summarise(mergeLatencies(shardSummaries), { withHdr: true })
    const one = summarise(all, { withHdr: true })
    assert.deepEqual(exact, one, what)
    assert.equal(exact.count, ms.length, `${what}: every sample counted`)
    if (ms.length > 0)
      assert.equal(
        exact.distribution?.length,
        DISTRIBUTION_PERCENTILES.length,
        `${what}: the distribution's every percentile`,
      )
  }
})

test('merging never averages: two shards far apart give the p99 of all samples, not the mean of p99s', () => {
  const fast = newHistogram()
  const slow = newHistogram()
  for (let i = 0; i < 9_900; i++) recordMs(fast, 1 + (i % 100) / 100) // 1..2 ms
  for (let i = 0; i < 100; i++) recordMs(slow, 900 + i) // 900..999 ms
  const a = summarise(fast, { withHdr: true })
  const b = summarise(slow, { withHdr: true })
  const merged = summarise(mergeLatencies([a, b]))
  const mean = (a.p99 + b.p99) / 2
  // 1% of all samples are slow: the merged p99 is the fast shard's top, far from (2 + 999) / 2
  assert.ok(merged.p99 < 3, `merged p99 ${merged.p99}`)
  assert.ok(Math.abs(merged.p99 - mean) > 400, `merged p99 ${merged.p99} vs mean of p99s ${mean}`)
  assert.ok(merged.p999 > 900, `merged p99.9 ${merged.p999}: among the slow ones`)
  assert.equal(merged.count, 10_000)
  assert.equal(merged.max, b.max)
  assert.equal(merged.min, a.min)
})

test('summarise withHdr carries the encoding; without it, none', () => {
  const h = newHistogram()
  recordMs(h, 12.5)
  assert.equal(summarise(h).hdr, undefined)
  const s = summarise(h, { withHdr: true })
  assert.equal(s.hdr, encodeHistogram(h))
  assert.equal(summarise(newHistogram(), { withHdr: true }).hdr, encodeHistogram(newHistogram()))
  // only zeros: min (the least non-zero sample) is 0 after a decode too
  const z = newHistogram()
  recordMs(z, 0)
  assert.equal(summarise(decodeHistogram(encodeHistogram(z))).min, 0)
})

test('a histogram encoded with other settings decodes into ours, values past 10 minutes clamped', () => {
  const wide = hdr.build({
    bitBucketSize: 64,
    autoResize: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2 ** 40,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  })
  wide.recordValueWithCount(1_234, 3)
  wide.recordValueWithCount(700_000_000_000, 2)
  const d = decodeHistogram(encodeHistogram(wide))
  assert.equal(d.totalCount, 5)
  const at = (us: number): number => asJs(d).getCountAtIndex(asJs(d).countsArrayIndex(us))
  assert.equal(at(1_234), 3)
  assert.equal(at(HIGHEST_US), 2)
  assert.ok(d.maxValue <= HIGHEST_US)
  const direct = newHistogram()
  direct.recordValueWithCount(1_234, 3)
  recordMs(direct, 700_000_000)
  recordMs(direct, 700_000_000)
  assertSameCounts(d, direct, 'clamped')
})

test('text that is not an encoded histogram throws', () => {
  assert.throws(() => decodeHistogram('not base64 at all'))
  assert.throws(() => mergeEncoded(['HISTFAAAAB54nJNpmSzMwMDA']))
  assert.throws(
    () => mergeLatencies([{ p50: 1, p90: 1, p99: 1, p999: 1, max: 1, mean: 1, count: 1 }]),
    /no HDR/,
  )
})
