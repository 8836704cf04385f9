/**
 * The verdict of a scenario in words: which transport was freshest, which cost least server CPU, bytes
 * and memory per connection, each claim with its figures, and which rows are not to be trusted. Pure:
 * made from the results alone, so the terminal summary, the HTML report and the README say the same.
 *
 * Rules that keep it honest:
 * - a claim is made only among trusted rows: completed, not a baseline, generator not saturated, nothing
 *   missed beyond 1%, the server kept its tick rate; the others are named with the reason instead;
 * - a transport "wins" only when it beats the runner-up by more than the noise of that metric (NOISE); a
 *   winner within noise of others is named together with them, and when all are within noise of each
 *   other there is no sentence at all.
 */
import {
  type CompletedResult,
  isCompleted,
  MIN_PUBLISHED_RATIO,
  OTHER_CPU_LIMIT_PERCENT,
  type Params,
  type Scenario,
} from '../lib/results-schema.ts'
import { isTransport, transport } from '../lib/transports.ts'
import { expectedUpdates, formatBytes, formatMs, sig3 } from './format.ts'
import { HOST_SLOWER_LIMIT } from './warnings.ts'

/** Below this share of what its clients should have seen, a row did not keep up: its costs are not the transport's. */
export const MIN_TRUSTED_DELIVERY = 0.99

/**
 * How far apart two figures of one run must be before one is called better: a relative share and an
 * absolute floor, both exceeded. Latency and CPU move 5-10% between identical runs on this 2-core VM
 * (timer and scheduler noise); bytes per update are nearly deterministic; memory per connection (RSS
 * growth over the ramp) moves with V8's heap sizing: SSE at 1,000 clients read 11.6, 16.4, 16.8 and
 * 17.0 KiB in four runs on 2026-12-02, WebSocket 12.7 to 13.7 KiB.
 */
export const NOISE = {
  p50: { share: 0.1, floor: 0.1 },
  cpu: { share: 0.1, floor: 0.5 },
  bytes: { share: 0.02, floor: 1 },
  memory: { share: 0.3, floor: 1024 },
} as const

export type VerdictKind =
  | 'freshest'
  | 'cpu'
  | 'bytes'
  | 'memory'
  | 'idle-bytes'
  | 'idle-cpu'
  | 'untrusted'
  | 'errored'
  | 'disturbed'

export interface VerdictSentence {
  kind: VerdictKind
  /** the transports the sentence names first (winners, or the untrusted row) */
  transports: string[]
  text: string
}

/** What people call a transport: `WebSocket`, `long polling`; a name the registry lacks as it is. */
export function transportName(name: string): string {
  return isTransport(name) ? transport(name).label : name
}

/** Why a completed row is not to be trusted, or undefined when it is. */
export function distrust(r: CompletedResult, p: Params): string | undefined {
  if (r.generator.saturated)
    return `its generator saturated (${sig3(r.generator.cpuPercent)}% CPU), so the row measures the generator, not the server`
  if (r.state === 'partial') return 'the run was interrupted (partial window)'
  const expected = expectedUpdates(r, p)
  if (expected > 0 && r.updates.delivered / expected < MIN_TRUSTED_DELIVERY)
    return `it delivered ${pct(r.updates.delivered / expected)} of the updates (${count(r.updates.missed)} missed), so it did not keep up`
  const pub = r.updates.publishedRatio
  if (pub !== undefined && pub < MIN_PUBLISHED_RATIO)
    return `the server published ${pct(pub)} of the offered updates (it could not keep its tick rate)`
  return undefined
}

interface Figure {
  r: CompletedResult
  v: number
}

/** The rows at the best value, all within noise of it, and the rest in order. */
function rank(figs: Figure[], noise: { share: number; floor: number }): { best: Figure[]; rest: Figure[] } {
  const sorted = [...figs].sort((a, b) => a.v - b.v)
  const top = sorted[0]
  if (!top) return { best: [], rest: [] }
  const within = (f: Figure) => f.v - top.v <= Math.max(noise.share * top.v, noise.floor)
  return { best: sorted.filter(within), rest: sorted.filter((f) => !within(f)) }
}

