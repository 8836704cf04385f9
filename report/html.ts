/**
 * One self-contained HTML page per results file: chart.js inlined from node_modules (no CDN, no
 * network: the page's CSP forbids it), the chart configs of chart-configs.ts as interactive charts,
 * the summary tables of summary-table.ts as HTML, env, params and warnings.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { makeFolders } from '../lib/make-folders.ts'
import type { Params, ResultsFile, Scenario } from '../lib/results-schema.ts'
import { writeAtomic } from '../lib/write-atomic.ts'
import { type ChartSpec, chartPlan, type OmittedChart, scaleSweeps } from './chart-configs.ts'
import { buildFaultTables, describeFaults } from './fault-tables.ts'
import { describeEnv, describeLifecycle, describeParams, formatBytes } from './format.ts'
import { ONE_WAY_NUMERIC, oneWayTwoWayTables } from './one-way-two-way.ts'
import {
  autocannonRuns,
  buildBaselineTable,
  buildCapacityTable,
  buildIdleTable,
  buildLifecycleTable,
  buildMicroTable,
  buildPollModesTable,
  buildScaleTable,
  buildSummaryTable,
  describeAutocannon,
  type PlainTable,
  SCALE_NUMERIC,
  type SummaryTable,
} from './summary-table.ts'
import { verdict } from './verdict.ts'
import { collectWarnings, type ReportWarning, warningLine } from './warnings.ts'

let chartJs: string | undefined

/** chart.js's UMD build, read once from node_modules (the package's exports hide it, so resolve the main file's folder). */
export function chartJsSource(): string {
  if (chartJs === undefined) {
    const main = createRequire(import.meta.url).resolve('chart.js')
    chartJs = readFileSync(join(dirname(main), 'chart.umd.js'), 'utf8')
  }
  return chartJs
}

export const esc = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  )

/** Text inside a <script> must not close it early. */
const scriptSafe = (s: string): string => s.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--')

/** Renders the report page. Pure apart from reading chart.js from node_modules once. */
export function renderHtmlReport(file: ResultsFile): string {
  const { specs, omitted } = chartPlan(file)
  const warnings = collectWarnings(file)
  const title = `pushbench · ${file.profile} · ${file.runId}`
  const sweepSpecs = specs.filter((s) => s.sweep !== undefined)
  const body = [
    `<header><h1>pushbench report</h1><p class="run">${esc(runLine(file))}</p></header>`,
    verdictSection(file),
    warningsSection(warnings),
    envSection(file),
    sweepSpecs.length > 0
      ? `<section class="sweeps"><h2>Sweeps</h2><p class="note">Scenarios that differ in one param, one line per transport against it.</p>${charts(sweepSpecs)}</section>`
      : '',
    scaleSection(file),
    oneWayTwoWaySection(file),
    ...file.scenarios.map((s) =>
      scenarioSection(
        s,
        specs.filter((c) => c.scenario === s.name),
        warnings.filter((w) => w.scenario === s.name),
        omitted.filter((o) => o.scenario === s.name),
      ),
    ),
    file.micro && file.micro.length > 0
      ? `<section><h2>Micro-benchmarks (per message)</h2>${plainTable(buildMicroTable(file.micro), new Set(['payload', 'ops', 'mean', 'p99', 'rme']))}</section>`
      : '',
    `<footer>Made from the results file alone (schema version ${file.schemaVersion}). Latency is publish to receive on one clock; bytes are application bytes at the server's sockets, both directions; CPU is the server process's user + system time.</footer>`,
  ]
  // the configs are data, parsed by the page: no code travels in them
  const data = JSON.stringify(specs.map(({ id, title, config }) => ({ id, title, config })))
  return `${pageHead(title, "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:", CSS)}
<body>
<main>
${body.filter(Boolean).join('\n')}
</main>
<script type="application/json" id="pb-charts">${data.replace(/</g, '\\u003c')}</script>
<script>${scriptSafe(chartJsSource())}</script>
<script>${INIT}</script>
</body>
</html>
`
}

