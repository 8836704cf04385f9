/**
 * chart.js configurations made from a results file alone. Pure and JSON-safe (no callbacks), so the same
 * objects render to PNG in Node and are serialised into the HTML report.
 */
import type { ChartConfiguration, ChartDataset, ChartOptions, ChartType } from 'chart.js'
import {
  type CompletedResult,
  isCompleted,
  type Params,
  type ResultsFile,
  type RunResult,
  type Scenario,
} from '../lib/results-schema.ts'
import { isTransport, transport } from '../lib/transports.ts'
import { deliveredPerSecond, describeParams, formatCount, sig3, slug } from './format.ts'
import { betterText, type ChartedMetricId, chartUnit, METRICS, type MetricId } from './metrics.ts'

export interface ChartSpec {
  /** file-name-safe and unique within the file: `latency`, `clients-1000-bytes`, `sweep-clients-latency-p99` */
  id: string
  /** the chart's title, also the alt text */
  title: string
  /** the scenario a per-scenario chart belongs to */
  scenario?: string
  /** the swept param of a sweep chart */
  sweep?: keyof Params
  /** the conditions it was measured under, one line (the HTML report's caption; the PNG has it as subtitle) */
  caption: string
  config: ChartConfiguration
}

/** A chart a run does not get because it would carry no information, and why. */
export interface OmittedChart {
  id: string
  scenario?: string
  reason: string
}

/** Every chart of a file, and the ones left out with the reason. */
export interface ChartPlan {
  specs: ChartSpec[]
  omitted: OmittedChart[]
}

/** A chart spec before its caption, which is made from its subtitle. */
type Draft = Omit<ChartSpec, 'caption'>

/** The caption is the subtitle's lines: the conditions, the flags, the notes. */
function withCaption(d: Draft): ChartSpec {
  const sub = (d.config.options?.plugins as { subtitle?: { text?: string | string[] } } | undefined)?.subtitle
  const text = sub?.text
  const caption = Array.isArray(text) ? text.filter(Boolean).join(' · ') : (text ?? '')
  return { ...d, caption }
}

/** A transport's colour from the registry; a name this suite does not know (a file from a plugin) gets grey. */
export function transportColor(name: string): string {
  return isTransport(name) ? transport(name).color : '#777777'
}

/**
 * A row drawn in its twin's colour (the HTTP/2 rows, lib/transports.ts `dash`): its line dashed, and its bar
 * filled lighter inside a solid border of the colour. Other rows: a solid line, a solid bar.
 */
export function transportDash(name: string): number[] | undefined {
  const dash = isTransport(name) ? transport(name).dash : undefined
  return dash === undefined ? undefined : [...dash]
}

/** `borderDash` for a line of `name`, spread into its dataset (nothing for a solid line). */
const lineDash = (name: string): { borderDash?: number[] } => {
  const dash = transportDash(name)
  return dash === undefined ? {} : { borderDash: dash }
}

/** A bar's fill: the colour, or the colour at 40% where the row is its twin's dashed one. */
export function transportFill(name: string): string {
  const c = transportColor(name)
  return transportDash(name) === undefined ? c : `${c}66`
}

/** Bars of these transports: fills, and a border of the full colour where a fill is the lighter one. */
function barStyle(names: readonly string[]): {
  backgroundColor: string[]
  borderColor: string[]
  borderWidth: number[]
} {
  return {
    backgroundColor: names.map(transportFill),
    borderColor: names.map(transportColor),
    borderWidth: names.map((n) => (transportDash(n) === undefined ? 0 : 2)),
  }
}
const MEASURED = '#0072B2'
const MODEL = '#BBBBBB'
const REFERENCE = '#999999'

/** Ranges this wide or wider get a log axis: a 100x spread on a linear axis flattens the small values to zero. */
export const LOG_SPAN = 100

/**
 * A clients sweep this wide or wider is a scale sweep (the `scale` profile: cost growth with the number of
 * clients): its x axis is logarithmic, and it gets the memory and connect charts and the scale table.
 */
export const SCALE_SPAN = 30

const PARAM_AXIS: Record<keyof Params, string> = {
  clients: 'clients',
  tickHz: 'tick rate (Hz)',
  updatesPerTick: 'updates per tick',
  payloadBytes: 'payload (bytes)',
  pollIntervalMs: 'poll interval (ms)',
  durationS: 'window (s)',
  warmupS: 'warm-up (s)',
  maxWarmupS: 'longest warm-up (s)',
  writePolicy: 'write policy',
  seed: 'seed',
  symbols: 'symbols',
  rttMs: 'round-trip time (ms)',
  rooms: 'chat rooms',
  sendHz: 'messages a second per client',
}

const SWEEPABLE: readonly (keyof Params)[] = [
  'clients',
  'tickHz',
  'updatesPerTick',
  'payloadBytes',
  'pollIntervalMs',
  'writePolicy',
  'symbols',
  'rttMs',
]

export interface Sweep {
  /** the one param that differs between the scenarios */
  param: keyof Params
  /**
   * sorted by the swept value, one per value: scenarios of the file that share a value and ran disjoint
   * transports (the `scale` profile's `scale` and `scale-poll`) are merged into one, their results joined
   */
  scenarios: Scenario[]
  /** the file's scenarios on the sweep (absent: `scenarios`) */
  members?: Scenario[]
}

