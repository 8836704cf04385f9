/**
 * The micro cases' self-checks (micro/case.ts): every shipped case's output is right (checked
 * here without any timing), and a case whose output is wrong fails its check, so a fast wrong case can
 * never be timed, let alone win.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PbError } from '../../lib/errors.ts'
import {
  caseLabel,
  defineCase,
  expect,
  expectBytes,
  GROUPS,
  MicroAssertionError,
  type MicroCaseDef,
} from '../../micro/case.ts'
import { sampleUpdate, tickerUpdates } from '../../micro/fixtures.ts'
import { buildCases } from '../../micro/groups.ts'
import { RUN_DEFAULTS, runCases, verifyCases } from '../../micro/run.ts'
import { sseEvent } from '../../servers/frames.ts'

test("every group's cases pass their checks, and every label is unique", async (t) => {
  const labels: string[] = []
  for (const group of GROUPS) {
    await t.test(group, async () => {
      const cases = await buildCases(group)
      assert.ok(cases.length > 0, `${group}: has cases`)
      for (const c of cases) {
        assert.equal(c.group, group, caseLabel(c))
        assert.doesNotThrow(() => c.verify(), caseLabel(c))
        labels.push(caseLabel(c))
      }
      // the same through the runner's own pre-flight
      assert.doesNotThrow(() => verifyCases(cases))
    })
  }
  assert.equal(new Set(labels).size, labels.length, 'a label names one case in a run')
})

/** A fan-out case checked as micro/cases-serialise.ts checks it. */
function fanOutCase(recipients: number, fn: (out: Buffer[]) => Buffer[]): MicroCaseDef {
  const { json } = sampleUpdate(128)
  const out: Buffer[] = new Array(recipients)
  return defineCase({
    group: 'serialise',
    name: `fan-out ×${recipients}`,
    payloadBytes: 128,
    recipients,
    fn: () => fn(out),
    check: (bufs) => {
      expect(bufs.length === recipients, 'one buffer per recipient', bufs.length, recipients)
      for (const b of [bufs[0], bufs[recipients - 1]]) {
        expect(b !== undefined, 'buffer missing')
        expectBytes(b, json, 'update bytes')
      }
    },
  })
}

test('a fast case that skips the work fails its check', () => {
  const { json } = sampleUpdate(128)
  const right = fanOutCase(100, (out) => {
    for (let r = 0; r < 100; r++) out[r] = json
    return out
  })
  assert.doesNotThrow(() => right.verify())
  // serves the first recipient only: 100 times less work, and wrong
  const lazy = fanOutCase(100, (out) => {
    out[0] = json
    return out
  })
  assert.throws(() => lazy.verify(), {
    name: 'MicroAssertionError',
    code: 'PB_ERR_MICRO_ASSERT',
    message: 'buffer missing',
  })
})

test('a case that builds the wrong bytes fails its check, naming the offset', () => {
  const [u] = tickerUpdates(128, 1)
  assert.ok(u)
  const spec = Buffer.from(`id: ${u.seq}\ndata: ${u.json.toString('latin1')}\n\n`, 'latin1')
  const check = (ev: Buffer) => expectBytes(ev, spec, 'SSE event')
  // the shipped builder passes
  assert.doesNotThrow(() =>
    defineCase({ group: 'sse-event', name: 'ok', fn: () => sseEvent(u.seq, u.json), check }).verify(),
  )
  // one newline short: the event would never be dispatched by a client
  const unterminated = defineCase({
    group: 'sse-event',
    name: 'unterminated',
    fn: () => spec.subarray(0, spec.length - 1),
    check,
  })
  assert.throws(
    () => unterminated.verify(),
    (err: unknown) => {
      assert.ok(err instanceof MicroAssertionError)
      assert.match(
        err.message,
        new RegExp(
          `^SSE event: bytes differ at offset ${spec.length - 1} \\(got ${spec.length - 1} bytes, want ${spec.length}\\)`,
        ),
      )
      return true
    },
  )
  // same length, one byte off
  const wrongId = defineCase({
    group: 'sse-event',
    name: 'wrong id',
    fn: () => Buffer.from(spec.toString('latin1').replace(`id: ${u.seq}`, `id: ${u.seq + 1}`), 'latin1'),
    check,
  })
  assert.throws(() => wrongId.verify(), /SSE event: bytes differ at offset 4 /)
})

test('expect: passes when true, names what, got and want when false', () => {
  assert.doesNotThrow(() => expect(true, 'fine'))
  assert.throws(() => expect(false, 'poll batch: updates', 9, 10), {
    name: 'MicroAssertionError',
    message: 'poll batch: updates: got 9, want 10',
  })
  assert.throws(() => expect(false, 'no detail'), { message: 'no detail' })
})

test('the check runs on a fresh call after `before` puts state back', () => {
  let count = 0
  const c = defineCase({
    group: 'measure',
    name: 'counter',
    before: () => {
      count = 0
    },
    fn: () => ++count,
    check: (n) => expect(n === 1, 'one call after reset', n, 1),
  })
  count = 41
  assert.doesNotThrow(() => c.verify())
  assert.doesNotThrow(() => c.verify(), 'verifiable again: before() resets the state')
})

test('runCases checks every case before timing any: one wrong case stops the run, named', () => {
  const calls = { good: 0, wrong: 0 }
  const good = defineCase({
    group: 'parse',
    name: 'good',
    fn: () => {
      calls.good++
      return 2
    },
    check: (n) => expect(n === 2, 'two', n, 2),
  })
  const wrong = defineCase({
    group: 'parse',
    name: 'wrong',
    fn: () => {
      calls.wrong++
      return 3
    },
    check: (n) => expect(n === 2, 'two', n, 2),
  })
  const opts = { ...RUN_DEFAULTS, timeMs: 1, warmupMs: 0, minSamples: 2 }
  assert.throws(() => runCases([good, wrong], opts), {
    name: 'MicroAssertionError',
    code: 'PB_ERR_MICRO_ASSERT',
    message: 'parse / wrong: two: got 3, want 2',
  })
  assert.deepEqual(calls, { good: 1, wrong: 1 }, 'each fn ran once, for its check; nothing was timed')

  // an op that throws is reported the same way, with its label
  const broken = defineCase({
    group: 'parse',
    name: 'broken',
    fn: (): number => JSON.parse('{'),
    check: () => {},
  })
  assert.throws(
    () => verifyCases([broken]),
    (err: unknown) =>
      err instanceof PbError &&
      err.code === 'PB_ERR_MICRO_ASSERT' &&
      err.message.startsWith('parse / broken: '),
  )

  // the right case alone is timed: figures are positive and consistent
  const [r] = runCases([good], opts)
  assert.ok(r)
  assert.ok(r.opsPerSecond > 0 && r.samples > 0 && r.meanNs > 0)
  assert.ok(calls.good > 1, 'timed after the check')
})
