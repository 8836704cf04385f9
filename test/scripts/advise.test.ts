/**
 * `pushbench advise` as users run it: bad flags exit 2 naming the flag and what it allows, a results file
 * gives a pick (text and JSON), and no evidence with --no-run exits 1 without measuring. The focused run
 * itself takes about 40 s and is not run here; its plan (the clamps) is checked without running it.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FOCUSED_LIMITS, focusedPlan } from '../../bench/advise-run.ts'
import { planScenarios } from '../../bench/config.ts'
import { fixture, runCli } from '../report/helpers.ts'

const QUESTION = ['--clients', '1000', '--rate', '10', '--payload', '128']

test('advise: a bad flag exits 2 naming the flag and its allowed range', () => {
  const cases: [string[], RegExp][] = [
    [['--clients', '0', '--rate', '10', '--payload', '128'], /--clients: must be an integer from 1 to 10000/],
    [
      ['--clients', '100', '--rate', '0', '--payload', '128'],
      /--rate: must be a number from 0\.1 to 10000000/,
    ],
    [
      ['--clients', '100', '--rate', '10', '--payload', '10'],
      /--payload: must be an integer from 76 to 1048576/,
    ],
    [[...QUESTION, '--rtt', '-1'], /--rtt: must be a number from 0 to 10000 ms/],
    [[...QUESTION, '--poll-interval-ms', '5'], /--poll-interval-ms: must be an integer from 10 to 60000/],
    [['--clients', 'many', '--rate', '10', '--payload', '128'], /'--clients <n>' argument 'many' is invalid/],
    [['--rate', '10', '--payload', '128'], /required option '--clients <n>'/],
  ]
  for (const [args, re] of cases) {
    const r = runCli('advise', [...args, '--no-run'])
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, re)
  }
})

test('advise --from a results file prints the pick, the reasons and the table', () => {
  const r = runCli('advise', [...QUESTION, '--from', fixture('results-quick.json')])
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /^Pick: (short polling|long polling|SSE|WebSocket)$/m)
  for (const reason of ['freshness', 'server CPU per update', 'bytes per update', 'connections per GiB'])
    assert.match(r.stdout, new RegExp(`^  - ${reason}`, 'm'), reason)
  assert.match(r.stdout, /^transport +nearest row +distance/m)
  assert.doesNotMatch(r.stderr, /focused run|running the four/)
})

test('advise --json: the answer as JSON, with the files it came from', () => {
  const path = fixture('results-quick.json')
  const r = runCli('advise', [...QUESTION, '--from', path, '--json', '--rtt', '20'])
  assert.equal(r.status, 0, r.stderr)
  const a = JSON.parse(r.stdout)
  assert.equal(typeof a.pick, 'string')
  assert.deepEqual(a.question, {
    clients: 1000,
    ratePerS: 10,
    payloadBytes: 128,
    pollIntervalMs: 250,
    rttMs: 20,
  })
  assert.deepEqual(a.sources, [path])
  assert.equal(a.transports.length >= 4, true)
})

test('advise with no evidence and --no-run: exit 1, nothing measured', () => {
  const r = runCli('advise', [...QUESTION, '--from', '/nonexistent-pushbench-advise', '--no-run'])
  assert.equal(r.status, 1, r.stderr)
  assert.match(r.stderr, /no such file or folder/)
  assert.match(r.stderr, /no results file, and --no-run/)
})

test('advise --from an invalid results file exits 2 naming --from', () => {
  const r = runCli('advise', [...QUESTION, '--from', fixture('plugins/ndjson-transport.ts'), '--no-run'])
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /--from: .*is not JSON/)
})

test('the focused run is clamped to what this machine runs, and is a valid bench config', () => {
  const big = focusedPlan({ clients: 10_000, ratePerS: 1000, payloadBytes: 1_048_576, pollIntervalMs: 10 })
  assert.equal(big.params.clients, FOCUSED_LIMITS.clients)
  // 1,000 clients: 300 updates/s at most, in 10 ticks/s (10,000 writes a second)
  assert.equal(big.params.tickHz * big.params.updatesPerTick, 300)
  assert.equal(big.params.tickHz, 10)
  // 256 MiB/s over 300,000 updates/s
  assert.equal(big.params.payloadBytes, Math.floor((256 * 2 ** 20) / 300_000))
  assert.equal(big.params.pollIntervalMs, 100)
  assert.equal(big.clamped.length, 5, big.clamped.join('; '))
  const small = focusedPlan({ clients: 200, ratePerS: 20, payloadBytes: 128, pollIntervalMs: 250 })
  assert.deepEqual(small.params, {
    clients: 200,
    tickHz: 20,
    updatesPerTick: 1,
    payloadBytes: 128,
    pollIntervalMs: 250,
  })
  assert.deepEqual(small.clamped, [])
  for (const plan of [big, small]) {
    const [s] = planScenarios(plan.config, 'advise')
    assert.deepEqual(s?.transports, ['short-poll', 'long-poll', 'sse', 'websocket'])
    assert.equal(s?.params.durationS, 3)
    assert.equal(s?.params.warmupS, 1)
  }
})