/**
 * Scenarios that differ in exactly one param form a sweep over it: three values or more (two for the
 * write policy, which has two), so that two unrelated scenarios that happen to differ in one param do not
 * make a line. When several scenarios share a swept value (the `full` profile measures its centre point
 * once per sweep), the one named for the param (`clients clients=100`, as bench.ts names them) is used,
 * else the first; unless they ran disjoint transports (a profile that splits its transports over two
 * scenarios of the same sweep), which are merged into one point.
 */
export function findSweeps(file: ResultsFile): Sweep[] {
  const sweeps: Sweep[] = []
  for (const param of SWEEPABLE) {
    const groups = new Map<string, Scenario[]>()
    for (const s of file.scenarios) {
      const { [param]: _swept, ...rest } = s.params
      const key = JSON.stringify(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)))
      groups.set(key, [...(groups.get(key) ?? []), s])
    }
    for (const group of groups.values()) {
      const byValue = new Map<unknown, Scenario[]>()
      for (const s of group) {
        const held = byValue.get(s.params[param])
        if (!held) byValue.set(s.params[param], [s])
        else if (disjoint(held, s)) held.push(s)
        else if (!namedFor(held[0] as Scenario, param) && namedFor(s, param))
          byValue.set(s.params[param], [s])
      }
      if (byValue.size < (param === 'writePolicy' ? 2 : 3)) continue
      const held = [...byValue.values()]
      sweeps.push({ param, scenarios: held.map(mergeScenarios).sort(byParam(param)), members: held.flat() })
    }
  }
  return sweeps
}

const namedFor = (s: Scenario, param: keyof Params): boolean => s.name.includes(`${param}=`)

const runKey = (r: RunResult): string => `${r.transport}/${r.server ?? 'pushbench'}`

/** True when `s` ran none of the transports (and servers) the scenarios `held` ran. */
function disjoint(held: readonly Scenario[], s: Scenario): boolean {
  const ran = new Set(held.flatMap((h) => h.results.map(runKey)))
  return s.results.length > 0 && s.results.every((r) => !ran.has(runKey(r)))
}

/** Scenarios of one swept value that ran disjoint transports, as one: the first's params, every result. */
function mergeScenarios(held: readonly Scenario[]): Scenario {
  const [first] = held as [Scenario, ...Scenario[]]
  if (held.length === 1) return first
  return { ...first, name: held.map((h) => h.name).join(' + '), results: held.flatMap((h) => h.results) }
}

/** chart.js types each chart type's config separately; the spec list holds any of them. */
const lineConfig = (c: ChartConfiguration<'line'>): ChartConfiguration => c as unknown as ChartConfiguration

const byParam = (param: keyof Params) => (a: Scenario, b: Scenario) => {
  const x = a.params[param]
  const y = b.params[param]
  return typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))
}

/**
 * Every chart of the file, in the order a reader wants them: per-scenario bar charts for scenarios not
 * on a sweep (latency percentiles, bytes measured vs model, CPU per update, throughput or capacity),
 * then per sweep one line chart per metric against the swept param.
 */
export function chartConfigs(file: ResultsFile): ChartSpec[] {
  return chartPlan(file).specs
}

/** chartConfigs, and the charts left out because they would carry no information (with the reason). */
export function chartPlan(file: ResultsFile): ChartPlan {
  const sweeps = findSweeps(file)
  const onSweep = new Set(sweeps.flatMap((sw) => sw.members ?? sw.scenarios))
  const single = file.scenarios.length === 1
  const specs: ChartSpec[] = []
  const omitted: OmittedChart[] = []
  for (const s of file.scenarios) {
    const prefix = single ? '' : `${slug(s.name)}-`
    if (onSweep.has(s)) {
      // its other figures are points on the sweep's lines; its latency distribution is its own
      for (const c of [distributionChart(s, prefix), capacityChart(s, prefix)])
        if (c) specs.push({ ...c, scenario: s.name })
      continue
    }
    const plan = scenarioChartPlan(s, prefix)
    specs.push(...plan.specs.map((c) => ({ ...c, scenario: s.name })))
    omitted.push(...plan.omitted.map((o) => ({ ...o, scenario: s.name })))
  }
  const seen = new Map<string, number>()
  for (const sw of sweeps) {
    const base = `sweep-${slug(sw.param)}`
    const n = (seen.get(base) ?? 0) + 1
    seen.set(base, n)
    specs.push(...sweepCharts(sw, n === 1 ? base : `${base}-${n}`))
  }
  return { specs, omitted }
}

/** The charts of one scenario. */
export function scenarioCharts(s: Scenario, idPrefix = ''): ChartSpec[] {
  return scenarioChartPlan(s, idPrefix).specs
}

/**
 * The charts of one scenario: the latency distribution, the percentile bars, bytes, CPU, memory per
 * connection, and capacity or throughput; a throughput chart whose bars all equal the offered rate says
 * nothing and is left out, with the reason.
 */
