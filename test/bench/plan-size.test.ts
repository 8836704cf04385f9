/**
 * bench/plan-size.ts: a config's runs counted from its list lengths before anything is expanded, and a
 * config above the bounds refused naming the swept fields and the count; the shipped profiles within.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadConfig, PROFILES, planScenarios, profilePath } from '../../bench/config.ts'
import { checkPlanSize, PLAN_LIMITS } from '../../bench/plan-size.ts'
import { PbOptionError } from '../../lib/errors.ts'

const list = (n: number, from = 1) => Array.from({ length: n }, (_, i) => from + i)

test('four 100-value lists: refused at once, naming the lists and 10^8 combinations x 4 transports', () => {
  const config = {
    scenarios: [
      {
        name: 'huge',
        params: { clients: list(100), tickHz: list(100), payloadBytes: list(100, 100), symbols: list(100) },
      },
    ],
  }
  const t0 = performance.now()
  assert.throws(
    () => planScenarios(config, 'huge.json'),
    (err: unknown) => {
      assert.ok(err instanceof PbOptionError)
      assert.equal(err.field, 'huge.json: scenarios[0].params clients, tickHz, payloadBytes, symbols')
      assert.match(err.message, /plans 400,000,000 runs, above the limit of 10,000/)
      assert.match(
        err.message,
        /clients \(100 values\) x tickHz \(100 values\) x payloadBytes \(100 values\) x symbols \(100 values\)/,
      )
      return true
    },
  )
  // counted, not expanded: well under a second ("ends at all", not a speed target)
  assert.ok(performance.now() - t0 < 5000)
})

test('the least duration is bounded too: 200 one-hour runs are more than a week', () => {
  const config = {
    scenarios: [{ name: 'soak', transports: ['sse'], params: { durationS: 3600, seed: list(200) } }],
  }
  assert.throws(
    () => checkPlanSize(config, 'soak.json'),
    /params seed: plans at least 8 days of runs, above the limit of 7 days/,
  )
})

test('runs count transports, baselines, capacity searches and the autocannon step; overrides narrow them', () => {
  const config = {
    scenarios: [
      { name: 'a', params: { clients: [10, 20, 30] } },
      {
        name: 'b',
        baseline: true,
        transports: ['sse', 'websocket'],
        autocannon: { connections: 10, durationS: 5 },
      },
    ],
  }
  assert.equal(checkPlanSize(config, 'x').runs, 3 * 4 + (2 * 2 + 2))
  assert.equal(checkPlanSize(config, 'x', { transports: ['sse'] }).runs, 3 + (2 + 2))
  assert.equal(checkPlanSize(config, 'x', { scenario: 'a' }).runs, 12)
})

test('every shipped profile is within the bounds, with room', () => {
  for (const p of PROFILES) {
    const size = checkPlanSize(loadConfig(profilePath(p)), p)
    assert.ok(size.runs <= PLAN_LIMITS.runs / 10, `${p}: ${size.runs} runs`)
    assert.ok(size.leastSeconds <= PLAN_LIMITS.seconds / 10, `${p}: ${size.leastSeconds} s`)
  }
})
