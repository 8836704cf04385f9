/**
 * The metrics catalogue: every metric the reporters show, defined once (id, header, label, unit, what it
 * is, how to read it from a completed result, which way is better, how to format it, compare's default
 * threshold and noise floor, its chart texts). The summary table (summary-table.ts), compare (compare.ts)
 * and the charts (chart-configs.ts) each pick the ids they show, in their own order, and read the rest here.
 */
import type { CompletedResult, Params } from '../lib/results-schema.ts'
import {
  deliveredPerSecond,
  expectedUpdates,
  formatBytes,
  formatCount,
  formatMs,
  formatPercent,
  sig3,
} from './format.ts'

export type Better = 'lower' | 'higher'

/** What compare needs beyond the metric itself. */
export interface MetricCompare {
  /** default allowed worsening, percent of BASE (`--threshold id=PCT` overrides it); 0 = any worsening */
  threshold: number
  /** a change smaller than this (absolute, in `unit`) never counts: timer and scheduler noise; absent = 0 */
  floor?: number
  /** show `BASE -> HEAD` values in the table instead of a percentage (a count that should stay 0) */
  values?: boolean
}

/** How the charts name the metric (each part where a chart uses it). */
export interface MetricChart {
  /** a chart of it: `Latency p99`, `Server CPU per delivered update` */
  title?: string
  /** its value axis: `latency p99 (ms)` */
  axis?: string
  /** the unit as chart titles spell it, when not `unit`: `bytes` */
  unit?: string
  /** its dataset's label: `delivered updates/s` */
  legend?: string
}

export interface Metric {
  /** stable id, kebab-case; compare's ids are also its `--threshold` names */
  id: string
  /** column header, short: `p99`, `B/update`, `CPU us/upd` */
  header: string
  /** name in a sentence: `latency p99`, `bytes per update` */
  label: string
  /** unit that `format` prints: `ms`, `B`, `us`, `%`, `updates/s`; '' for a count of updates */
  unit: string
  /** what it is, one line (the summary's column tooltip and legend) */
  doc: string
  /** which way is better; undefined: neither, no winner and no regression */
  better: Better | undefined
  /** its value in a completed result; undefined where the field is optional and absent */
  read: (r: CompletedResult, p: Params) => number | undefined
  /** the value with its unit: `17.2 ms`, `130 B` */
  format: (n: number) => string
  /** the value in a table column, whose header may carry the unit; absent = `format` */
  cell?: (n: number, r: CompletedResult, p: Params) => string
  /** what runs are ranked by for the summary's winner, when not the value itself */
  rank?: (r: CompletedResult, p: Params) => number
  compare?: MetricCompare
  chart?: MetricChart
}

/** Delivered updates as a share of what all clients should have seen (0 when nothing was expected). */
function deliveredShare(r: CompletedResult, p: Params): number {
  const e = expectedUpdates(r, p)
  return e > 0 ? r.updates.delivered / e : 0
}

const bare = (n: number): string => sig3(n)

/**
 * The catalogue, grouped as docs/metrics.md is: latency, delivery, bytes, CPU and memory. Compare's
 * thresholds are defaults for a noisy shared CI machine: latency and CPU swing run to run by 10-20% on a
 * busy 2-core VM (+25%, +15%); bytes per update are nearly deterministic, but a heartbeat, a ping or a
 * poll that straddles the window edge moves them by a fraction of a percent (+1%); delivered may drop by
 * one tick's worth at the window edges (-5%); missed: any increase (from 0, anything missed at all).
 */
/**
 * A latency figure, or nothing when it is below the clock uncertainty of a run against another host
 * (results' `clock`, load/clock-offset.ts): the suite does not report what the clocks cannot tell apart.
 */
const measurable = (r: CompletedResult, ms: number): number | undefined =>
  r.clock !== undefined && ms < r.clock.uncertaintyMs ? undefined : ms