export function scenarioChartPlan(s: Scenario, idPrefix = ''): ChartPlan {
  const done = s.results.filter(isCompleted)
  if (done.length > 0 && done.every((r) => r.idle !== undefined)) {
    // nothing was published: latency, bytes per update, CPU per update and throughput have no subject
    return {
      specs: [],
      omitted: [
        {
          id: `${idPrefix}idle`,
          reason:
            'idle workload: nothing was published, so there are no per-update charts; the idle table has what a held connection costs',
        },
      ],
    }
  }
  const drafts = [
    distributionChart(s, idPrefix),
    latencyChart(s, idPrefix),
    bytesChart(s, idPrefix),
    cpuChart(s, idPrefix),
    memoryChart(s, idPrefix),
  ]
  const omitted: OmittedChart[] = []
  const cap = capacityChart(s, idPrefix)
  if (cap) drafts.push(cap)
  else {
    const flat = throughputCarriesNothing(s)
    if (flat) omitted.push({ id: `${idPrefix}throughput`, reason: flat })
    else drafts.push(throughputChart(s, idPrefix))
  }
  return { specs: drafts.filter((c): c is ChartSpec => c !== undefined), omitted }
}

/** Bars within this share of the offered rate are "equal to it". */
const FLAT_TOLERANCE = 0.02

/**
 * Why the throughput chart would carry no information (every transport delivered the offered rate, so
 * every bar is the same height), or undefined when it would.
 */
export function throughputCarriesNothing(s: Scenario): string | undefined {
  const done = s.results.filter(isCompleted)
  const offered = s.params.clients * s.params.tickHz * s.params.updatesPerTick
  if (done.length < 2 || offered <= 0) return undefined
  const flat = done.every((r) => Math.abs(deliveredPerSecond(r, s.params) / offered - 1) <= FLAT_TOLERANCE)
  if (!flat) return undefined
  return `throughput chart left out: every transport delivered the offered ${formatCount(offered)} updates/s (within ${FLAT_TOLERANCE * 100}%), so its bars would all be equal; the delivered column of the table has the counts`
}

function conditions(s: Scenario): string {
  return `${s.name}: ${describeParams(s.params, ['durationS', 'warmupS', 'maxWarmupS'])}`
}

const draft = (d: Draft | undefined): ChartSpec | undefined => (d ? withCaption(d) : undefined)

/** A bar's label names its transport and flags a run that did not measure the server. */
function transportLabel(r: RunResult): string {
  if (!isCompleted(r)) return `${r.transport} (errored)`
  const base = r.server === 'baseline' ? `${r.transport} (baseline)` : r.transport
  return r.generator.saturated ? `${base} (generator saturated)` : base
}

function flagsNote(s: Scenario): string[] {
  const notes: string[] = []
  const errored = s.results.filter((r) => !isCompleted(r)).map((r) => r.transport)
  const saturated = s.results.filter((r) => isCompleted(r) && r.generator.saturated).map((r) => r.transport)
  if (saturated.length > 0)
    notes.push(`generator saturated (measures the generator): ${saturated.join(', ')}`)
  if (errored.length > 0) notes.push(`errored, no data: ${errored.join(', ')}`)
  return notes
}

function valueAxis(title: string, values: readonly (number | null)[]): Record<string, unknown> {
  return { type: isLogSpan(values) ? 'logarithmic' : 'linear', title: { display: true, text: title } }
}

/** True when the positive values span LOG_SPAN x or more and none is zero (log axes cannot show zero). */
export function isLogSpan(values: readonly (number | null | undefined)[]): boolean {
  return spans(values, LOG_SPAN)
}

/** True when the values span `factor` x or more and none is zero or negative. */
export function spans(values: readonly (number | null | undefined)[], factor: number): boolean {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
  if (v.length < 2 || v.some((x) => x <= 0)) return false
  return Math.max(...v) / Math.min(...v) >= factor
}

function baseOptions<T extends ChartType>(title: string, subtitle: string[], legend = true): ChartOptions<T> {
  const options: ChartOptions<'bar'> = {
    plugins: {
      title: {
        display: true,
        text: title,
        font: { size: 16, weight: 'bold' },
        padding: { top: 6, bottom: 4 },
      },
      subtitle: { display: subtitle.length > 0, text: subtitle, padding: { bottom: 10 } },
      legend: legend ? { position: 'bottom' } : { display: false },
    },
  }
  return options as ChartOptions<T>
}

/** The metrics the bar charts draw (report/metrics.ts defines them); the latency chart's share one unit. */
const BAR_METRICS = {
  latency: ['p50', 'p90', 'p99', 'p999'],
  bytes: 'bytes-per-update',
  model: 'model-bytes-per-update',
  cpu: 'cpu-per-update',
  throughput: 'delivered-per-second',
} as const satisfies Record<string, MetricId | readonly MetricId[]>

/** Each completed result's value of a metric, null for an errored run (a gap). */
function valuesOf(s: Scenario, id: MetricId): (number | null)[] {
  const m = METRICS[id]
  return s.results.map((r) => (isCompleted(r) ? (m.read(r, s.params) ?? null) : null))
}

function latencyChart(s: Scenario, prefix: string): ChartSpec | undefined {
  return draft(latencyDraft(s, prefix))
}

