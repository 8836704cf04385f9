/**
 * A fault scenario's tables (load/fault-run.ts rows): one per kind of fault, a row per transport. Restarts:
 * how long the clients took to come back and what they missed or got twice across the restart; the
 * storm: the same, with the server's CPU and memory peak; slow consumers: the server's cuts and memory,
 * the healthy clients' latency against their own baseline and the stated bound; kills: how long until the
 * run noticed, what it said, and what it kept.
 */
import type { FaultRow, Scenario } from '../lib/results-schema.ts'
import { formatBytes, formatCount, sig3 } from './format.ts'
import type { PlainTable } from './summary-table.ts'

/** The kinds in the order they are shown, with each table's heading. */
const HEADINGS: Record<string, string> = {
  restart: 'server restarted (SIGTERM, then a new server on the same port and epoch)',
  'restart-sigkill': 'server restarted (SIGKILL, then a new server on the same port and epoch)',
  'restart-gap': 'server restarted with a ring smaller than the downtime (updates lost, counted)',
  storm: 'reconnect storm: every connection cut at once by the running server',
  'slow-consumers': 'slow consumers among healthy clients',
  'kill-server': 'server killed (SIGKILL) mid-run',
  'kill-generator': 'generator killed (SIGKILL) mid-run',
}

export interface FaultTable {
  kind: string
  heading: string
  table: PlainTable
  /** columns whose figures are right-aligned */
  numeric: Set<string>
}

const ms = (n: number | undefined): string => (n === undefined ? '-' : `${sig3(n)} ms`)
const ok = (r: FaultRow): string => (r.ok ? 'yes' : 'NO')
const name = (r: FaultRow): string => `${r.transport} (${formatCount(r.clients)})`

function backColumns(r: FaultRow): string[] {
  const b = r.back
  return [
    b ? `${b.back}/${r.clients}` : '-',
    b ? `${ms(b.backMs.p50)} / ${ms(b.backMs.max)}` : '-',
    ms(b?.allBackMs),
    b && b.noticedMs.count > 0 ? ms(b.noticedMs.p50) : '-',
  ]
}

function updateColumns(r: FaultRow): string[] {
  const u = r.updates
  if (!u) return ['-', '-', '-', '-']
  const signalled =
    u.gapSeqs === undefined ? '-' : `${formatCount(u.gapSeqs)} (${formatCount(u.gapSignals ?? 0)})`
  return [formatCount(u.missed), signalled, formatCount(u.duplicated), formatCount(u.expected)]
}

const BACK = [
  { key: 'back', header: 'back', title: 'clients with a connection up again after the fault / clients' },
  {
    key: 'backMs',
    header: 'back p50 / max',
    title: "from the fault to a client's first answer on its new connection",
  },
  { key: 'allBack', header: 'all back', title: 'from the fault to the last client back' },
  { key: 'noticed', header: 'noticed p50', title: 'from the fault to a client seeing its connection gone' },
]
const UPDATES = [
  {
    key: 'missed',
    header: 'missed',
    title: 'updates published after a client started and never handed to it (from the seqs, exact)',
  },
  {
    key: 'gap',
    header: 'gap signalled (signals)',
    title: "seqs the server's gap signals declared lost (in missed too), and how many signals",
  },
  { key: 'dup', header: 'duplicated', title: 'updates handed to a client more than once' },
  { key: 'expected', header: 'expected', title: 'updates the clients should have had, summed over clients' },
]
const TRANSPORT = { key: 'transport', header: 'transport (clients)', title: 'transport, and its clients' }
const OK = { key: 'ok', header: 'ok', title: "the fault's own test held (see the results file's FaultRow)" }

function restartTable(rows: FaultRow[]): PlainTable {
  return {
    columns: [
      TRANSPORT,
      OK,
      { key: 'down', header: 'server down', title: 'from the signal to the new server listening' },
      { key: 'ring', header: 'ring', title: 'updates the servers keep for resume' },
      ...BACK,
      ...UPDATES,
      { key: 'refused', header: 'failed connects', title: 'connection attempts that failed after the fault' },
    ],
    rows: rows.map((r) => [
      name(r),
      ok(r),
      ms(r.restart?.downMs),
      r.restart?.ringSize === undefined ? 'default' : formatCount(r.restart.ringSize),
      ...backColumns(r),
      ...updateColumns(r),
      formatCount(r.connectErrors ?? 0),
    ]),
  }
}

