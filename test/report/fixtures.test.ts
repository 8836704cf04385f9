import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readResults } from '../../lib/results-io.ts'
import { isCompleted } from '../../lib/results-schema.ts'
import { findSweeps } from '../../report/chart-configs.ts'
import { fixture } from './helpers.ts'

const NAMES = ['results-quick.json', 'results-sweep.json', 'compare-base.json', 'compare-head.json']

test('every reporter fixture validates against the results schema', () => {
  for (const name of NAMES) assert.doesNotThrow(() => readResults(fixture(name)), name)
})

test('the quick fixture has the four transports, one saturated generator, capacity and autocannon', () => {
  const f = readResults(fixture('results-quick.json'))
  assert.equal(f.scenarios.length, 1)
  const s = f.scenarios[0]
  assert.ok(s)
  assert.deepEqual(
    s.results.map((r) => r.transport),
    ['short-poll', 'long-poll', 'sse', 'websocket'],
  )
  assert.equal(s.results.filter((r) => isCompleted(r) && r.generator.saturated).length, 1)
  assert.equal(s.capacity?.length, 4)
  assert.ok(s.autocannon)
})

test('the sweep fixture sweeps clients and nothing else, with an errored run in it', () => {
  const f = readResults(fixture('results-sweep.json'))
  const sweeps = findSweeps(f)
  assert.equal(sweeps.length, 1)
  assert.equal(sweeps[0]?.param, 'clients')
  assert.deepEqual(
    sweeps[0]?.scenarios.map((s) => s.params.clients),
    [10, 100, 1000, 5000],
  )
  assert.ok(f.scenarios.some((s) => s.results.some((r) => !isCompleted(r))))
})