function latencyDraft(s: Scenario, prefix: string): Draft | undefined {
  const done = s.results.filter(isCompleted)
  if (done.length === 0) return undefined
  // a percentile below a run's clock uncertainty reads as none (report/metrics.ts): no bar
  const pct = (r: CompletedResult) => BAR_METRICS.latency.map((id) => METRICS[id].read(r, s.params) ?? null)
  const all = done.flatMap(pct).filter((n): n is number => n !== null)
  const log = isLogSpan(all)
  const unit = METRICS.p50.unit
  const title = `Latency percentiles per transport (${unit}${log ? ', log scale' : ''}; ${betterText(METRICS.p50)})`
  return {
    id: `${prefix}latency`,
    title,
    config: {
      type: 'bar',
      data: {
        labels: BAR_METRICS.latency.map((id) => METRICS[id].header),
        datasets: done.map((r) => ({
          label: transportLabel(r),
          data: pct(r),
          backgroundColor: transportFill(r.transport),
          borderColor: transportColor(r.transport),
          borderWidth: transportDash(r.transport) === undefined ? 0 : 2,
        })),
      },
      options: {
        ...baseOptions(title, [conditions(s), 'publish to receive, same clock', ...flagsNote(s)]),
        scales: {
          x: { title: { display: true, text: 'percentile' } },
          y: valueAxis(`latency (${unit})`, all),
        },
      },
    },
  }
}

/** Which of the stored distribution's points the plot shows: every other one (two a decade), and the max. */
const plotted = (i: number, n: number): boolean => i % 2 === 0 || i === n - 1

/** `0` -> `min`, `100` -> `max`, else as few decimals as tell the neighbours apart: `68.38%`, `99.968%`. */
export function percentileLabel(p: number): string {
  if (p <= 0) return 'min'
  if (p >= 100) return 'max'
  const decimals = p < 99.9 ? 2 : p < 99.99 ? 3 : 4
  return `${Number(p.toFixed(decimals))}%`
}

/**
 * The HDR percentile distribution: latency against percentile, the percentiles evenly spaced on a log
 * scale of 1 / (1 - p) (a category axis, since the points are that ladder), out to 99.99 and the max, one
 * line per transport. Results files from before the distribution was stored have none: no chart.
 */
function distributionChart(s: Scenario, prefix: string): ChartSpec | undefined {
  const done = s.results.filter(isCompleted).filter((r) => (r.latencyMs.distribution?.length ?? 0) > 1)
  const first = done[0]?.latencyMs.distribution
  if (!first) return undefined
  const points = first.filter((_, i) => plotted(i, first.length)).map((d) => d.percentile)
  const series = done.map((r) => {
    const at = new Map((r.latencyMs.distribution ?? []).map((d) => [d.percentile, d.ms]))
    return { r, data: points.map((p) => at.get(p) ?? null) }
  })
  const all = series.flatMap((x) => x.data)
  const log = isLogSpan(all)
  const title = `Latency by percentile (ms${log ? ', log scale' : ''}; lower is better)`
  return draft({
    id: `${prefix}latency-distribution`,
    title,
    config: lineConfig({
      type: 'line',
      data: {
        labels: points.map(percentileLabel),
        datasets: series.map(({ r, data }) => ({
          label: transportLabel(r),
          data,
          borderColor: transportColor(r.transport),
          backgroundColor: transportColor(r.transport),
          ...lineDash(r.transport),
          pointRadius: 3,
          borderWidth: 2,
          spanGaps: false,
        })) as ChartDataset<'line'>[],
      },
      options: {
        ...baseOptions(title, [
          conditions(s),
          'publish to receive, same clock; HDR histogram at 1 us; percentiles evenly spaced on a log scale of 1/(1 - p)',
          ...flagsNote(s),
        ]),
        scales: {
          x: { type: 'category', title: { display: true, text: 'percentile (log scale of 1/(1 - p))' } },
          y: valueAxis('latency (ms)', all),
        },
      },
    }),
  })
}

/** Server memory per connection, KiB: what decides how many clients a box holds. */
function memoryChart(s: Scenario, prefix: string): ChartSpec | undefined {
  const m = METRICS['memory-per-connection']
  const done = s.results.filter(isCompleted).filter((r) => m.read(r, s.params) !== undefined)
  if (done.length === 0) return undefined
  const data = done.map((r) => Math.round(((m.read(r, s.params) ?? 0) / 1024) * 10) / 10)
  const title = `${m.chart.title} (${m.chart.unit}; ${betterText(m)})`
  return draft({
    id: `${prefix}memory`,
    title,
    config: {
      type: 'bar',
      data: {
        labels: done.map(transportLabel),
        datasets: [
          {
            label: m.chart.legend,
            data,
            ...barStyle(done.map((r) => r.transport)),
          },
        ],
      },
      options: {
        ...baseOptions(
          title,
          [
            conditions(s),
            'server RSS at the end of ramp-up minus its idle RSS (both after a full GC), over the connections it held; it moves by up to 30% between identical runs',
            ...flagsNote(s),
          ],
          false,
        ),
        scales: {
          x: { title: { display: true, text: 'transport' } },
          y: { ...valueAxis(m.chart.axis, data), beginAtZero: true },
        },
      },
    },
  })
}