/** The head of a self-contained page: its CSP (nothing from the network), its title and its styles. */
export function pageHead(title: string, csp: string, css: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>${esc(title)}</title>
<style>${css}</style>
</head>`
}

/** Writes the report atomically (temp file + rename) and creates the folder. */
export async function writeHtmlReport(file: ResultsFile, path: string): Promise<void> {
  await makeFolders(dirname(path))
  await writeAtomic(path, renderHtmlReport(file))
}

function runLine(file: ResultsFile): string {
  const parts = [`profile ${file.profile}`, `run ${file.runId}`, `started ${file.startedAt}`]
  if (file.finishedAt) {
    const s = Math.round((Date.parse(file.finishedAt) - Date.parse(file.startedAt)) / 1000)
    if (Number.isFinite(s) && s >= 0)
      parts.push(`took ${s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`}`)
  }
  if (file.partial) parts.push('PARTIAL')
  return parts.join(' · ')
}

function warningsSection(warnings: ReportWarning[]): string {
  if (warnings.length === 0) return ''
  const items = warnings.map((w) => `<li class="${w.level}">${esc(warningLine(w))}</li>`).join('')
  return `<section class="warnings" aria-label="warnings"><h2>Read this first</h2><ul>${items}</ul></section>`
}

function envSection(file: ResultsFile): string {
  const e = file.env
  const rows: [string, string][] = [
    ['node', e.node],
    ['CPU', e.cpuModel],
    ['cores', String(e.cores)],
    ['OS', e.os],
    ['commit', e.commit],
  ]
  if (e.pinned !== undefined)
    rows.push(['pinned', e.pinned ? 'yes: server and generator on different cores' : 'no: they share cores'])
  if (e.hostname) rows.push(['host', e.hostname])
  if (e.totalMemBytes !== undefined) rows.push(['memory', formatBytes(e.totalMemBytes)])
  return `<section class="env"><h2>Environment</h2><p class="note">${esc(describeEnv(e))}</p>${kv(rows)}</section>`
}

function kv(rows: [string, string][]): string {
  return `<dl class="kv">${rows.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>`
}

function paramsList(p: Params): string {
  return kv(Object.entries(p).map(([k, v]) => [k, String(v)]))
}

/** The answer first: each scenario's verdict in words (report/verdict.ts), before any table. */
function verdictSection(file: ResultsFile): string {
  const parts = file.scenarios
    .map((s) => ({ s, said: verdict(s) }))
    .filter(({ said }) => said.length > 0)
    .map(
      ({ s, said }) =>
        `<h3><a href="#scenario-${esc(s.name)}">${esc(s.name)}</a></h3><ul>${said.map((v) => `<li class="${v.kind}">${esc(v.text)}</li>`).join('')}</ul>`,
    )
  if (parts.length === 0) return ''
  return `<section class="verdict" aria-label="verdict"><h2>Verdict</h2><p class="note">Made from the figures below; a transport is called better only past the noise of its metric, and only among rows that measured the server.</p>${parts.join('')}</section>`
}

function scenarioSection(
  s: Scenario,
  specs: ChartSpec[],
  warnings: ReportWarning[],
  omitted: OmittedChart[],
): string {
  const parts = [
    `<section class="scenario" id="scenario-${esc(s.name)}">`,
    `<h2>Scenario <code>${esc(s.name)}</code></h2>`,
    `<p class="note">${esc(describeLifecycle(s) ?? describeFaults(s) ?? describeParams(s.params))}</p>`,
    `<details><summary>params</summary>${paramsList(s.params)}</details>`,
  ]
  const idle = buildIdleTable(s)
  const life = buildLifecycleTable(s)
  const modes = buildPollModesTable(s)
  const faults = buildFaultTables(s)
  if (faults.length > 0) {
    for (const f of faults)
      parts.push(`<h3>${esc(f.kind)}: ${esc(f.heading)}</h3>`, plainTable(f.table, f.numeric))
  } else if (life) {
    parts.push(
      '<h3>Connection lifecycle: connect to first update, and close (p50, model in brackets)</h3>',
      plainTable(life, new Set(['first', 'setup', 'close', 'closeB', 'link', 'packets', 'tw'])),
    )
    if (modes) parts.push(plainTable(modes, new Set(['conns', 'poll', 'bytes', 'link', 'tw'])))
  } else if (idle)
    parts.push(
      '<h3>Idle: what a held connection costs with nothing published</h3>',
      plainTable(idle, new Set(['bytes', 'c2s', 's2c', 'cpu'])),
    )
  else parts.push(s.results.length > 0 ? summaryTable(buildSummaryTable(s)) : '<p>No transport results.</p>')
  const notErrored = warnings.filter((w) => w.kind !== 'errored')
  if (notErrored.length > 0)
    parts.push(
      `<ul class="row-warnings">${notErrored.map((w) => `<li class="${w.level}">${esc(warningLine({ ...w, scenario: undefined }))}</li>`).join('')}</ul>`,
    )
  if (s.capacity && s.capacity.length > 0)
    parts.push(
      '<h3>Capacity: the highest rate each transport sustained within the limits</h3>',
      plainTable(buildCapacityTable(s.capacity), new Set(['max', 'clients', 'steps', 'ceiling'])),
    )
  const held = buildBaselineTable(s)
  if (held)
    parts.push(
      '<h3>Held against the bare baselines (server CPU per delivered update, same scenario)</h3>',
      plainTable(held, new Set(['own', 'base', 'ownMax', 'baseMax', 'ratio', 'cap', 'ok'])),
    )
  for (const a of autocannonRuns(s)) parts.push(`<p class="autocannon">${esc(describeAutocannon(a))}</p>`)
  if (specs.length > 0) parts.push(charts(specs))
  for (const o of omitted) parts.push(`<p class="note omitted">${esc(o.reason)}.</p>`)
  parts.push('</section>')
  return parts.join('\n')
}

