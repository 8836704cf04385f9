/**
 * The summary as data (rows, cells, winners), rendered as terminal text by summary.ts and as HTML
 * tables by html.ts, so both always show the same numbers and mark the same winners.
 */
import {
  type AutocannonResult,
  type Capacity,
  type CompletedResult,
  isCompleted,
  type MicroCase,
  type Params,
  type Scenario,
} from '../lib/results-schema.ts'
import { isScaleSweep, type Sweep } from './chart-configs.ts'
import { type CostPoint, describeGrowth, flatUntil } from './cost-growth.ts'
import {
  describeParams,
  formatBytes,
  formatCount,
  formatMs,
  formatPercent,
  resultLabel,
  sig3,
} from './format.ts'
import { METRICS, type MetricId } from './metrics.ts'

/** The metric columns of the summary table, in order (report/metrics.ts defines each). */
export const SUMMARY_METRICS = [
  'p50',
  'p99',
  'delivered',
  'missed',
  'bytes-per-update',
  'model-bytes-per-update',
  'cpu-percent',
  'cpu-per-update',
  'gen-cpu-per-update',
  'gen-cost-ratio',
  'rss-max',
  'memory-per-connection',
] as const satisfies readonly MetricId[]

export interface SummaryColumn {
  key: string
  header: string
  title: string
}

export interface SummaryCell {
  text: string
  /** best value of its column among the comparable rows */
  winner: boolean
}

export interface SummaryRow {
  transport: string
  /** set for an errored run: there are no cells then */
  error?: string
  saturated: boolean
  partial: boolean
  /** one per metric column, in column order; empty for an errored run */
  cells: SummaryCell[]
}

export interface SummaryTable {
  scenario: string
  params: Params
  /** transport first, the metric columns, then `gen. saturated` */
  columns: SummaryColumn[]
  rows: SummaryRow[]
}

export const TRANSPORT_COLUMN: SummaryColumn = { key: 'transport', header: 'transport', title: 'transport' }
export const SATURATED_COLUMN: SummaryColumn = {
  key: 'saturated',
  header: 'gen. saturated',
  title: 'the load generator ran out of CPU: the row measures the generator, not the server',
}

/**
 * Builds one scenario's table. Winners are picked among the suite's own completed runs whose generator
 * kept up (all completed runs if none did); bare baseline servers are references, not candidates. A
 * column where every candidate ties marks none.
 */
export function buildSummaryTable(s: Scenario): SummaryTable {
  const completed = s.results.filter(isCompleted).filter((r) => r.server !== 'baseline')
  const fair = completed.filter((r) => !r.generator.saturated)
  const candidates = new Set<CompletedResult>(fair.length > 0 ? fair : completed)
  const winners = new Map<string, Set<CompletedResult>>()
  for (const id of SUMMARY_METRICS) {
    const m = METRICS[id]
    if (!m.better) continue
    const rank = m.rank ?? m.read
    // ties are judged at the 3 significant digits the reader sees, so equal-looking cells are both marked
    const vals = [...candidates].map((r) => ({
      r,
      v: Number((rank(r, s.params) ?? Number.NaN).toPrecision(3)),
    }))
    if (vals.length < 2) continue
    const best = m.better === 'lower' ? Math.min(...vals.map((t) => t.v)) : Math.max(...vals.map((t) => t.v))
    const won = vals.filter((t) => t.v === best)
    if (won.length === vals.length) continue
    winners.set(id, new Set(won.map((t) => t.r)))
  }
  const rows: SummaryRow[] = s.results.map((r) => {
    if (!isCompleted(r))
      return { transport: resultLabel(r), error: r.error, saturated: false, partial: false, cells: [] }
    return {
      transport: resultLabel(r),
      saturated: r.generator.saturated,
      partial: r.state === 'partial',
      cells: SUMMARY_METRICS.map((id) => {
        const m = METRICS[id]
        const v = m.read(r, s.params)
        // an optional field an older results file lacks
        if (v === undefined) return { text: '-', winner: false }
        return {
          text: m.cell ? m.cell(v, r, s.params) : m.format(v),
          winner: winners.get(id)?.has(r) ?? false,
        }
      }),
    }
  })
  return {
    scenario: s.name,
    params: s.params,
    columns: [
      TRANSPORT_COLUMN,
      ...SUMMARY_METRICS.map((id) => ({ key: id, header: METRICS[id].header, title: METRICS[id].doc })),
      SATURATED_COLUMN,
    ],
    rows,
  }
}