function bytesChart(s: Scenario, prefix: string): ChartSpec | undefined {
  return draft(bytesDraft(s, prefix))
}

function bytesDraft(s: Scenario, prefix: string): Draft | undefined {
  if (s.results.length === 0) return undefined
  const measuredM = METRICS[BAR_METRICS.bytes]
  const modelM = METRICS[BAR_METRICS.model]
  const measured = valuesOf(s, measuredM.id)
  const model = valuesOf(s, modelM.id)
  const title = `Bytes on the wire per delivered update, measured vs model (${chartUnit(measuredM)}; ${betterText(measuredM)})`
  return {
    id: `${prefix}bytes`,
    title,
    config: {
      type: 'bar',
      data: {
        labels: s.results.map(transportLabel),
        datasets: [
          { label: measuredM.chart.legend, data: measured, backgroundColor: MEASURED },
          { label: modelM.chart.legend, data: model, backgroundColor: MODEL },
        ],
      },
      options: {
        ...baseOptions(title, [conditions(s), ...flagsNote(s)]),
        scales: {
          x: { title: { display: true, text: 'transport' } },
          y: { ...valueAxis(measuredM.chart.axis, [...measured, ...model]), beginAtZero: true },
        },
      },
    },
  }
}

function cpuChart(s: Scenario, prefix: string): ChartSpec | undefined {
  return draft(cpuDraft(s, prefix))
}

function cpuDraft(s: Scenario, prefix: string): Draft | undefined {
  if (s.results.length === 0) return undefined
  const m = METRICS[BAR_METRICS.cpu]
  const data = valuesOf(s, m.id)
  const title = `${m.chart.title} (microseconds, user + system; ${betterText(m)})`
  return {
    id: `${prefix}cpu`,
    title,
    config: {
      type: 'bar',
      data: {
        labels: s.results.map(transportLabel),
        datasets: [
          {
            label: m.chart.legend,
            data,
            ...barStyle(s.results.map((r) => r.transport)),
          },
        ],
      },
      options: {
        ...baseOptions(title, [conditions(s), ...flagsNote(s)], false),
        scales: {
          x: { title: { display: true, text: 'transport' } },
          y: { ...valueAxis(m.chart.axis, data), beginAtZero: true },
        },
      },
    },
  }
}

function throughputChart(s: Scenario, prefix: string): ChartSpec | undefined {
  return draft(throughputDraft(s, prefix))
}

function throughputDraft(s: Scenario, prefix: string): Draft | undefined {
  if (s.results.length === 0) return undefined
  const m = METRICS[BAR_METRICS.throughput]
  const data = valuesOf(s, m.id)
  const offered = s.params.clients * s.params.tickHz * s.params.updatesPerTick
  const title = `${m.chart.title}, all clients (${chartUnit(m)}; ${betterText(m)})`
  return {
    id: `${prefix}throughput`,
    title,
    config: {
      type: 'bar',
      data: {
        labels: s.results.map(transportLabel),
        datasets: [
          {
            label: m.chart.legend,
            data,
            ...barStyle(s.results.map((r) => r.transport)),
          },
        ],
      },
      options: {
        ...baseOptions(
          title,
          [
            conditions(s),
            `offered: ${formatCount(offered)} updates/s (clients x updates/s)`,
            ...flagsNote(s),
          ],
          false,
        ),
        scales: {
          x: { title: { display: true, text: 'transport' } },
          y: { ...valueAxis(m.unit, data), beginAtZero: true },
        },
      },
    },
  }
}

/** Offered vs delivered per capacity step: the knee is where the transport stops keeping up. */
function capacityChart(s: Scenario, prefix: string): ChartSpec | undefined {
  return draft(capacityDraft(s, prefix))
}

