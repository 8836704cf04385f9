/**
 * `pushbench compare --html`: the comparison of two results files as one self-contained page. The
 * verdict first (the same `regressed` the exit code follows), the two runs side by side, then per
 * scenario BASE | HEAD | change for every compared metric, the change coloured by how it stands against
 * its threshold. No script and no network: the CSP allows inline styles only.
 */
import { dirname, resolve } from 'node:path'
import { makeFolders } from '../lib/make-folders.ts'
import type { Env, ResultsFile } from '../lib/results-schema.ts'
import { writeAtomic } from '../lib/write-atomic.ts'
import {
  COMPARE_METRICS,
  type CompareMetric,
  type Comparison,
  limitText,
  type MetricDelta,
  type PairComparison,
  type PairStatus,
} from './compare.ts'
import { describeParams, formatDelta } from './format.ts'
import { CSS, esc, pageHead } from './html.ts'
import { betterText, METRICS } from './metrics.ts'

/** A change smaller than this (percent of BASE) is shown plain: neither better nor worse. */
const UNCHANGED_PCT = 0.5

/** How a change cell is coloured; `regressed` is the one that fails the comparison. */
export type ChangeClass = 'regressed' | 'worse' | 'better' | 'same'

/** Renders the comparison page. Pure: the files are passed for what the Comparison does not carry (env, start). */
export function renderCompareHtml(c: Comparison, base: ResultsFile, head: ResultsFile): string {
  const title = `pushbench compare · ${c.base.runId} → ${c.head.runId}`
  const body = [
    `<header><h1>pushbench compare</h1><p class="run">${esc(`BASE ${c.base.runId} → HEAD ${c.head.runId}`)}</p></header>`,
    verdictSection(c),
    runsSection(c, base, head),
    ...scenarioNames(c).map((name) => scenarioSection(c, name, base)),
    `<footer>Made from the two results files alone. Change is (HEAD - BASE) / BASE; a metric regresses when it is worse than its threshold and than its noise floor. The exit status of pushbench compare follows the verdict at the top.</footer>`,
  ]
  return `${pageHead(title, "default-src 'none'; style-src 'unsafe-inline'", CSS + COMPARE_CSS)}
<body>
<main>
${body.filter(Boolean).join('\n')}
</main>
</body>
</html>
`
}

/** Writes the page atomically (temp file + rename) and creates the folder. */
export async function writeCompareHtml(
  c: Comparison,
  base: ResultsFile,
  head: ResultsFile,
  path: string,
): Promise<void> {
  await makeFolders(dirname(resolve(path)))
  await writeAtomic(path, renderCompareHtml(c, base, head))
}

/** The verdict in words, as the exit status has it: metrics past their thresholds, runs errored or missing. */
export function verdictText(c: Comparison): string {
  if (!c.regressed) return 'No regression'
  const metrics = c.regressions.filter((r) => r.metric !== 'run').length
  const runs = c.regressions.length - metrics
  const parts = [
    metrics > 0
      ? `${metrics} ${metrics === 1 ? 'metric past its threshold' : 'metrics past their thresholds'}`
      : '',
    runs > 0 ? `${runs} ${runs === 1 ? 'run' : 'runs'} errored or missing in HEAD` : '',
  ]
  return `Regression: ${parts.filter(Boolean).join(', ')}`
}

function verdictSection(c: Comparison): string {
  const compared = c.pairs.filter((p) => p.status === 'compared').length
  const detail = c.regressed
    ? `<ul>${c.regressions.map((r) => `<li>${esc(`${r.scenario} / ${r.transport}: ${r.text}`)}</li>`).join('')}</ul>`
    : `<p>${compared} transport ${compared === 1 ? 'run' : 'runs'} compared, none past its threshold.</p>`
  const cls = c.regressed ? 'fail' : 'ok'
  return `<section class="verdict ${cls}" aria-label="verdict"><h2>${esc(verdictText(c))}</h2>${detail}</section>`
}

/** BASE and HEAD side by side; env rows that differ are marked, and the differences named above the table. */
function runsSection(c: Comparison, base: ResultsFile, head: ResultsFile): string {
  const runRows = sideBySide(runFields(base), runFields(head))
  const envRows = sideBySide(envFields(base.env), envFields(head.env))
  const row = ([k, b, h]: [string, string, string], env: boolean) => {
    const differs = env && b !== h
    return `<tr${differs ? ' class="differs"' : ''}><th scope="row">${esc(k)}</th><td>${esc(b)}</td><td>${esc(h)}</td></tr>`
  }
  // envNotes also name a partial run and a pinning difference
  const notes = c.envNotes.length
    ? `<div class="env-notes"><p><strong>The two runs differ in conditions</strong>: the deltas also measure that.</p><ul>${c.envNotes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></div>`
    : ''
  const rows = [...runRows.map((r) => row(r, false)), ...envRows.map((r) => row(r, true))].join('')
  const table = `<div class="table-wrap"><table class="side"><thead><tr><th></th><th scope="col">BASE</th><th scope="col">HEAD</th></tr></thead><tbody>${rows}</tbody></table></div>`
  return `<section class="runs"><h2>Runs</h2>${notes}${table}<p class="note">${esc(thresholdsLine(c))}</p></section>`
}