export interface PlainTable {
  columns: SummaryColumn[]
  rows: string[][]
}

/** Two quotas' maxima per core that differ by less than this are called linear. */
export const LINEAR_TOLERANCE = 0.2

/**
 * A server's capacity per core, from searches under CPU quotas: each search's maximum divided by its
 * quota. Said only when two quotas of the same transport and server agree within LINEAR_TOLERANCE and the
 * server, not the generator, set both limits; otherwise why not.
 */
export function perCore(c: Capacity, all: readonly Capacity[]): string {
  const cores = c.serverCpuCores
  if (cores === undefined) return ''
  const own = c.maxSustainedPerSecond / cores
  if (own === 0) return 'nothing sustained'
  const peers = all.filter(
    (o) =>
      o !== c &&
      o.transport === c.transport &&
      (o.server ?? 'pushbench') === (c.server ?? 'pushbench') &&
      o.serverCpuCores !== undefined &&
      o.serverCpuCores !== cores,
  )
  if (peers.length === 0) return `${formatCount(own)} (one quota: linearity unchecked)`
  if ([c, ...peers].some((o) => o.limitedBy !== 'server')) return 'not all limited by the server'
  const ratios = peers.map((o) => o.maxSustainedPerSecond / (o.serverCpuCores as number) / own)
  const linear = ratios.every((r) => Math.abs(r - 1) <= LINEAR_TOLERANCE)
  return linear
    ? `${formatCount(own)} (linear)`
    : `not linear (${ratios.map((r) => `${sig3(r)}x`).join(', ')})`
}

/** The capacity search: the highest rate each transport sustained within the limits. */
export function buildCapacityTable(capacity: readonly Capacity[]): PlainTable {
  const capped = capacity.some((c) => c.serverCpuCores !== undefined)
  return {
    columns: [
      TRANSPORT_COLUMN,
      { key: 'max', header: 'max sustained', title: 'highest offered rate that met both limits' },
      { key: 'clients', header: 'clients', title: 'connected clients during the search' },
      { key: 'limits', header: 'limits', title: 'a step passes when delivery and p99 stay within these' },
      { key: 'steps', header: 'steps', title: 'steps passed / run' },
      {
        key: 'limitedBy',
        header: 'limited by',
        title:
          'the busier process at the step that ended the search: "generator" makes the maximum a lower bound for the server',
      },
      {
        key: 'ceiling',
        header: 'server ceiling (CPU)',
        title: "updates/s one core of server CPU allows at the best step's cost per delivered update",
      },
      ...(capped
        ? [
            { key: 'quota', header: 'server quota', title: 'the CPU quota the server ran under (cores)' },
            {
              key: 'perCore',
              header: 'per core',
              title:
                'max sustained / quota, when two quotas agree within 20% (linear) and the server set both limits',
            },
          ]
        : []),
      { key: 'stopped', header: 'stopped because', title: 'why the search ended' },
    ],
    rows: capacity.map((c) => [
      resultLabel(c),
      `${c.limitedBy === 'generator' ? '>= ' : ''}${formatCount(c.maxSustainedPerSecond)} ${c.unit}`,
      formatCount(c.clients),
      `delivery >= ${sig3(c.limits.minDeliveryRatio * 100)}%, p99 <= ${formatMs(c.limits.maxP99Ms)}`,
      `${c.steps.filter((st) => st.passed).length}/${c.steps.length}`,
      c.limitedBy ?? '',
      c.serverCeilingPerSecond !== undefined ? `~${formatCount(c.serverCeilingPerSecond)} ${c.unit}` : '',
      ...(capped
        ? [c.serverCpuCores !== undefined ? `${sig3(c.serverCpuCores)} core` : '', perCore(c, capacity)]
        : []),
      c.stoppedBecause,
    ]),
  }
}

/** autocannon reports latency in whole milliseconds: 0 means under 1 ms, not 0 us. */
const acMs = (ms: number): string => (ms < 1 ? '< 1 ms' : `${sig3(ms)} ms`)

