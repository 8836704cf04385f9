/**
 * The NTP-style clock offset (load/clock-offset.ts): the arithmetic on hand-made instants, and an estimate
 * against a real server with --control on this host, where the true offset is 0.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PbError, PbOptionError } from '../../lib/errors.ts'
import { combineOffsets, estimateOffset, ntpSample, type OffsetEstimate } from '../../load/clock-offset.ts'
import { type ChildServer, startMain } from '../helpers/child-server.ts'

const near = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} != ${b}`)

async function start(t: { after: (fn: () => Promise<void>) => void }, args: string[]): Promise<ChildServer> {
  const s = await startMain(['--port', '0', ...args])
  t.after(() => s.kill())
  return s
}

test('ntpSample: a symmetric path gives the exact offset; an asymmetric one errs by at most half the round trip', () => {
  // server 250 ms ahead; 4 ms each way; the server holds it 1 ms
  const offset = 250
  const t0 = 1_000_000
  const t1 = t0 + 4 + offset
  const t2 = t1 + 1
  const t3 = t2 - offset + 4
  const s = ntpSample(t0, t1, t2, t3)
  near(s.offsetMs, offset, 'offset')
  near(s.roundTripMs, 8, 'round trip')

  // behind by 40 ms, 1 ms there and 9 ms back: the estimate takes the path as 5 and 5, off by 4
  for (const [there, back] of [
    [1, 9],
    [9, 1],
    [0, 10],
    [3, 3.5],
  ] as const) {
    const u0 = 5_000
    const u1 = u0 + there - 40
    const u2 = u1 + 2
    const u3 = u2 + 40 + back
    const a = ntpSample(u0, u1, u2, u3)
    near(a.roundTripMs, there + back, 'round trip')
    near(a.offsetMs, -40 + (there - back) / 2, 'offset')
    assert.ok(Math.abs(a.offsetMs - -40) <= a.roundTripMs / 2 + 1e-9, `${there}/${back}`)
  }
})

test('combineOffsets: the mean, the larger uncertainty plus half the drift; the best round trip; the samples', () => {
  const start: OffsetEstimate = { offsetMs: 10, roundTripMs: 0.6, uncertaintyMs: 0.3, samples: 8 }
  const end: OffsetEstimate = { offsetMs: 12, roundTripMs: 1, uncertaintyMs: 0.5, samples: 7 }
  assert.deepEqual(combineOffsets(start, end), {
    offsetMs: 11,
    uncertaintyMs: 0.5 + 1,
    startOffsetMs: 10,
    endOffsetMs: 12,
    driftMs: 2,
    roundTripMs: 0.6,
    samples: 15,
  })
  // drifting the other way adds as much
  const back = combineOffsets(end, start)
  assert.equal(back.offsetMs, 11)
  assert.equal(back.uncertaintyMs, 1.5)
  assert.equal(back.driftMs, -2)
  // no end (a run cut short): the start alone
  assert.deepEqual(combineOffsets(start), {
    offsetMs: 10,
    uncertaintyMs: 0.3,
    startOffsetMs: 10,
    driftMs: 0,
    roundTripMs: 0.6,
    samples: 8,
  })
})

test('estimateOffset against a local server with --control: |offset| < uncertainty + 1 ms, uncertainty > 0', async (t) => {
  const s = await start(t, ['--transport', 'websocket', '--control'])
  const e = await estimateOffset(s.ready.url)
  assert.equal(e.samples, 8)
  assert.ok(e.uncertaintyMs > 0, JSON.stringify(e))
  assert.equal(e.uncertaintyMs, e.roundTripMs / 2)
  assert.ok(Math.abs(e.offsetMs) < e.uncertaintyMs + 1, JSON.stringify(e))
  // a loopback round trip is well under 50 ms even on a busy machine
  assert.ok(e.roundTripMs < 50, JSON.stringify(e))
  const few = await estimateOffset(s.ready.url, { samples: 2 })
  assert.equal(few.samples, 2)
})

test('estimateOffset: a bad target or sample count is an option error; no control endpoint is said so', async (t) => {
  await assert.rejects(
    estimateOffset('ws://127.0.0.1:1'),
    (e: unknown) => e instanceof PbOptionError && e.field === '--target',
  )
  await assert.rejects(
    estimateOffset('http://127.0.0.1:1', { samples: 0 }),
    (e: unknown) => e instanceof PbOptionError && e.field === 'samples',
  )
  const s = await start(t, ['--transport', 'sse'])
  await assert.rejects(estimateOffset(s.ready.url), (e: unknown) => {
    assert.ok(e instanceof PbError)
    assert.match(e.message, /has no control endpoint: start it with `pushbench serve --control`/)
    return true
  })
})