export const CATALOGUE = [
  {
    id: 'p50',
    header: 'p50',
    label: 'latency p50',
    unit: 'ms',
    doc: 'median latency, publish to receive',
    better: 'lower',
    read: (r) => measurable(r, r.latencyMs.p50),
    format: formatMs,
    compare: { threshold: 25, floor: 0.1 },
    chart: { title: 'Latency p50', axis: 'latency p50 (ms)' },
  },
  {
    id: 'p90',
    header: 'p90',
    label: 'latency p90',
    unit: 'ms',
    doc: '90th percentile latency',
    better: 'lower',
    read: (r) => measurable(r, r.latencyMs.p90),
    format: formatMs,
  },
  {
    id: 'p99',
    header: 'p99',
    label: 'latency p99',
    unit: 'ms',
    doc: '99th percentile latency',
    better: 'lower',
    read: (r) => measurable(r, r.latencyMs.p99),
    format: formatMs,
    compare: { threshold: 25, floor: 0.1 },
    chart: { title: 'Latency p99', axis: 'latency p99 (ms)' },
  },
  {
    id: 'p999',
    header: 'p99.9',
    label: 'latency p99.9',
    unit: 'ms',
    doc: '99.9th percentile latency',
    better: 'lower',
    read: (r) => measurable(r, r.latencyMs.p999),
    format: formatMs,
  },
  {
    id: 'delivered',
    header: 'delivered',
    label: 'delivered',
    unit: '',
    doc: 'updates delivered, all clients (share of what they should have seen)',
    better: 'higher',
    read: (r) => r.updates.delivered,
    format: formatCount,
    cell: (n, r, p) => `${formatCount(n)} (${sig3(Math.min(deliveredShare(r, p), 9.99) * 100)}%)`,
    // runs' windows publish different numbers of updates: rank by the share, not the count
    rank: deliveredShare,
    compare: { threshold: 5 },
  },
  {
    id: 'missed',
    header: 'missed',
    label: 'missed',
    unit: '',
    doc: 'updates a client should have seen and never did',
    better: 'lower',
    read: (r) => r.updates.missed,
    format: formatCount,
    compare: { threshold: 0, values: true },
  },
  {
    id: 'delivered-per-second',
    header: 'delivered/s',
    label: 'delivered per second',
    unit: 'updates/s',
    doc: 'delivered updates a second over the window, all clients',
    better: 'higher',
    read: (r, p) => deliveredPerSecond(r, p),
    format: (n) => `${formatCount(n)} updates/s`,
    chart: {
      title: 'Delivered updates per second',
      axis: 'delivered updates/s',
      legend: 'delivered updates/s',
    },
  },
  {
    id: 'bytes-per-update',
    header: 'B/update',
    label: 'bytes per update',
    unit: 'B',
    doc: 'bytes on the wire per delivered update, both directions, measured at the server sockets',
    better: 'lower',
    read: (r) => r.bytes.perDeliveredUpdate,
    format: (n) => `${sig3(n)} B`,
    cell: bare,
    compare: { threshold: 1 },
    chart: {
      title: 'Bytes per delivered update',
      axis: 'bytes per update (B)',
      unit: 'bytes',
      legend: 'measured (server sockets, both directions)',
    },
  },
  {
    id: 'model-bytes-per-update',
    header: 'model B/upd',
    label: 'model bytes per update',
    unit: 'B',
    doc: 'the least bytes per update the transport must cost, from the params',
    better: 'lower',
    read: (r) => r.bytes.modelPerUpdate,
    format: (n) => `${sig3(n)} B`,
    cell: bare,
    chart: { legend: 'model (least the transport must cost)' },
  },
  {
    id: 'cpu-percent',
    header: 'CPU %',
    label: 'server CPU',
    unit: '%',
    doc: 'server CPU (user + system) as % of one core',
    better: 'lower',
    read: (r) => r.serverCpu.percentOfCore,
    format: formatPercent,
  },
  {
    id: 'cpu-per-update',
    header: 'CPU us/upd',
    label: 'CPU per update',
    unit: 'us',
    doc: 'server CPU microseconds per delivered update',
    better: 'lower',
    read: (r) => r.serverCpu.usPerDeliveredUpdate,
    format: (n) => `${sig3(n)} us`,
    cell: bare,
    compare: { threshold: 15, floor: 0.5 },
    chart: {
      title: 'Server CPU per delivered update',
      axis: 'us per delivered update',
      legend: 'server CPU per delivered update (us)',
    },
  },
  {
    id: 'gen-cpu-per-update',
    header: 'gen us/upd',
    label: 'generator CPU per update',
    unit: 'us',
    doc: 'load generator CPU microseconds per delivered update: what the instrument costs',
    better: undefined,
    read: (r) => r.generator.usPerDeliveredUpdate,
    format: (n) => `${sig3(n)} us`,
    cell: bare,
  },
  {
    id: 'gen-cost-ratio',
    header: 'gen/srv',
    label: 'generator cost ratio',
    unit: 'x',
    doc: "generator CPU per update over the server's: below 1 the instrument costs less than what it measures",
    better: undefined,
    read: (r) => r.generator.costRatio,
    format: (n) => `${sig3(n)}x`,
  },
  {
    id: 'rss-max',
    header: 'RSS max',
    label: 'peak RSS',
    unit: 'B',
    doc: 'peak resident memory of the server process',
    better: 'lower',
    read: (r) => r.serverMemory.rssMaxBytes,
    format: formatBytes,
  },
  {
    id: 'memory-per-connection',
    header: 'mem/conn',
    label: 'memory per connection',
    unit: 'B',
    doc: 'server RSS above its idle baseline per connection held, at the end of the connect ramp (both after a full GC)',
    better: 'lower',
    read: (r) => r.serverMemory.bytesPerConnection,
    format: formatBytes,
    chart: {
      title: 'Server memory per connection',
      axis: 'KiB per connection',
      unit: 'KiB',
      legend: 'RSS above idle / connections, end of ramp-up',
    },
  },
] as const satisfies readonly Metric[]