/** autocannon against one endpoint, in one line. */
export function describeAutocannon(a: AutocannonResult): string {
  const cpu = [
    a.serverCpuPercent !== undefined ? `server CPU ${formatPercent(a.serverCpuPercent)}` : '',
    a.generatorCpuPercent !== undefined ? `autocannon CPU ${formatPercent(a.generatorCpuPercent)}` : '',
  ]
    .filter(Boolean)
    .join(', ')
  return (
    `autocannon${(a as { server?: string }).server === 'baseline' ? ' (baseline server)' : ''} GET ${a.path}, ${a.connections} connections, ${sig3(a.durationS)} s: ` +
    `${formatCount(a.requestsPerSecond)} req/s, p50 ${acMs(a.latencyMs.p50)}, p99 ${acMs(a.latencyMs.p99)}, ` +
    `${formatBytes(a.bytesReadPerSecond)}/s read, ${formatCount(a.non2xx)} non-2xx, ${formatCount(a.errors)} errors` +
    (cpu ? ` (${cpu})` : '')
  )
}

/** The autocannon runs of a scenario: against the suite's server, then against the bare baseline when it ran. */
export function autocannonRuns(s: Scenario): AutocannonResult[] {
  // `autocannonBaseline` is newer than some results files; read it without requiring it
  const baseline = (s as { autocannonBaseline?: AutocannonResult }).autocannonBaseline
  return [s.autocannon, baseline ? { ...baseline, server: 'baseline' } : undefined].filter(
    (a): a is AutocannonResult => a !== undefined,
  )
}

/** Micro-benchmarks (tinybench), one row per case. */
export function buildMicroTable(micro: readonly MicroCase[]): PlainTable {
  return {
    columns: [
      { key: 'group', header: 'group', title: 'what is measured' },
      { key: 'name', header: 'case', title: 'implementation' },
      { key: 'payload', header: 'payload', title: 'update size, bytes' },
      { key: 'ops', header: 'ops/s', title: 'operations a second' },
      { key: 'mean', header: 'mean', title: 'mean time per operation' },
      { key: 'p99', header: 'p99', title: '99th percentile time per operation' },
      { key: 'rme', header: '±', title: 'relative margin of error' },
    ],
    rows: micro.map((m) => [
      m.group,
      m.name,
      m.payloadBytes !== undefined ? formatBytes(m.payloadBytes) : '',
      formatCount(m.opsPerSecond),
      formatNs(m.meanNs),
      formatNs(m.p99Ns),
      `${sig3(m.rme)}%`,
    ]),
  }
}

function formatNs(ns: number): string {
  if (ns >= 1e6) return `${sig3(ns / 1e6)} ms`
  if (ns >= 1e3) return `${sig3(ns / 1e3)} us`
  return `${sig3(ns)} ns`
}

/** DESIGN target: the suite's server reaches at least this share of the bare baseline's throughput. */
export const BASELINE_TARGET_RATIO = 0.9

/**
 * The suite's servers held against the bare baselines of the same scenario, per transport that has both.
 * A server's throughput on its one core is what its CPU cost per delivered update allows
 * (1e6 / us per update): the ratio of the two costs is the ratio of what each pushes at saturation,
 * and it is measured without the generator in the way. When both ran a capacity search, its ratio too.
 */
export function buildBaselineTable(s: Scenario): PlainTable | undefined {
  const completed = s.results.filter(isCompleted)
  const rows: string[][] = []
  const cpu = METRICS['cpu-per-update']
  for (const own of completed.filter((r) => r.server !== 'baseline')) {
    const base = completed.find((r) => r.server === 'baseline' && r.transport === own.transport)
    if (!base) continue
    const ownUs = cpu.read(own, s.params)
    const baseUs = cpu.read(base, s.params)
    const ratio = ownUs > 0 ? baseUs / ownUs : 0
    const capOwn = s.capacity?.find((c) => c.transport === own.transport && c.server !== 'baseline')
    const capBase = s.capacity?.find((c) => c.transport === own.transport && c.server === 'baseline')
    const capOwnMax = capOwn?.maxSustainedDeliveredPerSecond ?? 0
    const capBaseMax = capBase?.maxSustainedDeliveredPerSecond ?? 0
    // a search that stopped at the generator's limit measured the generator: no server ratio from it
    const serverBound = capOwn?.limitedBy !== 'generator' && capBase?.limitedBy !== 'generator'
    const capRatio =
      capOwnMax > 0 && capBaseMax > 0
        ? serverBound
          ? `${sig3(capOwnMax / capBaseMax)}x`
          : 'n/a (generator-bound)'
        : ''
    rows.push([
      own.transport,
      cpu.cell(ownUs, own, s.params),
      cpu.cell(baseUs, base, s.params),
      ownUs > 0 ? formatCount(Math.round(1e6 / ownUs)) : '',
      baseUs > 0 ? formatCount(Math.round(1e6 / baseUs)) : '',
      `${sig3(ratio)}x`,
      capRatio,
      ratio >= BASELINE_TARGET_RATIO ? 'yes' : 'NO',
    ])
  }
  if (rows.length === 0) return undefined
  return {
    columns: [
      TRANSPORT_COLUMN,
      { key: 'own', header: 'us/upd', title: "the suite's server: CPU microseconds per delivered update" },
      { key: 'base', header: 'baseline us/upd', title: 'the bare baseline server, same scenario' },
      {
        key: 'ownMax',
        header: 'upd/s per core',
        title: "1e6 / us per update: the suite's server at saturation",
      },
      { key: 'baseMax', header: 'baseline upd/s per core', title: 'the same for the bare baseline' },
      {
        key: 'ratio',
        header: 'ratio',
        title: "baseline cost / the suite's cost: share of the baseline's throughput",
      },
      {
        key: 'cap',
        header: 'capacity ratio',
        title: 'max sustained delivered/s, suite / baseline (when both searched)',
      },
      { key: 'ok', header: `>= ${BASELINE_TARGET_RATIO}x`, title: 'meets the target of DESIGN.md' },
    ],
    rows,
  }
}

