/**
 * Scenarios as data (scripts/bench/config.ts): the shipped profiles load and validate, list-valued
 * params expand into one scenario per combination, overrides narrow the plan, and every bad value is
 * reported with the file and the field where it is written.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import * as v from 'valibot'
import {
  type ConfigInput,
  loadConfig,
  type PlannedScenario,
  PROFILES,
  plannedSeconds,
  planScenarios,
  profilePath,
} from '../../bench/config.ts'
import { PbOptionError } from '../../lib/errors.ts'
import { DEFAULT_PARAMS } from '../../lib/params.ts'
import { ParamsSchema } from '../../lib/results-schema.ts'
import { defaultTransports } from '../../lib/transports.ts'
import { BROWSER_MAX_CLIENTS } from '../../load/chromium.ts'

/** Every planned scenario fits the results contract and has something to run. */
function assertRunnable(plan: PlannedScenario[], source: string): void {
  assert.ok(plan.length > 0, `${source}: nothing planned`)
  const names = plan.map((s) => s.name)
  assert.equal(new Set(names).size, names.length, `${source}: scenario names are unique: ${names.join(', ')}`)
  for (const s of plan) {
    const r = v.safeParse(ParamsSchema, s.params)
    assert.ok(r.success, `${source}: ${s.name}: params fit the results schema`)
    assert.ok(s.transports.length > 0 || s.autocannon !== undefined, `${source}: ${s.name} runs something`)
    assert.ok(plannedSeconds(s) > s.params.durationS, `${source}: ${s.name}: planned time covers the window`)
  }
}

/** Invokes `fn` and returns the PbOptionError it throws. */
function optionError(fn: () => unknown): PbOptionError {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof PbOptionError, `a PbOptionError, got ${String(err)}`)
    return err
  }
  assert.fail('no error thrown')
}

test('every shipped profile loads, validates and plans runnable scenarios', () => {
  assert.deepEqual([...PROFILES], ['quick', 'ci', 'full', 'browser', 'scale', 'faults'])
  for (const p of PROFILES) {
    const config = loadConfig(profilePath(p), '--profile')
    assert.ok(config.description, `${p}: has a description`)
    assertRunnable(planScenarios(config, `profile ${p}`), p)
  }
})

test('quick and ci: one scenario of the four transports with the poll endpoint ceiling', () => {
  for (const p of ['quick', 'ci'] as const) {
    const plan = planScenarios(loadConfig(profilePath(p)), `profile ${p}`)
    assert.equal(plan.length, 1, p)
    const [s] = plan
    assert.ok(s)
    assert.deepEqual(s.transports, defaultTransports(), p)
    assert.ok(s.autocannon, `${p}: autocannon`)
    assert.equal(s.params.seed, 1, `${p}: a fixed seed`)
  }
  const [quick] = planScenarios(loadConfig(profilePath('quick')), 'quick')
  assert.equal(quick?.params.clients, 1000)
  const [ci] = planScenarios(loadConfig(profilePath('ci')), 'ci')
  assert.equal(ci?.params.clients, 100)
  assert.deepEqual(ci?.capacity?.transports, ['long-poll', 'sse', 'websocket'])
})

test('browser: the four transports at a load pages of one Chromium hold, no capacity search', () => {
  const plan = planScenarios(loadConfig(profilePath('browser')), 'browser')
  assert.equal(plan.length, 1)
  const [s] = plan
  assert.ok(s)
  assert.equal(s.name, 'ticker')
  assert.deepEqual(s.transports, defaultTransports())
  assert.ok(s.params.clients <= BROWSER_MAX_CLIENTS)
  assert.equal(s.capacity, undefined)
  assert.equal(s.autocannon, undefined)
})

