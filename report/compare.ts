/**
 * Compares two results files (BASE, HEAD) metric by metric and decides what regressed. Pure: the CLI
 * (scripts/compare.ts) reads the files, prints formatComparison and exits 1 when `regressed`.
 */
import { PbOptionError } from '../lib/errors.ts'
import { type CompletedResult, isCompleted, type Params, type ResultsFile } from '../lib/results-schema.ts'
import { formatDelta, resultLabel } from './format.ts'
import { type ComparableMetricId, METRICS } from './metrics.ts'

/** The metrics compared, in column order; their ids are the `--threshold` names (report/metrics.ts defines each). */
export const COMPARE_METRICS = [
  'p50',
  'p99',
  'cpu-per-update',
  'bytes-per-update',
  'delivered',
  'missed',
] as const satisfies readonly ComparableMetricId[]
export type CompareMetric = (typeof COMPARE_METRICS)[number]

/** Allowed worsening per metric, percent of BASE; `null` switches the check off. */
export type Thresholds = Readonly<Record<CompareMetric, number | null>>

/** Each metric's default threshold from the catalogue (report/metrics.ts says why each is what it is). */
export const DEFAULT_THRESHOLDS: Thresholds = Object.freeze(
  Object.fromEntries(COMPARE_METRICS.map((id) => [id, METRICS[id].compare.threshold])) as Record<
    CompareMetric,
    number
  >,
)

/** Parses `metric=pct` (`p99=30`, `bytes-per-update=0.5`, `missed=off`). Throws naming `--threshold`. */
export function parseThreshold(spec: string): [CompareMetric, number | null] {
  const m = /^([a-z0-9-]+)=(.+)$/.exec(spec.trim())
  const metrics = COMPARE_METRICS.join(', ')
  if (!m)
    throw new PbOptionError(
      '--threshold',
      `expected METRIC=PERCENT (metrics: ${metrics}), got ${JSON.stringify(spec)}`,
    )
  const [, name, raw] = m as unknown as [string, string, string]
  if (!(COMPARE_METRICS as readonly string[]).includes(name))
    throw new PbOptionError('--threshold', `unknown metric ${JSON.stringify(name)}; metrics: ${metrics}`)
  if (raw === 'off') return [name as CompareMetric, null]
  const pct = Number(raw.replace(/%$/, ''))
  if (raw.trim() === '' || !Number.isFinite(pct) || pct < 0)
    throw new PbOptionError(
      '--threshold',
      `${name}: percent must be a number >= 0 or "off", got ${JSON.stringify(raw)}`,
    )
  return [name as CompareMetric, pct]
}

/** The defaults overridden by each `metric=pct` in order. */
export function resolveThresholds(specs: readonly string[] = []): Thresholds {
  const t: Record<CompareMetric, number | null> = { ...DEFAULT_THRESHOLDS }
  for (const s of specs) {
    const [k, v] = parseThreshold(s)
    t[k] = v
  }
  return Object.freeze(t)
}

export interface MetricDelta {
  metric: CompareMetric
  label: string
  base: number
  head: number
  /** (head - base) / base x 100; +Infinity when base is 0 and head is not */
  deltaPct: number
  limitPct: number | null
  regressed: boolean
}

export type PairStatus =
  | 'compared'
  | 'missing-in-head'
  | 'missing-in-base'
  | 'errored-in-head'
  | 'errored-in-base'
  | 'errored'

export interface PairComparison {
  scenario: string
  /** transport, with ` (baseline)` for the bare baseline server */
  transport: string
  status: PairStatus
  metrics: MetricDelta[]
  notes: string[]
}

export interface Regression {
  scenario: string
  transport: string
  /** the metric, or `run` for a transport that errored or went missing */
  metric: CompareMetric | 'run'
  text: string
}

export interface Comparison {
  base: { runId: string; commit: string; profile: string }
  head: { runId: string; commit: string; profile: string }
  thresholds: Thresholds
  pairs: PairComparison[]
  /** per scenario: params that differ, scenarios present on one side only */
  scenarioNotes: { scenario: string; text: string }[]
  /** env differences that make deltas less meaningful */
  envNotes: string[]
  regressions: Regression[]
  regressed: boolean
}

export interface CompareOptions {
  /** a scenario or transport in BASE and not in HEAD is reported but does not fail */
  allowMissing?: boolean
}

const keyOf = resultLabel

/**
 * Matches scenarios by name and results by transport (and server). Regressions: a metric worse than its
 * threshold (and than its noise floor), a transport that completed in BASE and errored in HEAD, and one
 * missing from HEAD (unless allowMissing).
 */