/** The idle workload's table: what a held connection costs a minute with nothing published, per transport. */
export function buildIdleTable(s: Scenario): PlainTable | undefined {
  const rows = s.results.filter(isCompleted).filter((r) => r.idle !== undefined)
  if (rows.length === 0) return undefined
  const interval = (r: CompletedResult): string => {
    const i = r.idle
    if (!i) return '-'
    const kind = r.transport
    if (kind === 'sse' && i.heartbeatMs !== undefined)
      return `heartbeat every ${sig3(i.heartbeatMs / 1000)} s`
    if (kind === 'websocket' && i.pingIntervalMs !== undefined)
      return `ping every ${sig3(i.pingIntervalMs / 1000)} s`
    if (kind === 'long-poll' && i.longPollTimeoutMs !== undefined)
      return `held ${sig3(i.longPollTimeoutMs / 1000)} s, then 204`
    if (kind === 'short-poll') return `poll every ${sig3(i.pollIntervalMs / 1000)} s`
    return '-'
  }
  return {
    columns: [
      { key: 'transport', header: 'transport', title: 'transport (server)' },
      {
        key: 'what',
        header: 'what keeps it alive',
        title: 'what the connection carries with nothing published',
      },
      {
        key: 'bytes',
        header: 'B/conn/min',
        title: 'bytes both ways per held connection per minute (application level)',
      },
      { key: 'c2s', header: 'up', title: 'client to server, bytes per connection per minute' },
      { key: 's2c', header: 'down', title: 'server to client, bytes per connection per minute' },
      {
        key: 'cpu',
        header: 'CPU ms/conn/min',
        title: 'server CPU (user + system) per held connection per minute',
      },
    ],
    rows: rows.map((r) => {
      const i = r.idle as NonNullable<CompletedResult['idle']>
      return [
        resultLabel(r),
        interval(r),
        formatCount(i.bytesPerConnectionPerMinute),
        formatCount(i.clientToServerPerConnectionPerMinute),
        formatCount(i.serverToClientPerConnectionPerMinute),
        sig3(i.serverCpuMsPerConnectionPerMinute),
      ]
    }),
  }
}

const pair = (b: { clientToServer: number; serverToClient: number }): string =>
  `${formatCount(Math.round(b.clientToServer))} / ${formatCount(Math.round(b.serverToClient))}`

/**
 * A lifecycle scenario's table: per transport, connect to first update and close to 'close' (p50, with the
 * model's figure), the bytes of each (one update in the setup), the link's bytes and packets per
 * connection (wire mode), and where TIME_WAIT was left.
 */
