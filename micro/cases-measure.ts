/**
 * The load generator's own cost per delivered update: the receive timestamp, the HDR record, and the
 * whole per-update account (load/delivery.ts) that wraps them, so the suite states its own overhead.
 */
import * as hdr from 'hdr-histogram-js'
import { nowMs } from '../lib/clock.ts'
import { newHistogram, recordMs } from '../lib/latency.ts'
import { mulberry32 } from '../lib/random.ts'
import { Delivery } from '../load/delivery.ts'
import { defineCase, expect, type MicroCaseDef } from './case.ts'

/** Latencies to record, us: spread over 0.2..5 ms so successive records hit different buckets. */
function sampleLatenciesUs(n: number): Float64Array {
  const rand = mulberry32(42)
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = 200 + rand() * 4800
  return out
}

const RING = 4096

export function measureCases(): MicroCaseDef[] {
  const latUs = sampleLatenciesUs(RING)
  const latUsInt = latUs.map(Math.round)
  let i = 0
  const bare = hdr.build({ highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
  const generator = newHistogram()
  const accountHist = newHistogram()
  const delivery = new Delivery(
    0,
    { startMs: Number.NEGATIVE_INFINITY, endMs: Number.POSITIVE_INFINITY },
    accountHist,
  )
  let seq = 0
  const publishedMs = nowMs()

  return [
    defineCase({
      group: 'measure',
      name: 'timestamp: the suite clock (anchor + performance.now())',
      fn: nowMs,
      check: (t) => {
        const wall = Date.now()
        expect(Math.abs(t - wall) < 1000, 'timestamp is epoch ms on the wall clock', t, wall)
        expect(nowMs() >= t, 'timestamp never goes back')
      },
    }),
    defineCase({
      group: 'measure',
      name: 'hdr recordValue',
      before: () => bare.reset(),
      fn: () => {
        bare.recordValue(latUsInt[i++ & (RING - 1)] as number)
        return bare
      },
      check: (h) => {
        expect(h.totalCount === 1, 'hdr recordValue: one value recorded', h.totalCount, 1)
        const v = latUsInt[(i - 1) & (RING - 1)] as number
        expect(
          Math.abs(h.maxValue - v) <= v / 1000 + 1,
          'hdr recordValue: value kept to 3 digits',
          h.maxValue,
          v,
        )
      },
    }),
    defineCase({
      group: 'measure',
      name: 'recordMs (the generator histogram)',
      before: () => generator.reset(),
      fn: () => {
        recordMs(generator, (latUs[i++ & (RING - 1)] as number) / 1000)
        return generator
      },
      check: (h) => {
        expect(h.totalCount === 1, 'recordMs: one value recorded', h.totalCount, 1)
        const v = Math.round(latUs[(i - 1) & (RING - 1)] as number)
        expect(Math.abs(h.maxValue - v) <= v / 1000 + 1, 'recordMs: value in us to 3 digits', h.maxValue, v)
      },
    }),
    defineCase({
      group: 'measure',
      name: 'Delivery.onUpdate (account + record)',
      before: () => {
        delivery.resetCounts()
        accountHist.reset()
      },
      fn: () => {
        delivery.onUpdate(++seq, publishedMs, publishedMs + (latUs[seq & (RING - 1)] as number) / 1000)
        return delivery
      },
      check: (d) => {
        expect(
          d.delivered === 1 && d.maxSeq === seq,
          'Delivery.onUpdate: one update delivered',
          d.delivered,
          1,
        )
        expect(d.duplicates === 0 && d.outOfOrder === 0, 'Delivery.onUpdate: no duplicate, no reorder')
        d.flush()
        expect(accountHist.totalCount === 1, 'Delivery.onUpdate: latency recorded', accountHist.totalCount, 1)
      },
    }),
  ]
}