function capacityDraft(s: Scenario, prefix: string): Draft | undefined {
  const caps = s.capacity ?? []
  if (caps.length === 0) return undefined
  const xs = caps.flatMap((c) => c.steps.map((st) => st.offeredPerSecond))
  const ys = caps.flatMap((c) => c.steps.map((st) => st.deliveredPerSecond))
  const log = isLogSpan(xs)
  const title = `Capacity: delivered vs offered rate (per second${log ? ', log axes' : ''}; higher is better)`
  const datasets: ChartDataset<'line', { x: number; y: number }[]>[] = caps.map((c) => ({
    label: `${c.transport}${c.server === 'baseline' ? ' (baseline)' : ''}: max ${sig3(c.maxSustainedPerSecond)} ${c.unit}`,
    data: c.steps.map((st) => ({ x: st.offeredPerSecond, y: st.deliveredPerSecond })),
    borderColor: transportColor(c.transport),
    backgroundColor: transportColor(c.transport),
    ...lineDash(c.transport),
    // a failed step is drawn as a cross, a step with a saturated generator as a triangle
    pointStyle: c.steps.map((st) => (st.generatorSaturated ? 'triangle' : st.passed ? 'circle' : 'crossRot')),
    pointRadius: c.steps.map((st) => (st.passed && !st.generatorSaturated ? 3 : 7)),
    borderWidth: 2,
  }))
  // one unit when every search stepped the same thing, else plain rates
  const units = new Set(caps.map((c) => c.unit))
  const capUnit = units.size === 1 ? [...units][0] : 'per second'
  const lo = Math.min(...xs)
  const hi = Math.max(...xs)
  datasets.push({
    label: 'delivered = offered',
    data: [
      { x: lo, y: lo },
      { x: hi, y: hi },
    ],
    borderColor: REFERENCE,
    backgroundColor: REFERENCE,
    borderDash: [6, 4],
    borderWidth: 1,
    pointRadius: 0,
  })
  const limits = caps[0]?.limits
  const sub = [
    conditions(s),
    limits
      ? `a step passes when delivery >= ${sig3(limits.minDeliveryRatio * 100)}% and p99 <= ${sig3(limits.maxP99Ms)} ms; x = failed step, triangle = generator saturated`
      : '',
  ].filter(Boolean)
  return {
    id: `${prefix}capacity`,
    title,
    config: lineConfig({
      type: 'line',
      data: { datasets: datasets as ChartDataset<'line'>[] },
      options: {
        ...baseOptions(title, sub),
        scales: {
          x: {
            type: log ? 'logarithmic' : 'linear',
            title: { display: true, text: `offered (${capUnit})` },
          },
          y: {
            ...valueAxis(`delivered (${capUnit})`, [...ys, ...xs]),
            type: log ? 'logarithmic' : 'linear',
          },
        },
      },
    }),
  }
}

/** The sweep's charts, one per metric: the chart's id (in file names) and the metric it draws. */
const SWEEP_CHARTS: readonly { chart: string; metric: ChartedMetricId<'title' | 'axis'> }[] = [
  { chart: 'latency-p50', metric: 'p50' },
  { chart: 'latency-p99', metric: 'p99' },
  { chart: 'bytes', metric: 'bytes-per-update' },
  { chart: 'cpu', metric: 'cpu-per-update' },
  { chart: 'throughput', metric: 'delivered-per-second' },
]

/** Every metric id the charts read, for the catalogue's test. */
export const CHART_METRICS: readonly MetricId[] = [
  ...new Set<MetricId>([
    ...BAR_METRICS.latency,
    BAR_METRICS.bytes,
    BAR_METRICS.model,
    BAR_METRICS.cpu,
    BAR_METRICS.throughput,
    ...SWEEP_CHARTS.map((c) => c.metric),
  ]),
]

/** One line per transport against the swept param, a chart per metric. */
export function sweepCharts(sw: Sweep, idBase = `sweep-${slug(sw.param)}`): ChartSpec[] {
  const drafts = sweepDrafts(sw, idBase)
  if (isScaleSweep(sw) && hasRampFigures(sw)) drafts.push(...scaleDrafts(sw, idBase))
  if (sw.param === 'rttMs') {
    const f = freshnessDraft(sw, idBase)
    if (f) drafts.unshift(f)
  }
  return drafts.map(withCaption)
}

/**
 * Freshness against RTT: each transport's measured mean latency at each round-trip time (solid), beside
 * what the model predicts from its loopback row (dashed): the mean at the sweep's smallest RTT plus what
 * the model adds between that RTT and this one (load/model/freshness.ts, carried in `latencyModel`).
 */
function freshnessDraft(sw: Sweep, idBase: string): Draft | undefined {
  const transports = [...new Set(sw.scenarios.flatMap((s) => s.results.map((r) => r.transport)))]
  const first = sw.scenarios[0]
  if (!first) return undefined
  const datasets: ChartDataset<'line'>[] = []
  const ys: (number | null)[] = []
  for (const t of transports) {
    const rows = sw.scenarios.map((s) => {
      const r = s.results.find((x) => x.transport === t)
      return { x: s.params.rttMs ?? 0, r: r && isCompleted(r) ? r : undefined }
    })
    const base = rows.find((p) => p.r?.latencyModel !== undefined)
    if (!base?.r?.latencyModel) continue
    const baseMean = base.r.latencyMs.mean
    const baseAdded = base.r.latencyModel.addedMeanMs
    const measured = rows.map((p) => ({ x: p.x, y: p.r ? p.r.latencyMs.mean : null }))
    const model = rows.map((p) => ({
      x: p.x,
      y: p.r?.latencyModel ? baseMean + p.r.latencyModel.addedMeanMs - baseAdded : null,
    }))
    ys.push(...measured.map((p) => p.y), ...model.map((p) => p.y))
    const color = transportColor(t)
    datasets.push(
      {
        label: `${t} measured`,
        data: measured as { x: number; y: number }[],
        borderColor: color,
        backgroundColor: color,
        ...lineDash(t),
        borderWidth: 2,
        pointRadius: 4,
        spanGaps: false,
      },
      {
        label: `${t} model`,
        data: model as { x: number; y: number }[],
        borderColor: color,
        backgroundColor: color,
        borderDash: [6, 4],
        borderWidth: 1.5,
        pointRadius: 0,
        spanGaps: false,
      },
    )
  }
  if (datasets.length === 0) return undefined
  const fixed = describeParams(first.params, ['rttMs', 'durationS', 'warmupS', 'maxWarmupS'])
  const title = 'Freshness against RTT: mean latency, measured and modelled (ms; lower is better)'
  return {
    id: `${idBase}-freshness`,
    title,
    sweep: sw.param,
    config: lineConfig({
      type: 'line',
      data: { datasets },
      options: {
        ...baseOptions(title, [
          `rttMs sweep: ${fixed}`,
          'RTT emulated in the generator (delay line); dashed = loopback mean + what the model adds (load/model/freshness.ts)',
        ]),
        scales: {
          x: { type: 'linear', title: { display: true, text: PARAM_AXIS.rttMs } },
          // linear: the model is linear in RTT, and long polling's step at RTT = tick period shows as one
          y: { ...valueAxis('mean latency (ms)', ys), type: 'linear', beginAtZero: true },
        },
      },
    }),
  }
}