export function buildLifecycleTable(s: Scenario): PlainTable | undefined {
  const rows = s.lifecycle ?? []
  if (rows.length === 0) return undefined
  return {
    columns: [
      { key: 'transport', header: 'transport', title: 'transport, and TLS when on' },
      {
        key: 'first',
        header: 'to 1st update',
        title: 'connect start to the first update, p50 ms (model: setup round trips x RTT)',
      },
      {
        key: 'setup',
        header: 'setup B up / down',
        title:
          'bytes from connect to the first update, TCP payload (TLS records included), mean over setups that carried one update',
      },
      { key: 'close', header: 'close', title: "close start to the socket's close, p50 ms (model: one RTT)" },
      {
        key: 'closeB',
        header: 'close B up / down',
        title: 'bytes of the close (WebSocket close frames; HTTP: none, TCP FIN carries no payload)',
      },
      {
        key: 'link',
        header: 'link B/conn up / down',
        title:
          'wire mode: link bytes (Ethernet, IP, TCP headers, handshake, ACKs, FINs) per connection, whole life',
      },
      { key: 'packets', header: 'packets up / down', title: 'wire mode: packets per connection, whole life' },
      {
        key: 'tw',
        header: 'TIME_WAIT srv / cli',
        title:
          'sockets left in TIME_WAIT by the connections, server side / client side (the side that closed first)',
      },
    ],
    rows: rows.map((r) => {
      const one = r.setupOneUpdate.connections > 0 ? r.setupOneUpdate : r.setup
      return [
        `${r.transport}${r.tls ? ' (TLS)' : ''}`,
        `${sig3(r.firstUpdateMs.p50)} ms (${sig3(r.model.firstUpdateMs)})`,
        pair(one),
        `${sig3(r.closeMs.p50)} ms (${sig3(r.model.closeMs)})`,
        pair(r.closeNoUpdate.connections > 0 ? r.closeNoUpdate : r.close),
        r.link ? pair(r.link) : '-',
        r.link ? `${sig3(r.link.packetsClientToServer)} / ${sig3(r.link.packetsServerToClient)}` : '-',
        `${r.timeWait.server} / ${r.timeWait.client}`,
      ]
    }),
  }
}

/** Short polling's K polls on one keep-alive connection against K connections without keep-alive. */
export function buildPollModesTable(s: Scenario): PlainTable | undefined {
  const r = (s.lifecycle ?? []).find((x) => x.shortPoll !== undefined)
  const sp = r?.shortPoll
  if (!r || !sp) return undefined
  const row = (name: string, m: typeof sp.keepAlive): string[] => [
    `${r.transport}${r.tls ? ' (TLS)' : ''} ${name}`,
    formatCount(m.connections),
    `${sig3(m.pollMs.p50)} ms`,
    pair(m.perPoll),
    m.link
      ? pair({
          clientToServer: m.link.clientToServer / m.polls,
          serverToClient: m.link.serverToClient / m.polls,
        })
      : '-',
    `${m.timeWait.server} / ${m.timeWait.client}`,
  ]
  return {
    columns: [
      {
        key: 'mode',
        header: `${r.pollsPerConnection} polls`,
        title: 'short polling, with and without keep-alive',
      },
      { key: 'conns', header: 'connections', title: 'TCP connections opened' },
      { key: 'poll', header: 'poll p50', title: 'request written (or connect start) to answer parsed, p50' },
      { key: 'bytes', header: 'B/poll up / down', title: 'TCP payload per poll' },
      {
        key: 'link',
        header: 'link B/poll up / down',
        title: 'wire mode: link bytes per poll, handshakes and closes included',
      },
      { key: 'tw', header: 'TIME_WAIT srv / cli', title: 'sockets left in TIME_WAIT, server / client' },
    ],
    rows: [row('keep-alive', sp.keepAlive), row('no keep-alive', sp.noKeepAlive)],
  }
}

/** A scale sweep's table, with one line per transport on how its server CPU per update grows. */
export interface ScaleTable extends PlainTable {
  /** the scenarios it is made of, without their `clients=N`: `scale, scale-poll` */
  title: string
  /** the params they share (all but clients) */
  conditions: string
  /** per transport: `sse: cost flat to 3,000 clients (around 12 us/update); rises 80% by 20,000` */
  growth: string[]
}

/** The scale table's numeric columns, right-aligned by the reporters. */
export const SCALE_NUMERIC: readonly string[] = [
  'clients',
  'cpu',
  'bytes',
  'srvMem',
  'genMem',
  'p99',
  'connect',
  'srvElu',
  'genElu',
  'sources',
]

const orDash = (v: number | undefined, f: (n: number) => string): string => (v === undefined ? '-' : f(v))
const kib = (b: number): string => sig3(b / 1024)
const elu = (u: number): string => formatPercent(u * 100)