export function compareResults(
  base: ResultsFile,
  head: ResultsFile,
  thresholds: Thresholds = DEFAULT_THRESHOLDS,
  opts: CompareOptions = {},
): Comparison {
  const pairs: PairComparison[] = []
  const scenarioNotes: Comparison['scenarioNotes'] = []
  const regressions: Regression[] = []
  const headScenarios = new Map(head.scenarios.map((s) => [s.name, s]))
  const baseNames = new Set(base.scenarios.map((s) => s.name))

  for (const bs of base.scenarios) {
    const hs = headScenarios.get(bs.name)
    if (!hs) {
      scenarioNotes.push({ scenario: bs.name, text: 'missing in HEAD' })
      if (!opts.allowMissing)
        regressions.push({
          scenario: bs.name,
          transport: '*',
          metric: 'run',
          text: 'scenario missing in HEAD',
        })
      continue
    }
    const diff = paramsDiff(bs.params, hs.params)
    if (diff)
      scenarioNotes.push({
        scenario: bs.name,
        text: `params differ (${diff}): the deltas compare different conditions`,
      })
    const headResults = new Map(hs.results.map((r) => [keyOf(r), r]))
    const seen = new Set<string>()
    for (const br of bs.results) {
      const key = keyOf(br)
      seen.add(key)
      const hr = headResults.get(key)
      const at = { scenario: bs.name, transport: key }
      if (!hr) {
        pairs.push({ ...at, status: 'missing-in-head', metrics: [], notes: [] })
        if (!opts.allowMissing) regressions.push({ ...at, metric: 'run', text: 'missing in HEAD' })
        continue
      }
      if (!isCompleted(br) || !isCompleted(hr)) {
        const status: PairStatus =
          !isCompleted(br) && !isCompleted(hr)
            ? 'errored'
            : isCompleted(br)
              ? 'errored-in-head'
              : 'errored-in-base'
        const notes = [
          !isCompleted(br) ? `BASE errored: ${br.error}` : '',
          !isCompleted(hr) ? `HEAD errored: ${hr.error}` : '',
        ].filter(Boolean)
        pairs.push({ ...at, status, metrics: [], notes })
        if (status === 'errored-in-head')
          regressions.push({
            ...at,
            metric: 'run',
            text: `errored in HEAD: ${(hr as { error: string }).error}`,
          })
        continue
      }
      const metrics = COMPARE_METRICS.map((id) => delta(id, br, bs.params, hr, hs.params, thresholds[id]))
      const notes: string[] = []
      const saturated = [br.generator.saturated ? 'BASE' : '', hr.generator.saturated ? 'HEAD' : ''].filter(
        Boolean,
      )
      if (saturated.length > 0)
        notes.push(`generator saturated in ${saturated.join(' and ')}: those numbers measure the generator`)
      pairs.push({ ...at, status: 'compared', metrics, notes })
      for (const d of metrics.filter((x) => x.regressed)) {
        const m = METRICS[d.metric]
        regressions.push({
          ...at,
          metric: d.metric,
          text: `${d.label} ${m.format(d.base)} -> ${m.format(d.head)} (${formatDelta(d.deltaPct)}, limit ${limitText(d.metric, d.limitPct)})`,
        })
      }
    }
    for (const hr of hs.results)
      if (!seen.has(keyOf(hr)))
        pairs.push({
          scenario: bs.name,
          transport: keyOf(hr),
          status: 'missing-in-base',
          metrics: [],
          notes: [],
        })
  }
  for (const hs of head.scenarios)
    if (!baseNames.has(hs.name))
      scenarioNotes.push({ scenario: hs.name, text: 'new in HEAD (not in BASE): not compared' })

  return {
    base: { runId: base.runId, commit: base.env.commit, profile: base.profile },
    head: { runId: head.runId, commit: head.env.commit, profile: head.profile },
    thresholds,
    pairs,
    scenarioNotes,
    envNotes: envDiff(base, head),
    regressions,
    regressed: regressions.length > 0,
  }
}

function delta(
  id: CompareMetric,
  br: CompletedResult,
  bp: Params,
  hr: CompletedResult,
  hp: Params,
  limitPct: number | null,
): MetricDelta {
  const m = METRICS[id]
  const base = m.read(br, bp)
  const head = m.read(hr, hp)
  // a latency below either run's clock uncertainty is not a figure (report/metrics.ts): nothing to compare
  if (base === undefined || head === undefined)
    return {
      metric: id,
      label: m.label,
      base: base ?? Number.NaN,
      head: head ?? Number.NaN,
      deltaPct: Number.NaN,
      limitPct,
      regressed: false,
    }
  const floor = m.compare.floor ?? 0
  const deltaPct = base === 0 ? (head === 0 ? 0 : Number.POSITIVE_INFINITY) : ((head - base) / base) * 100
  const worsePct = m.better === 'lower' ? deltaPct : -deltaPct
  const worse = m.better === 'lower' ? head > base : head < base
  const regressed = limitPct !== null && worse && worsePct > limitPct && Math.abs(head - base) > floor
  return { metric: id, label: m.label, base, head, deltaPct, limitPct, regressed }
}

/** A threshold as a reader reads it: `+25%`, `-5%`, `any increase`, `off`. */
export function limitText(metric: CompareMetric, pct: number | null): string {
  if (pct === null) return 'off'
  if (pct === 0) return 'any increase'
  return METRICS[metric].better === 'higher' ? `-${pct}%` : `+${pct}%`
}