function sideBySide(b: [string, string][], h: [string, string][]): [string, string, string][] {
  return b.map(([k, v], i) => [k, v, h[i]?.[1] ?? ''])
}

function runFields(f: ResultsFile): [string, string][] {
  return [
    ['run', f.runId],
    ['profile', f.profile],
    ['commit', f.env.commit],
    ['started', f.startedAt],
  ]
}

function envFields(e: Env): [string, string][] {
  return [
    ['node', e.node],
    ['CPU', e.cpuModel],
    ['cores', String(e.cores)],
    ['OS', e.os],
    ['pinned', e.pinned === undefined ? '' : e.pinned ? 'yes' : 'no'],
  ]
}

function thresholdsLine(c: Comparison): string {
  return `Thresholds: ${COMPARE_METRICS.map((m) => `${m} ${limitText(m, c.thresholds[m])}`).join(', ')}.`
}

/** Scenarios in the order compare prints them: matched first, then those noted only (missing, new). */
function scenarioNames(c: Comparison): string[] {
  return [...new Set([...c.pairs.map((p) => p.scenario), ...c.scenarioNotes.map((n) => n.scenario)])]
}

function scenarioSection(c: Comparison, name: string, base: ResultsFile): string {
  const params = base.scenarios.find((s) => s.name === name)?.params
  const pairs = c.pairs.filter((p) => p.scenario === name)
  const notes = c.scenarioNotes.filter((n) => n.scenario === name).map((n) => n.text)
  // a missing or errored pair's notes are in its row already
  const pairNotes = pairs
    .filter((p) => p.status === 'compared')
    .flatMap((p) => p.notes.map((n) => `${p.transport}: ${n}`))
  return [
    '<section class="scenario">',
    `<h2>Scenario <code>${esc(name)}</code></h2>`,
    params ? `<p class="note">${esc(describeParams(params))}</p>` : '',
    notes.length > 0
      ? `<ul class="scenario-notes">${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`
      : '',
    pairs.length > 0 ? pairTable(c, pairs) : '',
    pairNotes.length > 0
      ? `<ul class="pair-notes">${pairNotes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`
      : '',
    '</section>',
  ]
    .filter(Boolean)
    .join('\n')
}

/** One row per transport; per metric BASE | HEAD | change, the metric header's title saying its threshold. */
function pairTable(c: Comparison, pairs: PairComparison[]): string {
  const groups = COMPARE_METRICS.map(
    (id) =>
      `<th scope="colgroup" colspan="3" class="metric" title="${esc(headerTitle(id, c.thresholds[id]))}">${esc(METRICS[id].header)}<span class="limit">limit ${esc(limitText(id, c.thresholds[id]))}</span></th>`,
  ).join('')
  const subs = COMPARE_METRICS.map(
    () =>
      '<th scope="col" class="num first">BASE</th><th scope="col" class="num">HEAD</th><th scope="col" class="num">change</th>',
  ).join('')
  const rows = pairs.map((p) => (p.status === 'compared' ? comparedRow(p) : statusRow(c, p))).join('')
  return `<div class="table-wrap"><table class="compare"><thead><tr><th scope="col" rowspan="2">transport</th>${groups}</tr><tr>${subs}</tr></thead><tbody>${rows}</tbody></table></div>
<p class="legend">change: <span class="regressed">past its threshold</span> · <span class="worse">worse, within its threshold</span> · <span class="better">better</span> · plain: under ${UNCHANGED_PCT}%. Hover a metric for its threshold.</p>`
}

function comparedRow(p: PairComparison): string {
  const cells = p.metrics
    .map((d) => {
      const m = METRICS[d.metric]
      const cls = changeClass(d)
      return `<td class="num first">${esc(m.format(d.base))}</td><td class="num">${esc(m.format(d.head))}</td><td class="num change ${cls}" title="${esc(changeTitle(d, cls))}">${esc(changeText(d))}</td>`
    })
    .join('')
  return `<tr><th scope="row">${esc(p.transport)}</th>${cells}</tr>`
}