function stormTable(rows: FaultRow[]): PlainTable {
  return {
    columns: [
      TRANSPORT,
      OK,
      { key: 'dropped', header: 'cut', title: 'connections the server cut' },
      ...BACK,
      {
        key: 'cpu',
        header: 'server CPU before / peak',
        title: 'cores: mean over the steady window, then the highest 100 ms slice of the storm',
      },
      { key: 'rss', header: 'RSS before / peak', title: "the server's resident memory" },
      { key: 'refused', header: 'failed connects', title: 'connection attempts that failed after the cut' },
      ...UPDATES.slice(0, 3),
    ],
    rows: rows.map((r) => {
      const s = r.storm
      return [
        name(r),
        ok(r),
        s ? formatCount(s.dropped) : '-',
        ...backColumns(r),
        s ? `${sig3(s.cpuBeforeCores)} / ${sig3(s.cpuPeakCores)}` : '-',
        s ? `${formatBytes(s.rssBeforeBytes)} / ${formatBytes(s.rssPeakBytes)}` : '-',
        formatCount(r.connectErrors ?? 0),
        ...updateColumns(r).slice(0, 3),
      ]
    }),
  }
}

function slowTable(rows: FaultRow[]): PlainTable {
  return {
    columns: [
      TRANSPORT,
      OK,
      {
        key: 'slow',
        header: 'slow',
        title: 'slow consumers added (read rates in turn, B/s; 0: never reads)',
      },
      { key: 'cut', header: 'cut by server', title: "the server's slow-consumer disconnects" },
      { key: 'allCut', header: 'all cut', title: 'from their connect to the last one cut' },
      {
        key: 'rss',
        header: 'RSS growth',
        title: "the server's resident memory, peak over the start of the phase",
      },
      {
        key: 'base',
        header: 'healthy p50 / p99 before',
        title: "the healthy clients' latency (publish to receipt) without slow consumers",
      },
      { key: 'with', header: 'with slow', title: 'the same clients with the slow consumers on' },
      { key: 'bound', header: 'p99 bound', title: 'the stated bound on the p99 with slow consumers' },
      { key: 'held', header: 'held', title: 'the p99 with slow consumers stayed within the bound' },
      UPDATES[0] as (typeof UPDATES)[number],
    ],
    rows: rows.map((r) => {
      const s = r.slow
      return [
        name(r),
        ok(r),
        s ? `${s.clients} (${s.readBytesPerSecond.join(', ')})` : '-',
        s ? formatCount(s.disconnects) : '-',
        ms(s?.allCutMs),
        s ? formatBytes(s.rssGrowthBytes) : '-',
        s ? `${ms(s.baseline.p50)} / ${ms(s.baseline.p99)}` : '-',
        s ? `${ms(s.withSlow.p50)} / ${ms(s.withSlow.p99)}` : '-',
        ms(s?.boundMs),
        s ? (s.held ? 'yes' : 'NO') : '-',
        r.updates ? formatCount(r.updates.missed) : '-',
      ]
    }),
  }
}

function killTable(rows: FaultRow[]): PlainTable {
  return {
    columns: [
      TRANSPORT,
      OK,
      { key: 'noticed', header: 'noticed', title: 'from the kill to the run noticing the death' },
      { key: 'ended', header: 'ended', title: 'from the kill to every child stopped and the row kept' },
      { key: 'message', header: 'message', title: 'what the run said' },
      { key: 'kept', header: 'kept', title: 'what was measured and kept (the partial result)' },
    ],
    rows: rows.map((r) => [
      name(r),
      ok(r),
      ms(r.kill?.noticedMs),
      ms(r.kill?.endedMs),
      r.kill?.message ?? '-',
      r.kill?.kept ?? '-',
    ]),
  }
}

/** Every fault table of a scenario, in the kinds' order; none when it has no fault rows. */
export function buildFaultTables(s: Scenario): FaultTable[] {
  const rows = s.faults ?? []
  const kinds = [...new Set(rows.map((r) => r.kind))].sort(
    (a, b) => order(a) - order(b) || a.localeCompare(b),
  )
  return kinds.map((kind) => {
    const mine = rows.filter((r) => r.kind === kind)
    const table = kind.startsWith('restart')
      ? restartTable(mine)
      : kind === 'storm'
        ? stormTable(mine)
        : kind === 'slow-consumers'
          ? slowTable(mine)
          : killTable(mine)
    const text = new Set(['transport', 'ok', 'message', 'kept', 'held', 'slow'])
    return {
      kind,
      heading: HEADINGS[kind] ?? kind,
      table,
      numeric: new Set(table.columns.map((c) => c.key).filter((k) => !text.has(k))),
    }
  })
}

function order(kind: string): number {
  const i = Object.keys(HEADINGS).indexOf(kind)
  return i < 0 ? 99 : i
}

/** A fault scenario's conditions in one line. */
export function describeFaults(s: Scenario): string | undefined {
  const r = s.faults?.[0]
  if (!r) return undefined
  const p = s.params
  return [
    `${formatCount(r.clients)} reconnecting clients per transport`,
    `${sig3(p.tickHz * p.updatesPerTick)} updates/s of ${formatCount(p.payloadBytes)} B`,
    `polls every ${formatCount(p.pollIntervalMs)} ms`,
    'SSE: the retry the server sends; WebSocket and polls after errors: 0.5 s x2 up to 5 s, full jitter',
  ].join(' · ')
}
