/** Number and text formatting shared by the terminal summary, the HTML report, the chart titles and compare. */
import type { CompletedResult, Env, Params, RunResult, Scenario } from '../lib/results-schema.ts'

/** Three significant digits, grouped thousands from 1,000 up: 0.612, 8.41, 125, 10,000. */
export function sig3(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  const a = Math.abs(n)
  if (a >= 1000) return Math.round(n).toLocaleString('en-US')
  if (a === 0) return '0'
  return String(Number(n.toPrecision(3)))
}

/** Latency in ms, shown in us below 1 ms (loopback push latency lives there). */
export function formatMs(ms: number): string {
  // a latency not reported (below a run's clock uncertainty: report/metrics.ts)
  if (Number.isNaN(ms)) return 'n/a'
  if (ms < 1) return `${sig3(ms * 1000)} us`
  return `${sig3(ms)} ms`
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 * 1024) return `${sig3(n / 1024 ** 3)} GiB`
  if (n >= 1024 * 1024) return `${sig3(n / 1024 ** 2)} MiB`
  if (n >= 1024) return `${sig3(n / 1024)} KiB`
  return `${sig3(n)} B`
}

export function formatPercent(p: number): string {
  return `${sig3(p)}%`
}

/** Signed relative change: +12.3%, -4.0%, +inf% when the base is 0. */
export function formatDelta(pct: number): string {
  if (pct === Number.POSITIVE_INFINITY) return '+inf%'
  if (!Number.isFinite(pct)) return 'n/a'
  const s = Math.abs(pct) >= 100 ? pct.toFixed(0) : pct.toFixed(1)
  return `${pct > 0 ? '+' : ''}${s === '-0.0' ? '0.0' : s}%`
}

/** The transport, and ` (baseline)` for the bare baseline server it is held against. */
export function resultLabel(r: Pick<RunResult, 'transport' | 'server'>): string {
  return r.server === 'baseline' ? `${r.transport} (baseline)` : r.transport
}

/** Updates a second the scenario publishes. */
export const updatesPerSecond = (p: Params): number => p.tickHz * p.updatesPerTick

/** Delivered updates a second over the window, from the field when present, else from the count. */
export function deliveredPerSecond(r: CompletedResult, p: Params): number {
  if (r.deliveredPerSecond !== undefined) return r.deliveredPerSecond
  const windowS = r.windowMs !== undefined && r.windowMs > 0 ? r.windowMs / 1000 : p.durationS
  return windowS > 0 ? r.updates.delivered / windowS : 0
}

/** What every client should have seen: `expected`, else published x clients. */
export function expectedUpdates(r: CompletedResult, p: Params): number {
  return r.updates.expected ?? r.updates.published * p.clients
}

/** The conditions of a scenario in one line, e.g. `1,000 clients · 10 updates/s (10 Hz x 1) · 128 B · ...`. */
export function describeParams(p: Params, omit: readonly (keyof Params)[] = []): string {
  const parts: string[] = []
  const has = (k: keyof Params) => !omit.includes(k)
  if (has('clients')) parts.push(`${formatCount(p.clients)} clients`)
  // a chat scenario (its results carry rooms and sendHz): what the clients send, not the tick rate
  if (p.rooms !== undefined && p.sendHz !== undefined) {
    const members = p.clients / Math.min(p.clients, p.rooms)
    parts.push(
      `chat: ${formatCount(p.rooms)} rooms, ${sig3(p.sendHz)} msg/s sent per client (${sig3(members * p.sendHz)} received/s each)`,
    )
  } else if (has('tickHz') && has('updatesPerTick'))
    parts.push(`${sig3(updatesPerSecond(p))} updates/s (${sig3(p.tickHz)} Hz x ${p.updatesPerTick})`)
  else if (has('tickHz')) parts.push(`${sig3(p.tickHz)} ticks/s`)
  else if (has('updatesPerTick')) parts.push(`${p.updatesPerTick} updates/tick`)
  if (has('payloadBytes')) parts.push(`${formatCount(p.payloadBytes)} B payload`)
  if (has('writePolicy')) parts.push(`${p.writePolicy} writes`)
  if (has('pollIntervalMs')) parts.push(`poll every ${formatCount(p.pollIntervalMs)} ms`)
  if (has('durationS') && has('warmupS'))
    parts.push(`${sig3(p.durationS)} s window after ${sig3(p.warmupS)} s warm-up`)
  if (has('rttMs') && (p.rttMs ?? 0) > 0) parts.push(`RTT ${sig3(p.rttMs ?? 0)} ms (emulated)`)
  return parts.join(' · ')
}

/** A lifecycle scenario's conditions: what its probe ran, not a window of clients. */
export function describeLifecycle(s: Scenario): string | undefined {
  const rows = s.lifecycle ?? []
  const r = rows[0]
  if (!r) return undefined
  const p = s.params
  return [
    `${formatCount(r.connections)} connections per transport, one after another`,
    `RTT ${sig3(r.rttMs)} ms (emulated)`,
    r.tls ? 'TLS 1.3' : 'plain TCP',
    r.link
      ? `wire mode${r.wire?.linkMbit !== undefined ? ` at ${sig3(r.wire.linkMbit)} Mbit/s` : ''}`
      : 'loopback',
    `${sig3(p.tickHz)} ticks/s`,
    `${formatCount(p.payloadBytes)} B payload`,
  ].join(' · ')
}

/** The machine in one line. */
export function describeEnv(env: Env): string {
  const parts = [
    `node ${env.node}`,
    env.cpuModel,
    `${env.cores} cores`,
    env.os,
    `commit ${env.commit.slice(0, 12)}`,
  ]
  if (env.pinned !== undefined) parts.push(env.pinned ? 'server and generator pinned apart' : 'not pinned')
  if (env.hostname) parts.push(`host ${env.hostname}`)
  return parts.join(' · ')
}

/** A stable, file-name-safe slug: `clients 1,000 / SSE` -> `clients-1-000-sse`. */
export function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'scenario'
  )
}