/** A transport missing or errored on one side: its status across the row, red when it fails the comparison. */
function statusRow(c: Comparison, p: PairComparison): string {
  const fails = c.regressions.some(
    (r) => r.scenario === p.scenario && r.transport === p.transport && r.metric === 'run',
  )
  // the errors say which side errored; otherwise the status says what is missing
  const text = p.notes.length > 0 ? p.notes.join(' · ') : STATUS_TEXT[p.status]
  return `<tr class="status ${fails ? 'regressed' : 'muted'}"><th scope="row">${esc(p.transport)}</th><td colspan="${COMPARE_METRICS.length * 3}">${esc(text)}</td></tr>`
}

const STATUS_TEXT: Record<PairStatus, string> = {
  compared: 'compared',
  'missing-in-head': 'missing in HEAD',
  'missing-in-base': 'new in HEAD (not in BASE): not compared',
  'errored-in-head': 'errored in HEAD',
  'errored-in-base': 'errored in BASE: not compared',
  errored: 'errored in both: not compared',
}

/** Past the threshold, worse within it, better, or unchanged (under 0.5% either way). */
export function changeClass(d: MetricDelta): ChangeClass {
  if (d.regressed) return 'regressed'
  // not compared: a latency below a run's clock uncertainty
  if (Number.isNaN(d.deltaPct)) return 'same'
  if (d.base === d.head || Math.abs(d.deltaPct) < UNCHANGED_PCT) return 'same'
  const worse = METRICS[d.metric].better === 'lower' ? d.head > d.base : d.head < d.base
  return worse ? 'worse' : 'better'
}

/** The change in percent; for a count that should stay 0 (missed), the signed difference in counts. */
function changeText(d: MetricDelta): string {
  if (!METRICS[d.metric].compare.values) return formatDelta(d.deltaPct)
  const diff = d.head - d.base
  return diff > 0 ? `+${METRICS[d.metric].format(diff)}` : METRICS[d.metric].format(diff)
}

function changeTitle(d: MetricDelta, cls: ChangeClass): string {
  const m = METRICS[d.metric]
  const what = {
    regressed: 'past its threshold: a regression',
    worse: 'worse, within its threshold',
    better: 'better',
    same: 'unchanged',
  }[cls]
  return `${d.label} ${m.format(d.base)} → ${m.format(d.head)} (${formatDelta(d.deltaPct)}, limit ${limitText(d.metric, d.limitPct)}): ${what}`
}

function headerTitle(id: CompareMetric, pct: number | null): string {
  const m = METRICS[id]
  const floor = 'floor' in m.compare ? `; changes under ${m.compare.floor} ${m.unit} are noise` : ''
  return `${m.label}: ${m.doc}; ${betterText(m)}; threshold ${limitText(id, pct)}${floor}`
}

/** The threshold as compare's table prints it: `+25%`, `-5%` for a higher-is-better metric, `any increase`, `off`. */
// 19 columns: wider than the single-run report, tighter cells
const COMPARE_CSS = `
main { max-width: 1400px; }
table.compare th, table.compare td { padding: 6px 5px; }
.verdict { border-width: 2px; }
.verdict h2 { font-size: 22px; margin: 0 0 6px; }
.verdict ul { margin: 0; padding-left: 20px; }
.verdict p { margin: 0; }
.verdict.fail { background: var(--err-bg); border-color: #e7a3a3; }
.verdict.fail h2, .verdict.fail li { color: var(--err); }
.verdict.ok { background: var(--win-bg); border-color: #9fd6b8; }
.verdict.ok h2 { color: var(--win); }
table.side { width: auto; }
table.side td, table.side th { white-space: normal; overflow-wrap: anywhere; }
table.side thead th { cursor: default; }
tr.differs td { background: var(--warn-bg); color: var(--warn); font-weight: 600; }
.env-notes { background: var(--warn-bg); border: 1px solid #f0d890; border-radius: 6px; padding: 8px 12px; margin: 0 0 12px; color: var(--warn); }
.env-notes p { margin: 0; }
.env-notes ul { margin: 4px 0 0; padding-left: 20px; }
table.compare th.metric { text-align: center; border-left: 1px solid var(--line); }
table.compare .limit { display: block; font-weight: 400; font-size: 12px; color: var(--muted); }
table.compare .first { border-left: 1px solid var(--line); }
table.compare thead tr + tr th { font-size: 12px; font-weight: 500; color: var(--muted); }
td.change.regressed { background: var(--err-bg); color: var(--err); font-weight: 700; }
td.change.worse { background: var(--warn-bg); color: var(--warn); }
td.change.better { background: var(--win-bg); color: var(--win); }
tr.status td { white-space: normal; }
tr.status.regressed td { background: var(--err-bg); color: var(--err); font-weight: 600; }
tr.status.muted td { color: var(--muted); font-style: italic; }
.legend .regressed { color: var(--err); font-weight: 700; }
.legend .worse { color: var(--warn); }
.legend .better { color: var(--win); }
.scenario-notes, .pair-notes { margin: 6px 0 10px; padding-left: 20px; color: var(--warn); font-size: 14px; }
`