/** The chat beside its ticker twin (report/one-way-two-way.ts), when both are in the file. */
function oneWayTwoWaySection(file: ResultsFile): string {
  const parts = oneWayTwoWayTables(file).map(
    (t) =>
      `<h3>${esc(t.ticker)} against ${esc(t.chat)}</h3><p class="note">${esc(t.conditions)}</p>${plainTable(t, new Set(ONE_WAY_NUMERIC))}`,
  )
  if (parts.length === 0) return ''
  return `<section class="one-way-two-way"><h2>One-way ticker against two-way chat</h2>${parts.join('')}</section>`
}

/** The scale sweeps' tables (cost against clients), each with a line per transport on how its cost grows. */
function scaleSection(file: ResultsFile): string {
  const parts = scaleSweeps(file)
    .map(buildScaleTable)
    .filter((t) => t !== undefined)
    .map(
      (t) =>
        `<h3>${esc(t.title)}</h3><p class="note">${esc(t.conditions)}</p>${plainTable(t, new Set(SCALE_NUMERIC))}<ul class="growth">${t.growth.map((g) => `<li>${esc(g)}</li>`).join('')}</ul>`,
    )
  if (parts.length === 0) return ''
  return `<section class="scale"><h2>Cost against clients</h2><p class="note">Per transport and client count; server CPU per delivered update is flat while it stays within 25% of its cost at the smallest counts not dominated by fixed costs. Points whose generator saturated are left out of that judgement.</p>${parts.join('')}</section>`
}

function summaryTable(t: SummaryTable): string {
  const head = t.columns
    .map(
      (c, i) =>
        `<th scope="col" title="${esc(c.title)}"${numeric(i, t) ? ' class="num"' : ''}>${esc(c.header)}</th>`,
    )
    .join('')
  const rows = t.rows.map((r) => {
    const name = `<th scope="row">${esc(r.transport)}</th>`
    if (r.error !== undefined)
      return `<tr class="errored">${name}<td colspan="${t.columns.length - 1}">errored: ${esc(r.error)}</td></tr>`
    const cells = r.cells
      .map((c) =>
        c.winner
          ? `<td class="num win" title="best in column"><strong>${esc(c.text)}</strong></td>`
          : `<td class="num">${esc(c.text)}</td>`,
      )
      .join('')
    const sat = r.saturated ? '<td class="sat">yes</td>' : '<td>no</td>'
    return `<tr${r.saturated ? ' class="saturated"' : ''}>${name}${cells}${sat}</tr>`
  })
  const legend = t.columns
    .slice(1)
    .map((c) => `<div><dt>${esc(c.header)}</dt><dd>${esc(c.title)}</dd></div>`)
    .join('')
  return `<div class="table-wrap"><table class="summary"><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody></table></div>
<p class="legend"><strong class="win-key">bold green</strong> = best in its column, among the runs whose generator kept up.</p>
<details><summary>what the columns mean</summary><dl class="kv">${legend}</dl></details>`
}

const numeric = (i: number, t: SummaryTable): boolean => i > 0 && i < t.columns.length - 1

