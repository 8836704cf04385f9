import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { PbOptionError } from '../../lib/errors.ts'
import { readResults } from '../../lib/results-io.ts'
import type { ResultsFile } from '../../lib/results-schema.ts'
import {
  compareResults,
  DEFAULT_THRESHOLDS,
  parseThreshold,
  resolveThresholds,
} from '../../report/compare.ts'
import { fixture, runCli } from './helpers.ts'

const BASE = fixture('compare-base.json')
const HEAD = fixture('compare-head.json')
const base = readResults(BASE)
const head = readResults(HEAD)
const clone = (f: ResultsFile): ResultsFile => structuredClone(f)

test('the fixture pair exits 1 and names the regressing metrics', () => {
  const r = runCli('compare', [BASE, HEAD])
  assert.equal(r.status, 1, r.stderr)
  assert.match(r.stdout, /quick \/ sse: latency p99 17\.2 ms -> 26\.9 ms \(\+56\.4%, limit \+25%\)/)
  assert.match(r.stdout, /quick \/ websocket: bytes per update 130 B -> 135 B \(\+3\.2%, limit \+1%\)/)
  assert.match(r.stdout, /FAIL: 2 regressions/)
  // noise within the thresholds is shown but not named
  assert.doesNotMatch(r.stdout, /short-poll: latency/)
})

test('identical files exit 0', () => {
  const r = runCli('compare', [BASE, BASE])
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /OK: no regression past the thresholds \(4 transport runs compared\)/)
})

test('raising a threshold or switching it off lets the change through', () => {
  const r = runCli('compare', [BASE, HEAD, '--threshold', 'p99=60', '-t', 'bytes-per-update=off'])
  assert.equal(r.status, 0, r.stdout + r.stderr)
})

test('bad input exits 2 and says what is wrong', (t) => {
  const missing = runCli('compare', ['no/such.json', HEAD])
  assert.equal(missing.status, 2)
  assert.match(missing.stderr, /BASE: cannot read no\/such\.json/)

  const dir = mkdtempSync(join(tmpdir(), 'pb-compare-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const broken = JSON.parse(readFileSync(HEAD, 'utf8'))
  broken.scenarios[0].results[2].latencyMs.p99 = 'slow'
  const invalid = join(dir, 'invalid.json')
  writeFileSync(invalid, JSON.stringify(broken))
  const r = runCli('compare', [BASE, invalid])
  assert.equal(r.status, 2)
  assert.match(r.stderr, /HEAD: .*scenarios\.0\.results\.2\.latencyMs\.p99/)

  const flag = runCli('compare', [BASE, HEAD, '--threshold', 'p99=lots'])
  assert.equal(flag.status, 2)
  assert.match(flag.stderr, /--threshold: p99: percent must be a number/)
  const usage = runCli('compare', [BASE])
  assert.equal(usage.status, 2)
})

test('thresholds: metric=pct, "off", and errors naming --threshold', () => {
  assert.deepEqual(parseThreshold('p99=40'), ['p99', 40])
  assert.deepEqual(parseThreshold('bytes-per-update=0.5%'), ['bytes-per-update', 0.5])
  assert.deepEqual(parseThreshold('missed=off'), ['missed', null])
  assert.throws(
    () => parseThreshold('latency=3'),
    (e: unknown) => e instanceof PbOptionError && e.field === '--threshold',
  )
  assert.throws(() => parseThreshold('p50=-1'), PbOptionError)
  assert.equal(resolveThresholds(['p50=10']).p50, 10)
  assert.equal(resolveThresholds([]).p99, DEFAULT_THRESHOLDS.p99)
})

test('missed: any increase from 0 regresses; delivered regresses when it drops past its threshold', () => {
  const h = clone(base)
  const ws = h.scenarios[0]?.results[3]
  assert.ok(ws && ws.state !== 'errored')
  ws.updates.missed = 1
  ws.updates.delivered -= 1
  let c = compareResults(base, h)
  assert.deepEqual(
    c.regressions.map((r) => `${r.transport} ${r.metric}`),
    ['websocket missed'],
  )
  ws.updates.delivered = Math.round(ws.updates.delivered * 0.9)
  c = compareResults(base, h)
  assert.deepEqual(
    c.regressions.map((r) => `${r.transport} ${r.metric}`),
    ['websocket delivered', 'websocket missed'],
  )
})

test('changes below the noise floor never regress, whatever the percentage', () => {
  const b = clone(base)
  const h = clone(base)
  const [rb, rh] = [b.scenarios[0]?.results[3], h.scenarios[0]?.results[3]]
  assert.ok(rb && rh && rb.state !== 'errored' && rh.state !== 'errored')
  rb.latencyMs.p50 = 0.2
  rh.latencyMs.p50 = 0.28 // +40%, but 80 us: a scheduler wake-up, not a regression
  assert.equal(compareResults(b, h).regressed, false)
  rh.latencyMs.p50 = 0.35
  assert.equal(compareResults(b, h).regressions[0]?.metric, 'p50')
})

test('matching by scenario and transport: missing, errored and new runs are reported', () => {
  const h = clone(base)
  const s = h.scenarios[0]
  assert.ok(s)
  s.results = s.results.filter((r) => r.transport !== 'sse')
  s.results[0] = { state: 'errored', transport: 'short-poll', error: 'server exited with code 1' }
  h.scenarios.push({ ...s, name: 'new-one' })
  const c = compareResults(base, h)
  assert.deepEqual(
    c.regressions.map((r) => `${r.transport}: ${r.text}`),
    ['short-poll: errored in HEAD: server exited with code 1', 'sse: missing in HEAD'],
  )
  assert.deepEqual(
    c.scenarioNotes.map((n) => `${n.scenario}: ${n.text}`),
    ['new-one: new in HEAD (not in BASE): not compared'],
  )
  assert.equal(compareResults(base, h, DEFAULT_THRESHOLDS, { allowMissing: true }).regressions.length, 1)

  const gone = clone(base)
  gone.scenarios = []
  assert.equal(compareResults(base, gone).regressions[0]?.text, 'scenario missing in HEAD')
})

test('differing params and machines are noted, so a reader knows the deltas compare different conditions', () => {
  const h = clone(head)
  const s = h.scenarios[0]
  assert.ok(s)
  s.params = { ...s.params, clients: 500 }
  h.env = { ...h.env, cpuModel: 'Intel Xeon' }
  const c = compareResults(base, h)
  assert.match(c.scenarioNotes[0]?.text ?? '', /params differ \(clients 1000 -> 500\)/)
  assert.match(c.envNotes[0] ?? '', /different machines/)
})