function sweepDrafts(sw: Sweep, idBase: string): Draft[] {
  const numeric = sw.scenarios.every((s) => typeof s.params[sw.param] === 'number')
  const xs = sw.scenarios.map((s) => s.params[sw.param])
  const xLog =
    numeric && (sw.param === 'clients' ? spans(xs as number[], SCALE_SPAN) : isLogSpan(xs as number[]))
  const transports = [...new Set(sw.scenarios.flatMap((s) => s.results.map((r) => r.transport)))]
  const first = sw.scenarios[0]
  const fixed = first ? describeParams(first.params, [sw.param, 'durationS', 'warmupS', 'maxWarmupS']) : ''
  const anySaturated = sw.scenarios.some((s) =>
    s.results.some((r) => isCompleted(r) && r.generator.saturated),
  )
  const anyErrored = sw.scenarios.some((s) => s.results.some((r) => !isCompleted(r)))
  const notes = [
    anySaturated ? 'triangle = generator saturated (that point measures the generator)' : '',
    anyErrored ? 'a gap = that run errored' : '',
  ]
    .filter(Boolean)
    .join('; ')
  return SWEEP_CHARTS.map(({ chart, metric }) => {
    const m = METRICS[metric]
    const series = transports.map((t) => {
      const pts = sw.scenarios.map((s) => {
        const r = s.results.find((x) => x.transport === t)
        const y = r && isCompleted(r) ? (m.read(r, s.params) ?? null) : null
        return { r, x: s.params[sw.param], y }
      })
      return { t, pts }
    })
    const ys = series.flatMap((se) => se.pts.map((p) => p.y))
    const yLog = isLogSpan(ys)
    const scaleNote = [xLog ? 'log x' : '', yLog ? 'log y' : ''].filter(Boolean).join(', ')
    const title = `${m.chart.title} vs ${PARAM_AXIS[sw.param]} (${chartUnit(m)}; ${betterText(m)}${scaleNote ? `; ${scaleNote}` : ''})`
    return {
      id: `${idBase}-${chart}`,
      title,
      sweep: sw.param,
      config: lineConfig({
        type: 'line',
        data: {
          ...(numeric ? {} : { labels: xs.map(String) }),
          datasets: series.map(({ t, pts }) => ({
            label: t,
            data: numeric ? pts.map((p) => ({ x: p.x as number, y: p.y as number })) : pts.map((p) => p.y),
            borderColor: transportColor(t),
            backgroundColor: transportColor(t),
            ...lineDash(t),
            pointStyle: pts.map((p) =>
              p.r && isCompleted(p.r) && p.r.generator.saturated ? 'triangle' : 'circle',
            ),
            pointRadius: pts.map((p) => (p.r && isCompleted(p.r) && p.r.generator.saturated ? 7 : 4)),
            borderWidth: 2,
            spanGaps: false,
          })) as ChartDataset<'line'>[],
        },
        options: {
          ...baseOptions(title, [`${sw.param} sweep: ${fixed}`, notes].filter(Boolean)),
          scales: {
            x: {
              type: numeric ? (xLog ? 'logarithmic' : 'linear') : 'category',
              title: { display: true, text: PARAM_AXIS[sw.param] },
            },
            y: { ...valueAxis(m.chart.axis, ys), ...(yLog ? {} : { beginAtZero: true }) },
          },
        },
      }),
    }
  })
}

/** A sweep of clients spanning SCALE_SPAN x or more: how cost grows with the number of clients. */
export function isScaleSweep(sw: Sweep): boolean {
  return (
    sw.param === 'clients' &&
    spans(
      sw.scenarios.map((s) => s.params.clients),
      SCALE_SPAN,
    )
  )
}

/** The file's scale sweeps (report/summary-table.ts builds their table). */
export function scaleSweeps(file: ResultsFile): Sweep[] {
  return findSweeps(file).filter(isScaleSweep)
}

/**
 * The generator measured its connect ramp (`generator.connectMs`, `generator.bytesPerConnection`): a file
 * from before it has the sweep's other charts only.
 */
function hasRampFigures(sw: Sweep): boolean {
  return sw.scenarios.some((s) =>
    s.results.some(
      (r) =>
        isCompleted(r) &&
        (r.generator.connectMs !== undefined || r.generator.bytesPerConnection !== undefined),
    ),
  )
}

