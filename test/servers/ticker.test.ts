import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import { PARAM_RANGES } from '../../lib/params.ts'
import { Ticker } from '../../servers/ticker.ts'
import { MIN_PAYLOAD_BYTES } from '../../servers/update.ts'

const opts = { seed: 7, symbols: 50, tickHz: 10, updatesPerTick: 3, payloadBytes: 128, ringSize: 16 }

test('same seed and params give the same updates byte for byte', () => {
  const a = new Ticker(opts)
  const b = new Ticker(opts)
  for (let i = 0; i < 20; i++) {
    const ua = a.publishTick(1_700_000_000_000 + i * 100.125)
    const ub = b.publishTick(1_700_000_000_000 + i * 100.125)
    assert.deepEqual(
      ua.map((u) => u.json.toString()),
      ub.map((u) => u.json.toString()),
    )
  }
  const c = new Ticker({ ...opts, seed: 8 })
  assert.notEqual(c.publishTick(1)[0]?.json.toString(), new Ticker(opts).publishTick(1)[0]?.json.toString())
})

test('every update is exactly payloadBytes and seq is contiguous', () => {
  for (const payloadBytes of [MIN_PAYLOAD_BYTES, 128, 1024, 16_384]) {
    const t = new Ticker({ ...opts, payloadBytes })
    let expected = 1
    for (let i = 0; i < 50; i++) {
      for (const u of t.publishTick()) {
        assert.equal(u.json.length, payloadBytes)
        assert.equal(u.seq, expected++)
        const parsed = JSON.parse(u.json.toString())
        assert.equal(parsed.seq, u.seq)
        assert.equal(parsed.ts, Number(u.ts.toFixed(3)))
      }
    }
  }
})

test('the smallest payload is the one the params allow', () => {
  assert.equal(PARAM_RANGES.payloadBytes.min, MIN_PAYLOAD_BYTES)
  assert.throws(() => new Ticker({ ...opts, payloadBytes: MIN_PAYLOAD_BYTES - 1 }), /payloadBytes.*76/)
})

test('ring buffer returns everything after seq, bounded by its size', () => {
  const t = new Ticker(opts) // 3 updates a tick, ring of 16
  for (let i = 0; i < 10; i++) t.publishTick() // seqs 1..30
  assert.deepEqual(
    t.since(0, 27).map((u) => u.seq),
    [28, 29, 30],
  )
  assert.deepEqual(t.since(0, 30), [])
  assert.deepEqual(t.since(0, 99), [])
  const all = t.since(0, 0).map((u) => u.seq)
  assert.equal(all.length, 16)
  assert.equal(all[0], 15)
  assert.equal(t.oldestSeq, 15)
})

test('publishedBetween counts updates by publish instant, per stream (the ticker has one)', () => {
  const t = new Ticker(opts)
  for (let i = 0; i < 10; i++) t.publishTick(1000 + i * 100)
  assert.deepEqual(t.publishedBetween(1000, 1500), [15])
  assert.deepEqual(t.publishedBetween(1500, 99_999), [15])
  assert.deepEqual(t.publishedBetween(0, 1000), [0])
})

test('the same seed gives the same updates, byte for byte, as before the registry and feed refactor', () => {
  // the digest was taken with the ticker of commit d8e5971 (before lib/transports.ts and servers/feed.ts)
  const t = new Ticker({
    seed: 20_261_202,
    symbols: 50,
    tickHz: 10,
    updatesPerTick: 7,
    payloadBytes: 160,
    ringSize: 0,
  })
  const h = createHash('sha256')
  for (let i = 0; i < 500; i++)
    for (const u of t.publishTick(1_764_000_000_000 + i * 100.125)) h.update(u.json)
  assert.equal(h.digest('hex'), '364f9196701aaa30fa47f4f5936d2c69469aada9104fee2e9c4efb070e0ebcae')
})

test("a ticker on an earlier one's epoch regenerates its updates and continues its sequence", () => {
  const epochMs = 1_700_000_000_000
  // the first server published ticks 0..9 live (their instants are its own), then died
  const first = new Ticker({ ...opts, epochMs })
  const live = Array.from({ length: 10 }, (_, k) => first.publishTick(epochMs + k * 100 + 3)).flat()
  // the second starts 1.55 s after the epoch: ticks 0..15 are due, made unpublished
  const second = new Ticker({ ...opts, epochMs })
  const published: number[] = []
  second.onPublish((_, m) => published.push(...m.map((u) => u.seq)))
  assert.equal(second.catchUp(epochMs + 1550), 16)
  assert.deepEqual(published, [], 'caught-up ticks are not published')
  assert.equal(second.lastSeq, 48)
  assert.equal(second.catchUp(epochMs + 1599), 0, 'nothing more is due before tick 16')
  // the ring holds the newest 16 updates; those the first one published match it but for the instant
  const held = second.since(0, 0)
  assert.deepEqual(
    held.map((u) => u.seq),
    Array.from({ length: 16 }, (_, i) => 33 + i),
  )
  const strip = (b: Buffer) => b.toString().replace(/"ts":[\d.]+/, '')
  const third = new Ticker({ ...opts, epochMs })
  third.catchUp(epochMs + 999)
  assert.equal(third.lastSeq, 30)
  assert.deepEqual(
    third.since(0, 14).map((u) => strip(u.json)),
    live.slice(14).map((u) => strip(u.json)),
  )
  // a rate step ends the alignment: the epoch no longer says where ticks fall
  second.setRate(20, 3)
  assert.equal(second.catchUp(epochMs + 60_000), 0)
})