test("full: each scenario's list-valued params expand into one scenario per combination, in order", () => {
  // the expected plan is worked out from the raw JSON here, independently of planScenarios
  const raw = JSON.parse(readFileSync(profilePath('full'), 'utf8')) as {
    defaults?: Record<string, unknown>
    scenarios: { name: string; transports?: string[]; params?: Record<string, unknown> }[]
  }
  const plan = planScenarios(loadConfig(profilePath('full')), 'profile full')
  assertRunnable(plan, 'full')
  let expected = 0
  for (const s of raw.scenarios) {
    const merged: Record<string, unknown> = { ...raw.defaults, ...s.params }
    const lists = Object.entries(merged).filter(([, val]) => Array.isArray(val)) as [string, unknown[]][]
    const n = lists.reduce((k, [, val]) => k * val.length, 1)
    expected += n
    const mine = plan.filter((p) => p.group === s.name)
    assert.equal(mine.length, n, `${s.name}: ${n} scenario(s)`)
    for (const p of mine) assert.deepEqual(p.transports, s.transports ?? defaultTransports(), s.name)
    if (lists.length === 1) {
      const [key, values] = lists[0] as [string, unknown[]]
      assert.deepEqual(
        mine.map((p) => p.params[key as keyof typeof p.params]),
        values,
        `${s.name}: ${key} takes each listed value in order`,
      )
      assert.deepEqual(
        mine.map((p) => p.name),
        values.map((val) => `${s.name} ${key}=${String(val)}`),
      )
    }
    // what is not swept is the same in every scenario of the group
    for (const [key, val] of Object.entries(merged)) {
      if (Array.isArray(val)) continue
      for (const p of mine) assert.equal(p.params[key as keyof typeof p.params], val, `${p.name}: ${key}`)
    }
  }
  assert.equal(plan.length, expected)
  assert.ok(plan.length > raw.scenarios.length, 'the full profile sweeps')
  assert.ok(
    plan.some((p) => p.capacity && p.baseline),
    'the full profile has a capacity search against the baselines',
  )
})

test('several lists in one scenario make every combination', () => {
  const config: ConfigInput = {
    defaults: { clients: [10, 100] },
    scenarios: [{ name: 'grid', params: { writePolicy: ['per-tick', 'per-update'], tickHz: 5 } }],
  }
  const plan = planScenarios(config, 'grid.json')
  assert.deepEqual(
    plan.map((p) => [p.params.clients, p.params.writePolicy]),
    [
      [10, 'per-tick'],
      [10, 'per-update'],
      [100, 'per-tick'],
      [100, 'per-update'],
    ],
  )
  assert.deepEqual(
    plan.map((p) => p.name),
    [
      'grid clients=10 writePolicy=per-tick',
      'grid clients=10 writePolicy=per-update',
      'grid clients=100 writePolicy=per-tick',
      'grid clients=100 writePolicy=per-update',
    ],
  )
  for (const p of plan) {
    assert.equal(p.params.tickHz, 5)
    assert.equal(p.params.payloadBytes, DEFAULT_PARAMS.payloadBytes, 'unset params take the defaults')
  }
})

test('overrides: --transports narrows, --seed applies to every scenario, --scenario picks one', () => {
  const full = loadConfig(profilePath('full'))
  const sse = planScenarios(full, 'full', { transports: ['sse'] })
  assert.ok(sse.every((s) => s.transports.length === 1 && s.transports[0] === 'sse'))
  assert.ok(
    sse.every((s) => s.autocannon === undefined),
    'autocannon measures the poll endpoint: not without short-poll',
  )
  assert.ok(!sse.some((s) => s.group === 'poll-interval'), 'a short-poll-only scenario drops out')
  assert.ok(sse.every((s) => s.capacity === undefined || s.capacity.transports.join() === 'sse'))

  const seeded = planScenarios(full, 'full', { seed: 42 })
  assert.ok(seeded.every((s) => s.params.seed === 42))

  const one = planScenarios(full, 'full', { scenario: 'payload' })
  assert.deepEqual(new Set(one.map((s) => s.group)), new Set(['payload']))

  const e = optionError(() => planScenarios(full, 'profile full', { scenario: 'nope' }))
  assert.equal(e.field, '--scenario')
  assert.match(e.message, /there are: clients, update-rate/)
})

test('a scenario left with nothing to run by --transports is dropped, not planned empty', () => {
  const config: ConfigInput = {
    scenarios: [
      { name: 'polls', transports: ['short-poll'], autocannon: { connections: 2, durationS: 1 } },
      { name: 'push', transports: ['sse'] },
    ],
  }
  assert.deepEqual(
    planScenarios(config, 'c.json', { transports: ['sse'] }).map((s) => s.name),
    ['push'],
  )
  // autocannon alone is something to run when short-poll is chosen
  const polls = planScenarios(config, 'c.json', { transports: ['short-poll'] })
  assert.deepEqual(
    polls.map((s) => [s.name, s.transports, s.autocannon?.connections]),
    [['polls', ['short-poll'], 2]],
  )
  const e = optionError(() => planScenarios(config, 'c.json', { transports: ['websocket'] }))
  assert.equal(e.field, '--transports')
  assert.match(e.message, /nothing to run in c\.json/)
})