interface ScalePoint {
  clients: number
  /** the completed run at that count; undefined when it errored or did not run */
  r: CompletedResult | undefined
}

/** One series per transport (the suite's own server), a point per client count of the sweep. */
function scaleSeries(sw: Sweep): { t: string; pts: ScalePoint[] }[] {
  const transports = [...new Set(sw.scenarios.flatMap((s) => s.results.map((r) => r.transport)))]
  return transports.map((t) => ({
    t,
    pts: sw.scenarios.map((s) => {
      const r = s.results.find((x) => x.transport === t && x.server !== 'baseline')
      return { clients: s.params.clients, r: r && isCompleted(r) ? r : undefined }
    }),
  }))
}

const isSaturated = (p: ScalePoint): boolean => p.r?.generator.saturated === true

/** A line of one figure: a gap where a run lacks it; a saturated generator's point is a large triangle. */
function scaleLine(
  label: string,
  t: string,
  pts: readonly ScalePoint[],
  read: (r: CompletedResult) => number | undefined,
  dashed = false,
): ChartDataset<'line'> {
  const color = transportColor(t)
  return {
    label,
    data: pts.map((p) => {
      const y = p.r ? read(p.r) : undefined
      return { x: p.clients, y: y === undefined ? null : y }
    }) as { x: number; y: number }[],
    borderColor: color,
    backgroundColor: color,
    pointStyle: pts.map((p) => (isSaturated(p) ? 'triangle' : dashed ? 'rect' : 'circle')),
    pointRadius: pts.map((p) => (isSaturated(p) ? 7 : 4)),
    borderWidth: dashed ? 1.5 : 2,
    ...(dashed ? { borderDash: [6, 4] } : lineDash(t)),
    spanGaps: false,
  }
}

/** `triangle = generator saturated: websocket at 20,000 clients`, or nothing when none was. */
function saturatedNote(series: readonly { t: string; pts: ScalePoint[] }[]): string {
  const where = series
    .map(({ t, pts }) => ({ t, at: pts.filter(isSaturated).map((p) => formatCount(p.clients)) }))
    .filter((x) => x.at.length > 0)
    .map((x) => `${x.t} at ${x.at.join(', ')}`)
  return where.length > 0
    ? `triangle = generator saturated, that point measures the generator: ${where.join('; ')} clients`
    : ''
}

const round = (n: number, digits: number): number => Number(n.toFixed(digits))

/**
 * A scale sweep's own charts, against clients on a log axis: memory per connection in the server (solid)
 * and in the generator (dashed), and how long the connect ramp took. Server CPU and bytes per delivered
 * update and p99 are the sweep's charts (sweepDrafts), on the same axis.
 */
function scaleDrafts(sw: Sweep, idBase: string): Draft[] {
  const series = scaleSeries(sw)
  const first = sw.scenarios[0]
  if (!first) return []
  const fixed = describeParams(first.params, ['clients', 'durationS', 'warmupS', 'maxWarmupS'])
  const saturated = saturatedNote(series)
  const kib = (b: number | undefined) => (b === undefined ? undefined : round(b / 1024, 2))
  const charts: {
    id: string
    what: string
    unit: string
    axis: string
    note: string
    lines: ChartDataset<'line'>[]
  }[] = [
    {
      id: 'memory',
      what: 'Memory per connection, server and generator',
      unit: 'KiB',
      axis: 'KiB per connection',
      note: 'solid = server, dashed = generator: RSS at the end of the connect ramp minus idle RSS (both after a full GC), over the connections held',
      lines: series.flatMap(({ t, pts }) => [
        scaleLine(`${t} server`, t, pts, (r) => kib(r.serverMemory.bytesPerConnection)),
        scaleLine(`${t} generator`, t, pts, (r) => kib(r.generator.bytesPerConnection), true),
      ]),
    },
    {
      id: 'connect',
      what: 'Connect time',
      unit: 's',
      axis: 'connect ramp (s)',
      note: "the generator's connect ramp: every client connected and subscribed",
      lines: series.map(({ t, pts }) =>
        scaleLine(t, t, pts, (r) =>
          r.generator.connectMs === undefined ? undefined : round(r.generator.connectMs / 1000, 3),
        ),
      ),
    },
  ]
  const drafts: Draft[] = []
  for (const c of charts) {
    const ys = c.lines.flatMap((d) => (d.data as { y: number | null }[]).map((p) => p.y))
    if (ys.every((y) => y === null)) continue
    const yLog = isLogSpan(ys)
    const title = `${c.what} vs clients (${c.unit}; lower is better; log x${yLog ? ', log y' : ''})`
    drafts.push({
      id: `${idBase}-${c.id}`,
      title,
      sweep: sw.param,
      config: lineConfig({
        type: 'line',
        data: { datasets: c.lines },
        options: {
          ...baseOptions(title, [`clients sweep: ${fixed}`, c.note, saturated].filter(Boolean)),
          scales: {
            x: { type: 'logarithmic', title: { display: true, text: PARAM_AXIS.clients } },
            y: { ...valueAxis(c.axis, ys), ...(yLog ? {} : { beginAtZero: true }) },
          },
        },
      }),
    })
  }
  return drafts
}
