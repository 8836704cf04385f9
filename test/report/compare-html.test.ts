/**
 * `pushbench compare --html`: the page says the same verdict as the exit status, shows every compared
 * metric with its change coloured against the threshold, escapes whatever the files hold, and the CLI
 * keeps its exit contract (1 regression, 2 a bad --html path) with the page written.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { readResults } from '../../lib/results-io.ts'
import type { ResultsFile } from '../../lib/results-schema.ts'
import { COMPARE_METRICS, type Comparison, compareResults, type MetricDelta } from '../../report/compare.ts'
import { changeClass, renderCompareHtml, verdictText } from '../../report/compare-html.ts'
import { formatDelta } from '../../report/format.ts'
import { esc } from '../../report/html.ts'
import { METRICS } from '../../report/metrics.ts'
import { fixture, runCli } from './helpers.ts'

const BASE = fixture('compare-base.json')
const HEAD = fixture('compare-head.json')
const base = readResults(BASE)
const head = readResults(HEAD)
const clone = (f: ResultsFile): ResultsFile => structuredClone(f)
const HOSTILE = '<img src=x onerror=alert(1)>'

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pb-compare-html-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The scenario's section of the page, from its heading to the section's end. */
function scenarioHtml(html: string, name: string): string {
  const start = html.indexOf(`<h2>Scenario <code>${esc(name)}</code></h2>`)
  assert.ok(start >= 0, `scenario ${name} has a section`)
  return html.slice(start, html.indexOf('</section>', start))
}

/** The cells of a transport's row: [class attribute, text] of each <td>. */
function rowCells(section: string, transport: string): [string, string][] {
  const row = new RegExp(`<tr[^>]*><th scope="row">${escRe(esc(transport))}</th>(.*?)</tr>`).exec(section)
  assert.ok(row, `row ${transport}`)
  return [...(row[1] ?? '').matchAll(/<td class="([^"]*)"[^>]*>(.*?)<\/td>/g)].map((m) => [
    m[1] ?? '',
    m[2] ?? '',
  ])
}

const escRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Every compared delta with its scenario and transport. */
function deltas(c: Comparison): { scenario: string; transport: string; d: MetricDelta; i: number }[] {
  return c.pairs
    .filter((p) => p.status === 'compared')
    .flatMap((p) => p.metrics.map((d, i) => ({ scenario: p.scenario, transport: p.transport, d, i })))
}

test('the verdict at the top says what compareResults decided', () => {
  const regressed = compareResults(base, head)
  assert.equal(regressed.regressed, true, 'the fixture pair regresses')
  const page = renderCompareHtml(regressed, base, head)
  assert.equal(verdictText(regressed), 'Regression: 2 metrics past their thresholds')
  assert.match(
    page,
    /<section class="verdict fail"[^>]*><h2>Regression: 2 metrics past their thresholds<\/h2>/,
  )
  assert.doesNotMatch(page, /No regression/)

  const same = compareResults(base, base)
  assert.equal(same.regressed, false)
  const ok = renderCompareHtml(same, base, base)
  assert.match(ok, /<section class="verdict ok"[^>]*><h2>No regression<\/h2>/)
  assert.doesNotMatch(ok, /Regression:/)

  const gone = clone(head)
  const s = gone.scenarios[0]
  assert.ok(s)
  s.results = s.results.filter((r) => r.transport !== 'sse')
  const c = compareResults(base, gone)
  assert.equal(verdictText(c), 'Regression: 1 metric past its threshold, 1 run errored or missing in HEAD')
  assert.match(
    scenarioHtml(renderCompareHtml(c, base, gone), 'quick'),
    /<tr class="status regressed">.*?missing in HEAD/,
  )
})

test('both runs side by side, and a different machine is said', () => {
  const page = renderCompareHtml(compareResults(base, head), base, head)
  for (const f of [base, head])
    for (const v of [f.runId, f.profile, f.env.commit, f.startedAt, f.env.node, f.env.cpuModel])
      assert.ok(page.includes(`<td>${esc(v)}</td>`), v)
  assert.doesNotMatch(page, /differ in conditions|class="differs"/)

  const other = clone(head)
  other.env = { ...other.env, cpuModel: 'Intel Xeon', node: 'v22.1.0' }
  const moved = renderCompareHtml(compareResults(base, other), base, other)
  assert.match(moved, /The two runs differ in conditions/)
  assert.match(moved, /different machines: AMD EPYC 7B13 x2 -&gt; Intel Xeon x2/)
  assert.match(moved, /<tr class="differs"><th scope="row">CPU<\/th>/)
  assert.match(moved, /<tr class="differs"><th scope="row">node<\/th>/)
})

test('every compared scenario, transport and metric is on the page with both values and the change', () => {
  const c = compareResults(base, head)
  const page = renderCompareHtml(c, base, head)
  const all = deltas(c)
  assert.equal(all.length, 4 * COMPARE_METRICS.length)
  for (const id of COMPARE_METRICS)
    assert.match(
      page,
      new RegExp(`colspan="3" class="metric" title="[^"]*threshold[^"]*">${escRe(esc(METRICS[id].header))}<`),
    )
  for (const { scenario, transport, d, i } of all) {
    const cells = rowCells(scenarioHtml(page, scenario), transport)
    assert.equal(cells.length, COMPARE_METRICS.length * 3, `${transport}: BASE | HEAD | change per metric`)
    const m = METRICS[d.metric]
    const at = `${scenario} / ${transport} / ${d.metric}`
    assert.equal(cells[i * 3]?.[1], esc(m.format(d.base)), at)
    assert.equal(cells[i * 3 + 1]?.[1], esc(m.format(d.head)), at)
    const [cls, text] = cells[i * 3 + 2] ?? ['', '']
    assert.match(cls, new RegExp(`\\bchange ${changeClass(d)}\\b`), at)
    if (!m.compare.values) assert.equal(text, esc(formatDelta(d.deltaPct)), at)
  }
})

