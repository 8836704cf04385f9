import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { readResults } from '../../lib/results-io.ts'
import { type CompletedResult, isCompleted, type Params } from '../../lib/results-schema.ts'
import { CHART_METRICS } from '../../report/chart-configs.ts'
import {
  COMPARE_METRICS,
  compareResults,
  DEFAULT_THRESHOLDS,
  formatComparison,
} from '../../report/compare.ts'
import { CATALOGUE, METRICS, type Metric } from '../../report/metrics.ts'
import { buildSummaryTable, SUMMARY_METRICS } from '../../report/summary-table.ts'
import { fixture, ROOT } from './helpers.ts'

const NAMES = ['results-quick.json', 'results-sweep.json', 'compare-base.json', 'compare-head.json']
const files = NAMES.map((n) => ({ name: n, file: readResults(fixture(n)) }))

/** Every completed result of the fixtures, with its scenario's params and where it came from. */
const completed: { at: string; r: CompletedResult; p: Params }[] = files.flatMap(({ name, file }) =>
  file.scenarios.flatMap((s) =>
    s.results.filter(isCompleted).map((r) => ({ at: `${name} ${s.name} ${r.transport}`, r, p: s.params })),
  ),
)

const metrics: readonly Metric[] = CATALOGUE

/** What a formatted value ends with, per unit (formatMs goes to us under 1 ms, formatBytes scales). */
const UNIT_PATTERN: Record<string, RegExp> = {
  ms: /^[\d,.]+ (ms|us)$/,
  us: /^[\d,.]+ us$/,
  B: /^[\d,.]+ (B|KiB|MiB|GiB)$/,
  '%': /^[\d,.]+%$/,
  'updates/s': /^[\d,]+ updates\/s$/,
  '': /^[\d,]+$/,
  x: /^[\d,.]+x$/,
}

test('every metric the summary table, compare and the charts use is in the catalogue', () => {
  const ids = new Set(metrics.map((m) => m.id))
  assert.equal(ids.size, metrics.length, 'ids are unique')
  for (const m of metrics) {
    assert.match(m.id, /^[a-z0-9]+(-[a-z0-9]+)*$/, `${m.id}: kebab-case`)
    assert.equal((METRICS as Record<string, Metric>)[m.id], m, `METRICS.${m.id}`)
  }
  assert.deepEqual(Object.keys(METRICS), [...ids])
  for (const [who, used] of [
    ['summary', SUMMARY_METRICS],
    ['compare', COMPARE_METRICS],
    ['charts', CHART_METRICS],
  ] as const) {
    assert.ok(used.length > 0, who)
    for (const id of used) assert.ok(ids.has(id), `${who} uses ${id}, not in the catalogue`)
  }
  // the summary's columns are the catalogue's headers and docs, in the summary's order
  const s = files[0]?.file.scenarios[0]
  assert.ok(s)
  assert.deepEqual(
    buildSummaryTable(s)
      .columns.slice(1, -1)
      .map((c) => [c.key, c.header, c.title]),
    SUMMARY_METRICS.map((id) => [id, METRICS[id].header, METRICS[id].doc]),
  )
})

test("compare's metrics have a direction, today's default thresholds and noise floors", () => {
  for (const id of COMPARE_METRICS) {
    const m: Metric = METRICS[id]
    assert.ok(m.better, `${id}: direction`)
    assert.ok(m.compare, `${id}: compare defaults`)
  }
  assert.deepEqual(
    { ...DEFAULT_THRESHOLDS },
    { p50: 25, p99: 25, 'cpu-per-update': 15, 'bytes-per-update': 1, delivered: 5, missed: 0 },
  )
  assert.ok(Object.isFrozen(DEFAULT_THRESHOLDS))
  const floors = Object.fromEntries(
    COMPARE_METRICS.map((id) => [id, (METRICS[id] as Metric).compare?.floor ?? 0]),
  )
  assert.deepEqual(floors, {
    p50: 0.1,
    p99: 0.1,
    'cpu-per-update': 0.5,
    'bytes-per-update': 0,
    delivered: 0,
    missed: 0,
  })
  // the printed noise note names the floors with their units
  const base = files[2]?.file
  assert.ok(base)
  const header = formatComparison(compareResults(base, base)).split('\n')[2] ?? ''
  for (const id of COMPARE_METRICS) {
    const m: Metric = METRICS[id]
    const floor = m.compare?.floor ?? 0
    if (floor > 0) assert.ok(header.includes(`under ${floor} ${m.unit}`), `${id}: ${header}`)
  }
})