function plainTable(t: PlainTable, numKeys: Set<string>): string {
  const num = t.columns.map((c) => numKeys.has(c.key))
  const head = t.columns
    .map(
      (c, i) =>
        `<th scope="col" title="${esc(c.title)}"${num[i] ? ' class="num"' : ''}>${esc(c.header)}</th>`,
    )
    .join('')
  const rows = t.rows
    .map((r) => `<tr>${r.map((v, i) => `<td${num[i] ? ' class="num"' : ''}>${esc(v)}</td>`).join('')}</tr>`)
    .join('')
  return `<div class="table-wrap"><table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`
}

function charts(specs: ChartSpec[]): string {
  return `<div class="charts">${specs
    .map(
      (s) =>
        `<figure class="chart" id="figure-${esc(s.id)}"><div class="canvas-box"><canvas id="chart-${esc(s.id)}" role="img" aria-label="${esc(s.title)}"></canvas></div><figcaption><strong>${esc(s.title)}</strong><br>${esc(s.caption)}</figcaption></figure>`,
    )
    .join('')}</div>`
}

// Runs in the page: builds every chart from the JSON; a chart that throws is reported in place and on the console.
const INIT = `(function () {
  var specs = JSON.parse(document.getElementById('pb-charts').textContent);
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';
  Chart.defaults.color = '#333';
  var drawn = 0;
  specs.forEach(function (s) {
    var canvas = document.getElementById('chart-' + s.id);
    var options = Object.assign({}, s.config.options, { responsive: true, maintainAspectRatio: false, animation: false });
    try {
      new Chart(canvas, Object.assign({}, s.config, { options: options }));
      drawn++;
    } catch (e) {
      console.error('chart ' + s.id + ' failed: ' + e);
      var p = document.createElement('p');
      p.className = 'chart-error';
      p.textContent = 'This chart failed to draw: ' + e;
      canvas.parentNode.replaceChild(p, canvas);
    }
  });
  document.body.setAttribute('data-charts', drawn === specs.length ? 'ready' : 'failed');
})();`

export const CSS = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #dde1e8; --bg: #f6f7f9; --card: #fff;
  --win: #0b7a4b; --win-bg: #e5f5ec; --warn-bg: #fff6dc; --warn: #7a5200; --err-bg: #fde8e8; --err: #9b1c1c; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 0 0 8px; }
h3 { font-size: 16px; margin: 20px 0 8px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.95em; }
header .run, .note { color: var(--muted); margin: 0 0 12px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px; margin: 18px 0; }
.warnings { background: var(--warn-bg); border-color: #f0d890; }
.warnings ul, .row-warnings { margin: 0; padding-left: 20px; }
li.error { color: var(--err); }
li.warning { color: var(--warn); }
.row-warnings { margin: 10px 0; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; font-size: 14px; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
thead th { border-bottom: 2px solid #c5cbd6; font-weight: 600; cursor: help; white-space: normal; vertical-align: bottom; }
tbody th { font-weight: 600; }
.num { text-align: right; }
td.win { background: var(--win-bg); color: var(--win); }
.win-key { color: var(--win); }
tr.saturated td.sat { background: var(--warn-bg); color: var(--warn); font-weight: 600; }
tr.errored td { background: var(--err-bg); color: var(--err); white-space: normal; }
.legend { color: var(--muted); font-size: 13px; margin: 6px 0; }
details { margin: 6px 0; color: var(--muted); font-size: 14px; }
summary { cursor: pointer; }
dl.kv { display: flex; flex-wrap: wrap; gap: 4px 28px; margin: 8px 0; }
dl.kv div { display: flex; gap: 8px; }
dl.kv dt { font-weight: 600; color: var(--fg); }
dl.kv dd { margin: 0; overflow-wrap: anywhere; }
.autocannon { font-size: 14px; }
.charts { display: grid; grid-template-columns: 1fr; gap: 16px; margin-top: 16px; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
.canvas-box { position: relative; height: 440px; }
.chart-error { color: var(--err); }
figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; }
.verdict { border-left: 4px solid var(--win); }
.verdict h3 { margin: 10px 0 4px; }
.verdict ul { margin: 0; padding-left: 20px; }
.verdict li { margin: 3px 0; }
.verdict li.untrusted, .verdict li.errored { color: var(--warn); }
footer { color: var(--muted); font-size: 13px; margin-top: 24px; }
`