const pct = (x: number): string => `${sig3(x * 100)}%`
const count = (n: number): string => Math.round(n).toLocaleString('en-US')
const us = (n: number): string => `${sig3(n)} us`
const bytes = (n: number): string => `${sig3(n)} B`
const factor = (a: number, b: number): string => (a > 0 ? `${sig3(b / a)}x` : '')

/** `A`, `A and B`, `A, B and C` */
function list(items: string[]): string {
  if (items.length <= 1) return items.join('')
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`
}

/** A sentence that starts with a transport's name: `short polling` -> `Short polling`. */
const capital = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1)

const nameOf = (f: Figure): string => transportName(f.r.transport)

/**
 * One claim: the winners (one, or several within noise of each other) against the rest, each with its
 * figure and how many times the winner's. Undefined when there is no rest: all within noise.
 */
function claim(
  figs: Figure[],
  noise: { share: number; floor: number },
  fmt: (n: number) => string,
  won: (names: string, one: boolean) => string,
): { text: string; winners: string[] } | undefined {
  if (figs.length < 2) return undefined
  const { best, rest } = rank(figs, noise)
  const lead = best[0]
  if (!lead || rest.length === 0) return undefined
  const names = best.map(nameOf)
  const head =
    best.length === 1
      ? `${won(names[0] ?? '', true)}: ${fmt(lead.v)}`
      : `${won(list(names), false)} (${list(best.map((f) => `${nameOf(f)} ${fmt(f.v)}`))}, within noise of each other)`
  const others = rest.map((f) => `${nameOf(f)} ${fmt(f.v)} (${factor(lead.v, f.v)})`)
  return { text: capital(`${head}, against ${list(others)}.`), winners: best.map((f) => f.r.transport) }
}

/** The verdict of one scenario: two to five sentences, each with its figures; none that the figures do not support. */
export function verdict(s: Scenario): VerdictSentence[] {
  const out: VerdictSentence[] = []
  const own = s.results.filter((r) => r.server !== 'baseline')
  const trusted: CompletedResult[] = []
  for (const r of own) {
    if (!isCompleted(r)) {
      out.push({
        kind: 'errored',
        transports: [r.transport],
        text: capital(
          `${transportName(r.transport)} errored, so it has no figures: ${r.error.split('\n')[0]}`,
        ),
      })
      continue
    }
    const why = distrust(r, s.params)
    if (why === undefined) trusted.push(r)
    else
      out.push({
        kind: 'untrusted',
        transports: [r.transport],
        text: `Do not read the ${transportName(r.transport)} row as the transport's cost: ${why}.`,
      })
  }
  const claims: VerdictSentence[] = []
  if (trusted.length > 0 && trusted.every((r) => r.idle !== undefined)) {
    // nothing was published: there is no update to be fresh, cheap or small; what a held connection costs is the answer
    claims.push(...idleClaims(trusted))
    const caveat = claims.length > 0 ? disturbed(trusted) : undefined
    return [...claims, ...(caveat ? [caveat] : []), ...out]
  }
  const fresh = claim(
    trusted.map((r) => ({ r, v: r.latencyMs.p50 })),
    NOISE.p50,
    formatMs,
    (n, one) => `${n} ${one ? 'was' : 'were'} freshest at the median`,
  )
  if (fresh) {
    // the tail beside it: a transport fresh at p50 and late at p99 is not the freshest in practice
    const p99 = [...trusted]
      .sort((a, b) => a.latencyMs.p99 - b.latencyMs.p99)
      .map((r) => `${transportName(r.transport)} ${formatMs(r.latencyMs.p99)}`)
    claims.push({
      kind: 'freshest',
      transports: fresh.winners,
      text: `${fresh.text.slice(0, -1)}; p99: ${list(p99)}.`,
    })
  }
  const cpu = claim(
    trusted.map((r) => ({ r, v: r.serverCpu.usPerDeliveredUpdate })),
    NOISE.cpu,
    us,
    (n) => `${n} cost the server least CPU per delivered update`,
  )
  const wire = claim(
    trusted.map((r) => ({ r, v: r.bytes.perDeliveredUpdate })),
    NOISE.bytes,
    bytes,
    (n) => `${n} put the fewest bytes on the wire per delivered update`,
  )
  if (cpu) claims.push({ kind: 'cpu', transports: cpu.winners, text: cpu.text })
  if (wire) claims.push({ kind: 'bytes', transports: wire.winners, text: wire.text })
  const mem = claim(
    trusted
      .filter((r) => r.serverMemory.bytesPerConnection !== undefined)
      .map((r) => ({ r, v: r.serverMemory.bytesPerConnection ?? 0 })),
    NOISE.memory,
    formatBytes,
    (n, one) => `${n} held ${one ? 'a connection' : 'connections'} in the least server memory`,
  )
  if (mem) claims.push({ kind: 'memory', transports: mem.winners, text: mem.text })
  const caveat = claims.length > 0 ? disturbed(trusted) : undefined
  // claims first (what the user came for), then how far to trust them, then what not to trust
  return [...claims, ...(caveat ? [caveat] : []), ...out]
}