test('every accessor reads a number from every completed result of the fixtures', () => {
  assert.ok(completed.length >= 20, `${completed.length} completed results`)
  for (const m of metrics)
    for (const { at, r, p } of completed) {
      const v = m.read(r, p)
      assert.equal(typeof v, 'number', `${m.id} of ${at}: ${v}`)
      assert.ok(Number.isFinite(v) && (v as number) >= 0, `${m.id} of ${at}: ${v}`)
      if (m.rank) {
        const k = m.rank(r, p)
        assert.ok(Number.isFinite(k) && k >= 0, `${m.id} rank of ${at}: ${k}`)
      }
    }
})

test('accessors read a number, or undefined, from a result without its optional fields', () => {
  for (const { at, r, p } of completed) {
    const bare = structuredClone(r)
    delete bare.updates.expected
    delete bare.deliveredPerSecond
    delete bare.windowMs
    delete bare.connections
    delete bare.scheduleLagMs
    delete bare.hostProbeNsPerOp
    delete bare.latencyMs.min
    delete bare.latencyMs.stddev
    delete bare.bytes.perClientPerSecond
    delete bare.bytes.serverToClientPerDeliveredUpdate
    delete bare.bytes.clientTally
    delete bare.bytes.link
    delete bare.serverCpu.eventLoopUtilization
    delete bare.generator.usPerDeliveredUpdate
    delete bare.generator.costRatio
    delete bare.generator.busy
    for (const m of metrics) {
      const v = m.read(bare, p)
      assert.ok(v === undefined || (Number.isFinite(v) && v >= 0), `${m.id} of ${at} stripped: ${v}`)
    }
  }
})

test('formats give the units; a bare table cell has its unit in the header', () => {
  for (const m of metrics) {
    const pattern = UNIT_PATTERN[m.unit]
    assert.ok(pattern, `${m.id}: unit ${JSON.stringify(m.unit)} has no pattern here`)
    for (const { at, r, p } of completed) {
      const v = m.read(r, p)
      if (v === undefined) continue
      assert.match(m.format(v), pattern, `${m.id} of ${at}`)
      if (m.cell && m.unit !== '') {
        const cell = m.cell(v, r, p)
        assert.ok(pattern.test(cell) || m.header.includes(m.unit), `${m.id} cell ${cell} under ${m.header}`)
      }
    }
  }
  const q = completed.find((c) => c.at.startsWith('results-quick.json') && c.r.transport === 'long-poll')
  assert.ok(q)
  assert.equal(METRICS.p50.format(17.2), '17.2 ms')
  assert.equal(METRICS.p50.format(0.412), '412 us')
  assert.equal(METRICS['bytes-per-update'].format(130), '130 B')
  assert.equal(METRICS['bytes-per-update'].cell(130.4, q.r, q.p), '130')
  assert.equal(METRICS['cpu-per-update'].format(6.93), '6.93 us')
  assert.equal(METRICS['cpu-percent'].format(11.2), '11.2%')
  assert.equal(METRICS['rss-max'].format(96468992), '92 MiB')
  assert.equal(METRICS['delivered-per-second'].format(10000), '10,000 updates/s')
  // delivered: the count in prose, the count and its share in the summary's cell
  assert.equal(METRICS.delivered.format(99420), '99,420')
  assert.equal(METRICS.delivered.cell(q.r.updates.delivered, q.r, q.p), '99,420 (99.4%)')
})

test('report/ imports nothing from load/ or servers/', () => {
  const dir = join(ROOT, 'report')
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const src = readFileSync(join(dir, f), 'utf8')
    assert.doesNotMatch(src, /from '\.\.\/(load|servers)\//, f)
  }
})