test('a regressed change is red; worse within the threshold amber, better green, under 0.5% plain', () => {
  const c = compareResults(base, head)
  const page = scenarioHtml(renderCompareHtml(c, base, head), 'quick')
  const cls = (transport: string, metric: string) => {
    const i = COMPARE_METRICS.indexOf(metric as (typeof COMPARE_METRICS)[number])
    return rowCells(page, transport)[i * 3 + 2]?.[0]
  }
  const regressed = deltas(c).filter((x) => x.d.regressed)
  assert.deepEqual(
    regressed.map((x) => `${x.transport} ${x.d.metric}`),
    ['sse p99', 'websocket bytes-per-update'],
  )
  for (const x of regressed) assert.equal(cls(x.transport, x.d.metric), 'num change regressed')
  assert.equal(cls('sse', 'p50'), 'num change worse') // +2.2%, limit +25%
  assert.equal(cls('short-poll', 'p50'), 'num change better') // -1.8%
  assert.equal(cls('long-poll', 'p99'), 'num change same')
  assert.equal(page.match(/change regressed/g)?.length, 2)

  const d: MetricDelta = {
    metric: 'delivered',
    label: 'delivered',
    base: 1000,
    head: 997,
    deltaPct: -0.3,
    limitPct: 5,
    regressed: false,
  }
  assert.equal(changeClass(d), 'same')
  assert.equal(changeClass({ ...d, head: 900, deltaPct: -10, regressed: true }), 'regressed')
  assert.equal(changeClass({ ...d, head: 980, deltaPct: -2 }), 'worse') // higher is better
  assert.equal(changeClass({ ...d, head: 1020, deltaPct: 2 }), 'better')
  assert.equal(
    changeClass({ ...d, metric: 'missed', base: 0, head: 1, deltaPct: Infinity, limitPct: null }),
    'worse',
  )
})

test('hostile strings from the files are escaped, never markup; the page needs no script and no network', () => {
  const b = clone(base)
  const h = clone(head)
  for (const f of [b, h]) {
    const s = f.scenarios[0]
    assert.ok(s)
    s.name = HOSTILE
    // a transport name outside the schema's pattern: the renderer is pure and must hold anyway
    const r = s.results[2]
    assert.ok(r)
    r.transport = `sse${HOSTILE}`
    f.runId = `${f.runId}"><script>alert(1)</script>`
    f.env = { ...f.env, cpuModel: `EPYC ${HOSTILE}` }
  }
  const s = h.scenarios[0]
  assert.ok(s)
  s.results[0] = { state: 'errored', transport: 'short-poll', error: `boom ${HOSTILE}` }
  const c = compareResults(b, h)
  const page = renderCompareHtml(c, b, h)
  assert.ok(!page.includes(HOSTILE), 'the raw tag never appears')
  assert.ok(!page.includes('<script'), 'no script element at all')
  assert.ok(page.includes(esc(HOSTILE)))
  assert.match(page, new RegExp(`<h2>Scenario <code>${escRe(esc(HOSTILE))}</code></h2>`))
  assert.ok(page.includes(`<th scope="row">${esc(`sse${HOSTILE}`)}</th>`))
  assert.ok(page.includes(esc(`boom ${HOSTILE}`)))
  assert.match(
    page,
    /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/,
  )
  // nothing to fetch: no tag with a src or href, no URL, no CSS import
  assert.doesNotMatch(page, /<[^>]*\s(src|href)=|https?:\/\/|@import|url\(/)
})

test('CLI: --html writes the page, prints the table and keeps exit 1 for the regressing fixtures', (t) => {
  assert.equal(compareResults(base, head).regressed, true)
  const dir = tempDir(t)
  const out = join(dir, 'nested', 'out.html')
  const r = runCli('compare', [BASE, HEAD, '--html', out])
  assert.equal(r.status, 1, r.stderr)
  assert.match(r.stdout, /FAIL: 2 regressions past the thresholds/)
  assert.equal(r.stderr, `compare: wrote ${out}\n`)
  const page = readFileSync(out, 'utf8')
  assert.match(page, /^<!doctype html>/)
  assert.match(page, /Regression: 2 metrics past their thresholds/)

  const same = join(dir, 'same.html')
  const ok = runCli('compare', [BASE, BASE, '--json', '--html', same])
  assert.equal(ok.status, 0, ok.stderr)
  assert.equal(JSON.parse(ok.stdout).regressed, false, '--json still prints the JSON on stdout')
  assert.match(readFileSync(same, 'utf8'), /<h2>No regression<\/h2>/)
})

test('CLI: an --html path that is a folder, or under a file, exits 2 naming --html and the path', (t) => {
  const dir = tempDir(t)
  const folder = runCli('compare', [BASE, HEAD, '--html', dir])
  assert.equal(folder.status, 2, folder.stdout + folder.stderr)
  assert.match(
    folder.stderr,
    new RegExp(`^pushbench compare: error: --html: cannot write "${escRe(dir)}": it is a folder`, 'm'),
  )
  assert.equal(folder.stdout, '', 'refused before comparing')

  const file = join(dir, 'file.txt')
  writeFileSync(file, 'x')
  const under = join(file, 'out.html')
  const r = runCli('compare', [BASE, HEAD, '--html', under])
  assert.equal(r.status, 2, r.stdout + r.stderr)
  assert.match(r.stderr, new RegExp(`--html: cannot write "${escRe(under)}": ${escRe(file)} is not a folder`))
  assert.equal(existsSync(under), false)
})