type Entry = (typeof CATALOGUE)[number]
export type MetricId = Entry['id']
/** ids of the metrics compare can judge: a default threshold and a direction */
export type ComparableMetricId = Extract<Entry, { compare: MetricCompare; better: Better }>['id']
/** ids of the metrics whose chart texts include the parts K: `ChartedMetricId<'title' | 'axis'>` */
export type ChartedMetricId<K extends keyof MetricChart = never> = Extract<
  Entry,
  { chart: Required<Pick<MetricChart, K>> }
>['id']

/**
 * An entry typed as precisely as it is written: `read` returns `number` for a field the schema requires
 * (undefined only for an optional one), and `compare`, `chart` and `cell` are present where it has them.
 */
type Typed<E extends Entry> = Omit<Metric, keyof E> &
  Omit<E, 'read' | 'cell' | 'compare' | 'chart'> &
  Pick<Required<Metric>, Extract<keyof E, 'cell'>> & {
    [K in Extract<keyof E, 'compare' | 'chart'>]: E[K] & Metric[K]
  } & { read: (r: CompletedResult, p: Params) => ReturnType<E['read']> }

/** The catalogue by id. */
export const METRICS = Object.freeze(Object.fromEntries(CATALOGUE.map((m) => [m.id, m]))) as unknown as {
  readonly [E in Entry as E['id']]: Typed<E>
}

/** `lower is better`, `higher is better`, or '' for a metric with no direction. */
export function betterText(m: Pick<Metric, 'better'>): string {
  return m.better ? `${m.better} is better` : ''
}

/** The unit as chart titles spell it. */
export function chartUnit(m: Pick<Metric, 'unit' | 'chart'>): string {
  return m.chart?.unit ?? m.unit
}