/**
 * The cost of each transport at each client count of a clients sweep spanning 30x or more (the `scale`
 * profile; report/chart-configs.ts `isScaleSweep`), undefined for any other sweep. One row per transport
 * and count, in the order the transports first appear, then by clients; a count a transport did not run
 * has no row. Under it, per transport, where its server CPU per delivered update stops being flat
 * (report/cost-growth.ts), from the points whose generator kept up.
 */
export function buildScaleTable(sw: Sweep): ScaleTable | undefined {
  if (!isScaleSweep(sw)) return undefined
  const labels = [...new Set(sw.scenarios.flatMap((s) => s.results.map(resultLabel)))]
  const rows: string[][] = []
  const growth: string[] = []
  for (const label of labels) {
    const points: CostPoint[] = []
    const leftOut: string[] = []
    for (const s of sw.scenarios) {
      const r = s.results.find((x) => resultLabel(x) === label)
      if (!r) continue
      const clients = formatCount(s.params.clients)
      if (!isCompleted(r)) {
        rows.push([label, clients, ...Array<string>(9).fill('-'), `errored: ${r.error.split('\n')[0]}`])
        continue
      }
      const g = r.generator
      const flags = [
        g.saturated ? 'saturated' : '',
        g.busy ? 'busy' : '',
        r.updates.missed > 0 ? `missed ${formatCount(r.updates.missed)}` : '',
        r.state === 'partial' ? 'partial' : '',
      ].filter(Boolean)
      rows.push([
        label,
        clients,
        sig3(r.serverCpu.usPerDeliveredUpdate),
        sig3(r.bytes.perDeliveredUpdate),
        orDash(r.serverMemory.bytesPerConnection, kib),
        orDash(g.bytesPerConnection, kib),
        formatMs(r.latencyMs.p99),
        orDash(g.connectMs, (ms) => `${sig3(ms / 1000)} s`),
        orDash(r.serverCpu.eventLoopUtilization, elu),
        elu(g.eventLoopUtilization),
        orDash(g.sourceAddresses, formatCount),
        flags.join(', '),
      ])
      // a saturated generator measured itself: its point does not say how the server's cost grows
      if (g.saturated) leftOut.push(clients)
      else points.push({ clients: s.params.clients, cost: r.serverCpu.usPerDeliveredUpdate })
    }
    const g = points.length >= 2 ? flatUntil(points) : undefined
    const out = leftOut.length > 0 ? ` (left out, generator saturated: ${leftOut.join(', ')})` : ''
    growth.push(
      g
        ? `${label}: ${describeGrowth(g)}${out}`
        : `${label}: too few points to tell how its cost grows${out}`,
    )
  }
  const first = sw.scenarios[0]
  const names = [
    ...new Set((sw.members ?? sw.scenarios).flatMap((s) => s.name.split(' + ').map(withoutClients))),
  ]
  return {
    title: names.join(', '),
    conditions: first ? describeParams(first.params, ['clients']) : '',
    columns: [
      TRANSPORT_COLUMN,
      { key: 'clients', header: 'clients', title: 'connected clients' },
      { key: 'cpu', header: 'us/upd', title: METRICS['cpu-per-update'].doc },
      { key: 'bytes', header: 'B/upd', title: METRICS['bytes-per-update'].doc },
      {
        key: 'srvMem',
        header: 'srv KiB/conn',
        title:
          'server RSS above its idle baseline per connection, at the end of the connect ramp (after a full GC)',
      },
      {
        key: 'genMem',
        header: 'gen KiB/conn',
        title: "the generator's RSS above its idle baseline per connection, at the end of the connect ramp",
      },
      { key: 'p99', header: 'p99', title: METRICS.p99.doc },
      { key: 'connect', header: 'connect', title: "the generator's connect ramp: every client connected" },
      { key: 'srvElu', header: 'srv ELU', title: "the server's event loop utilisation over the window" },
      {
        key: 'genElu',
        header: 'gen ELU',
        title: "the generator's event loop utilisation (the busiest process)",
      },
      {
        key: 'sources',
        header: 'src addrs',
        title:
          'loopback source addresses the client sockets were spread over (each holds half the ephemeral port range)',
      },
      {
        key: 'flags',
        header: 'flags',
        title:
          'saturated: the generator ran out of CPU (the row measures it); busy: the latency is an upper bound; missed: updates never delivered',
      },
    ],
    rows,
    growth,
  }
}

/** `scale clients=300` -> `scale` */
const withoutClients = (name: string): string => name.replace(/\s*\bclients=\S+/g, '').trim() || name