/** An idle scenario's claims: the fewest bytes, and the least server CPU, per held connection per minute. */
function idleClaims(rows: CompletedResult[]): VerdictSentence[] {
  const out: VerdictSentence[] = []
  const b = claim(
    rows.map((r) => ({ r, v: r.idle?.bytesPerConnectionPerMinute ?? 0 })),
    NOISE.bytes,
    (n) => `${formatBytes(n)}/min`,
    (n, one) => `${n} kept ${one ? 'an idle connection' : 'idle connections'} alive with the fewest bytes`,
  )
  if (b) out.push({ kind: 'idle-bytes', transports: b.winners, text: b.text })
  const c = claim(
    rows.map((r) => ({ r, v: r.idle?.serverCpuMsPerConnectionPerMinute ?? 0 })),
    { share: NOISE.cpu.share, floor: 0.05 },
    (n) => `${sig3(n)} ms/min`,
    (n) => `${n} cost the server least CPU per idle connection`,
  )
  if (c) out.push({ kind: 'idle-cpu', transports: c.winners, text: c.text })
  return out
}

/**
 * The rows measured while the host was busy with other work (other processes above the limit, or the
 * host probe slowed): the claims stand as measured, but the reader is told to rerun on a quiet machine.
 */
function disturbed(rows: CompletedResult[]): VerdictSentence | undefined {
  const probes = rows.map((r) => r.hostProbeNsPerOp).filter((n): n is number => n !== undefined)
  const fastest = probes.length > 0 ? Math.min(...probes) : undefined
  const other = rows.map((r) => r.generator.otherHostCpuPercent ?? 0)
  const hit = rows.filter(
    (r, i) =>
      (other[i] ?? 0) > OTHER_CPU_LIMIT_PERCENT ||
      (fastest !== undefined &&
        r.hostProbeNsPerOp !== undefined &&
        r.hostProbeNsPerOp > fastest * (1 + HOST_SLOWER_LIMIT)),
  )
  if (hit.length === 0) return undefined
  const why: string[] = []
  const busiest = Math.max(...hit.map((r) => r.generator.otherHostCpuPercent ?? 0))
  if (busiest > OTHER_CPU_LIMIT_PERCENT) why.push(`other processes used up to ${sig3(busiest)}% of a core`)
  const slowest = Math.max(...hit.map((r) => r.hostProbeNsPerOp ?? 0))
  if (fastest !== undefined && slowest > fastest * (1 + HOST_SLOWER_LIMIT))
    why.push(`the host ran up to ${sig3(slowest / fastest)}x slower than before the fastest run`)
  return {
    kind: 'disturbed',
    transports: hit.map((r) => r.transport),
    text: `The host was busy with other work during the ${list(hit.map((r) => transportName(r.transport)))} ${hit.length === 1 ? 'window' : 'windows'} (${why.join('; ')}): rerun on a quiet machine before relying on these comparisons.`,
  }
}