/** A noise floor with its unit: `0.1 ms`. */
function floorText(metric: CompareMetric): string {
  const m = METRICS[metric]
  return `${m.compare.floor ?? 0} ${m.unit}`
}

function paramsDiff(a: Params, b: Params): string {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])] as (keyof Params)[]
  return keys
    .filter((k) => a[k] !== b[k])
    .map((k) => `${k} ${String(a[k])} -> ${String(b[k])}`)
    .join(', ')
}

function envDiff(base: ResultsFile, head: ResultsFile): string[] {
  const notes: string[] = []
  const { env: a } = base
  const { env: b } = head
  if (a.cpuModel !== b.cpuModel || a.cores !== b.cores)
    notes.push(`different machines: ${a.cpuModel} x${a.cores} -> ${b.cpuModel} x${b.cores}`)
  if (a.node !== b.node) notes.push(`node ${a.node} -> ${b.node}`)
  if (a.pinned !== b.pinned) notes.push(`pinning differs: ${String(a.pinned)} -> ${String(b.pinned)}`)
  if (base.partial || head.partial)
    notes.push(
      `partial run: ${[base.partial ? 'BASE' : '', head.partial ? 'HEAD' : ''].filter(Boolean).join(' and ')}`,
    )
  return notes
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips the ANSI codes this file adds
const visible = (s: string): number => s.replace(/\x1b\[[0-9;]*m/g, '').length

/** The comparison as a table per scenario (deltas; `!` marks a regression), then the regressions named, then the verdict. */
export function formatComparison(c: Comparison, opts: { color?: boolean } = {}): string {
  const paint = (code: string) => (s: string) => (opts.color ? `\x1b[${code}m${s}\x1b[0m` : s)
  const red = paint('1;31')
  const green = paint('32')
  const bold = paint('1')
  const dim = paint('2')
  const out: string[] = []
  out.push(`BASE ${c.base.runId} (commit ${c.base.commit.slice(0, 12)}, profile ${c.base.profile})`)
  out.push(`HEAD ${c.head.runId} (commit ${c.head.commit.slice(0, 12)}, profile ${c.head.profile})`)
  out.push(
    dim(
      `thresholds: ${COMPARE_METRICS.map((m) => `${m} ${limitText(m, c.thresholds[m])}`).join(', ')}; latency changes under ${floorText('p50')} and CPU under ${floorText('cpu-per-update')}/update are noise`,
    ),
  )
  for (const n of c.envNotes) out.push(`note: ${n}`)

  const scenarios = [
    ...new Set([...c.pairs.map((p) => p.scenario), ...c.scenarioNotes.map((n) => n.scenario)]),
  ]
  for (const name of scenarios) {
    out.push('', bold(`== ${name} ==`))
    for (const n of c.scenarioNotes.filter((x) => x.scenario === name)) out.push(`note: ${n.text}`)
    const pairs = c.pairs.filter((p) => p.scenario === name)
    if (pairs.length === 0) continue
    // metric headers get the two-character mark slot the cells have, so they line up
    const rows: string[][] = [
      ['transport', ...COMPARE_METRICS.map((id) => `${METRICS[id].header}  `)].map(bold),
    ]
    for (const p of pairs) {
      if (p.status !== 'compared') {
        rows.push([
          p.transport,
          p.status === 'errored-in-head' || p.status === 'missing-in-head' ? red(p.status) : p.status,
        ])
        continue
      }
      rows.push([
        p.transport,
        ...p.metrics.map((d) => {
          // a count that should stay 0 (missed) shows the counts, not a percentage
          const m = METRICS[d.metric]
          const text = m.compare.values
            ? `${m.format(d.base)} -> ${m.format(d.head)}`
            : formatDelta(d.deltaPct)
          return d.regressed ? red(`${text} !`) : `${text}  `
        }),
      ])
    }
    const width = (rows[0] ?? []).map((_, i) =>
      Math.max(...rows.filter((r) => r.length > 2).map((r) => visible(r[i] ?? ''))),
    )
    for (const r of rows)
      out.push(
        r
          .map((cell, i) =>
            i === 0 || r.length <= 2
              ? cell.padEnd(cell.length + (width[i] ?? 0) - visible(cell))
              : ' '.repeat(Math.max(0, (width[i] ?? 0) - visible(cell))) + cell,
          )
          .join('  ')
          .trimEnd(),
      )
    for (const p of pairs) for (const n of p.notes) out.push(dim(`note: ${p.transport}: ${n}`))
  }

  out.push('')
  if (c.regressed) {
    out.push(red(`REGRESSIONS (${c.regressions.length}):`))
    for (const r of c.regressions) out.push(red(`  ${r.scenario} / ${r.transport}: ${r.text}`))
    out.push(
      `FAIL: ${c.regressions.length} regression${c.regressions.length === 1 ? '' : 's'} past the thresholds`,
    )
  } else {
    const compared = c.pairs.filter((p) => p.status === 'compared').length
    out.push(green(`OK: no regression past the thresholds (${compared} transport runs compared)`))
  }
  return `${out.join('\n')}\n`
}