test('a bad value is reported where the file sets it: scenario params, defaults, sweep, transports', () => {
  const inParams = optionError(() =>
    planScenarios({ scenarios: [{ name: 'a', params: { clients: 0 } }] }, 'my.json'),
  )
  assert.equal(inParams.field, 'my.json: scenarios[0].params.clients')
  assert.match(inParams.message, /must be an integer from 1 to 100000 clients, got 0/)

  const inDefaults = optionError(() =>
    planScenarios({ defaults: { clients: 0 }, scenarios: [{ name: 'a' }] }, 'my.json'),
  )
  assert.equal(inDefaults.field, 'my.json: defaults.clients')

  const overridden = planScenarios(
    { defaults: { tickHz: 5 }, scenarios: [{ name: 'a', params: { tickHz: 20 } }] },
    'my.json',
  )
  assert.equal(overridden[0]?.params.tickHz, 20, "a scenario's params win over the defaults")

  const inSweep = optionError(() =>
    planScenarios({ scenarios: [{ name: 'ok' }, { name: 'b', params: { durationS: [1, 0.1] } }] }, 'my.json'),
  )
  assert.equal(inSweep.field, 'my.json: scenarios[1].params.durationS')
  assert.match(inSweep.message, /from 0\.5 to 3600 s, got 0\.1/)

  const policy = optionError(() =>
    planScenarios({ scenarios: [{ name: 'a', params: { writePolicy: 'lazy' } }] }, 'my.json'),
  )
  assert.equal(policy.field, 'my.json: scenarios[0].params.writePolicy')
  assert.match(policy.message, /one of per-tick, per-update, got "lazy"/)

  const transport = optionError(() =>
    planScenarios({ scenarios: [{ name: 'a', transports: ['sse', 'smoke-signals'] }] }, 'my.json'),
  )
  assert.equal(transport.field, 'my.json: scenarios[0].transports[1]')

  const capacity = optionError(() =>
    planScenarios({ scenarios: [{ name: 'a', capacity: { clients: 200_000 } }] }, 'my.json'),
  )
  assert.equal(capacity.field, 'my.json: scenarios[0].capacity.clients')
})

test('workload, server intervals, tls and lifecycle: planned as written, a bad one named where it is', () => {
  const [idle, life] = planScenarios(
    {
      scenarios: [
        { name: 'idle', workload: 'idle', server: { heartbeatMs: 5000, pingIntervalMs: 4000 } },
        { name: 'life', tls: true, params: { rttMs: 50 }, lifecycle: { connections: 20, wire: true } },
      ],
    },
    'my.json',
  )
  assert.equal(idle?.workload, 'idle')
  assert.deepEqual(idle?.serverArgs, ['--heartbeat-ms', '5000', '--ping-interval-ms', '4000'])
  assert.equal(idle?.tls, false)
  assert.equal(life?.workload, 'ticker')
  assert.equal(life?.tls, true)
  assert.equal(life?.params.rttMs, 50)
  assert.deepEqual(life?.lifecycle, { connections: 20, pollsPerConnection: 10, wire: true })

  const workload = optionError(() =>
    planScenarios({ scenarios: [{ name: 'a', workload: 'gossip' }] }, 'my.json'),
  )
  assert.equal(workload.field, 'my.json: scenarios[0].workload')
  assert.match(workload.message, /one of ticker, idle/)
  const interval = optionError(() =>
    planScenarios({ scenarios: [{ name: 'a', server: { longPollTimeoutMs: 1 } }] }, 'my.json'),
  )
  assert.equal(interval.field, 'my.json: scenarios[0].server.longPollTimeoutMs')
  const rtt = optionError(() =>
    planScenarios({ scenarios: [{ name: 'a', params: { rttMs: -5 } }] }, 'my.json'),
  )
  assert.equal(rtt.field, 'my.json: scenarios[0].params.rttMs')
})
