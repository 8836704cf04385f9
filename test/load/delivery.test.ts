/** Per-client, per-stream delivery accounting (load/delivery.ts), by the publish instant of each update. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { newHistogram } from '../../lib/latency.ts'
import { Delivery, type Window } from '../../load/delivery.ts'

const setup = (window: Window = { startMs: 1000, endMs: 2000 }) => {
  const latency = newHistogram()
  return { latency, d: new Delivery(3, window, latency) }
}

test('counts in-window updates once and records their latency', () => {
  const { d, latency } = setup()
  d.onUpdate(1, 900, 905) // before the window: moves the position only
  d.onUpdate(2, 1000, 1002.5)
  d.onUpdate(3, 1500, 1501)
  d.onUpdate(4, 2000, 2001) // at the end: outside [start, end)
  d.flush()
  assert.equal(d.stream, 3)
  assert.equal(d.delivered, 2)
  assert.equal(latency.totalCount, 2)
  assert.equal(latency.maxValue, 2500) // 2.5 ms in us
  assert.equal(d.maxSeq, 4)
  assert.equal(d.maxTs, 2000)
})

test('tells duplicates from reordering: a gap filled later is out of order, a seq seen twice a duplicate', () => {
  const { d } = setup()
  d.onUpdate(1, 1100, 1101)
  d.onUpdate(3, 1300, 1301) // 2 is a gap
  d.onUpdate(2, 1200, 1302) // fills it: out of order, delivered
  d.onUpdate(3, 1300, 1303) // again: duplicate, not delivered
  assert.deepEqual([d.delivered, d.outOfOrder, d.duplicates], [3, 1, 1])
})

test('a duplicate or reordering outside the window is not counted against it', () => {
  const { d } = setup()
  d.onUpdate(2, 500, 501)
  d.onUpdate(1, 400, 502)
  d.onUpdate(2, 500, 503)
  assert.deepEqual([d.delivered, d.outOfOrder, d.duplicates], [0, 0, 0])
})

test('resetCounts starts the next window clean and keeps the position in the stream', () => {
  const window = { startMs: 1000, endMs: 2000 }
  const { d } = setup(window)
  d.onUpdate(1, 1100, 1101)
  d.onUpdate(1, 1100, 1102)
  d.resetCounts()
  window.startMs = 2000
  window.endMs = 3000
  d.onUpdate(2, 2100, 2101)
  d.onUpdate(1, 1100, 2102) // old and already seen: still a duplicate, but of the old window
  assert.deepEqual([d.delivered, d.duplicates, d.maxSeq], [1, 0, 2])
})

test('a run of equal latencies is recorded once with its count: the same histogram as one by one', () => {
  const window = { startMs: 0, endMs: 1e9 }
  const batched = newHistogram()
  const single = newHistogram()
  const d = new Delivery(0, window, batched)
  let seq = 0
  for (let tick = 0; tick < 50; tick++) {
    const ts = 1000 + tick * 100.125
    const now = ts + 3.25 + (tick % 7) * 0.113 // one socket read per tick: the same receive instant
    for (let k = 0; k < 60; k++) {
      d.onUpdate(++seq, ts, now)
      single.recordValue(Math.round((now - ts) * 1000))
    }
  }
  d.flush()
  assert.equal(batched.totalCount, 3000)
  assert.equal(batched.totalCount, single.totalCount)
  for (const p of [0, 50, 90, 99, 99.9, 100])
    assert.equal(batched.getValueAtPercentile(p), single.getValueAtPercentile(p))
  assert.equal(batched.mean, single.mean)
})

test('a gap signal counts its seqs as lost: never waited for, never out of order, whichever comes first', () => {
  // the signal before the replay (the Node clients)
  const a = setup().d
  a.onUpdate(2, 1100, 1101)
  a.onGap(2, 13)
  a.onUpdate(13, 1200, 1201)
  a.onUpdate(14, 1200, 1201)
  assert.deepEqual(
    [a.gapSignals, a.gapSeqs, a.maxSeq, a.delivered, a.outOfOrder, a.duplicates],
    [1, 10, 14, 3, 0, 0],
  )
  // the replay before the signal (a page hands updates and events over apart): the seqs it left open close
  const b = setup().d
  b.onUpdate(2, 1100, 1101)
  b.onUpdate(13, 1200, 1201)
  b.onGap(2, 13)
  b.onUpdate(5, 1150, 1202) // a late arrival of a seq the server said was lost: a duplicate, not out of order
  assert.deepEqual([b.gapSignals, b.gapSeqs, b.maxSeq, b.delivered, b.outOfOrder], [1, 10, 13, 2, 0])
  // counts are the window's
  b.resetCounts()
  assert.deepEqual([b.gapSignals, b.gapSeqs, b.resumeRefused], [0, 0, 0])
})

test('a refused resume starts the client afresh: the next seq is a new start, not a duplicate', () => {
  const { d } = setup()
  d.onUpdate(50, 1100, 1101)
  d.onUpdate(52, 1100, 1101) // 51 open
  d.onResumeRefused()
  d.onUpdate(3, 1200, 1201)
  d.onUpdate(4, 1300, 1301)
  assert.deepEqual([d.resumeRefused, d.maxSeq, d.delivered, d.duplicates, d.outOfOrder], [1, 4, 4, 0, 0])
})
