/** The answer of `pushbench advise` as terminal text: the pick, the reasons, a table per transport, the notes. */
import { transport } from '../lib/transports.ts'
import type { Advice, RowRef, TransportAdvice } from './advise.ts'
import { formatCount, sig3 } from './format.ts'

const SHORT: Record<string, string> = {
  clients: 'clients',
  ratePerS: 'rate',
  payloadBytes: 'payload',
  pollIntervalMs: 'poll interval',
}

export function formatAdvice(a: Advice): string {
  const q = a.question
  const lines: string[] = []
  const about = [
    `${formatCount(q.clients)} clients`,
    `${sig3(q.ratePerS)} updates/s each`,
    `${formatCount(q.payloadBytes)} B payload`,
    `short polls every ${formatCount(q.pollIntervalMs)} ms`,
    q.rttMs > 0 ? `RTT ${sig3(q.rttMs)} ms` : 'RTT 0 (loopback, as measured)',
    ...(q.maxP50Ms !== undefined ? [`p50 at most ${sig3(q.maxP50Ms)} ms`] : []),
  ]
  lines.push(`Question: ${about.join(' · ')}`)
  const runIds = [...new Set(a.transports.flatMap((t) => (t.nearest ? [t.nearest.runId] : [])))]
  lines.push(
    `Evidence: ${a.evidence.used} of ${a.evidence.rows} measured rows usable, from ${a.evidence.files} results file${a.evidence.files === 1 ? '' : 's'}${runIds.length > 0 ? `; nearest rows from ${runIds.join(', ')}` : ''}`,
  )
  lines.push('')
  const pick = a.transports.find((t) => t.transport === a.pick)
  lines.push(pick ? `Pick: ${pick.label}` : 'Pick: none')
  lines.push(`  ${a.verdict}`)
  if (a.reasons.length > 0) {
    lines.push('', 'Why:')
    for (const r of a.reasons) lines.push(`  - ${r}`)
  }
  lines.push('', ...table(a))
  if (a.notes.length > 0) {
    lines.push('', 'Notes:')
    for (const n of a.notes) lines.push(`  - ${n}`)
  }
  return `${lines.join('\n')}\n`
}

const HEADERS = [
  'transport',
  'nearest row',
  'distance',
  'p50 (predicted)',
  'server us/update',
  'cores',
  'B/update',
  'connections/GiB',
  'extrapolated',
  'candidate',
]
/** columns aligned right (numbers) */
const RIGHT = new Set([2, 3, 4, 5, 6, 7])

function table(a: Advice): string[] {
  const rows = a.transports.map((t) => cells(t, a.pick))
  return layout([HEADERS, ...rows])
}

function rowText(r: RowRef, poll: boolean): string {
  const p = r.point
  const rate = r.updatesPerTick > 1 ? `${sig3(r.tickHz)} Hz x ${r.updatesPerTick}` : `${sig3(p.ratePerS)}/s`
  const at = poll ? ` @${formatCount(p.pollIntervalMs)} ms` : ''
  return `${r.scenario}: ${formatCount(p.clients)} x ${rate} x ${formatCount(p.payloadBytes)} B${at}`
}

function cells(t: TransportAdvice, pick: string | undefined): string[] {
  const p = t.prediction
  if (!t.nearest || !p) return [t.label, 'none', '', '', '', '', '', '', '', 'no evidence']
  const poll = transport(t.transport).kind === 'poll'
  const extrapolated =
    t.extrapolated.length === 0
      ? 'no'
      : t.extrapolated.map((e) => `${SHORT[e.param]} ${sig3(e.factor)}x ${e.side}`).join(', ')
  const candidate =
    t.transport === pick ? 'PICK' : t.eligible ? 'yes' : !p.fitsOneCore ? 'no: over 1 core' : 'no: delivery'
  return [
    t.label,
    rowText(t.nearest, poll),
    sig3(t.distance ?? 0),
    p.p50Ms >= 1 ? `${sig3(p.p50Ms)} ms` : `${sig3(p.p50Ms * 1000)} us`,
    sig3(p.serverUsPerUpdate),
    sig3(p.coresNeeded),
    sig3(p.bytesPerUpdate),
    p.connectionsPerGiB === undefined ? 'n/a' : formatCount(p.connectionsPerGiB),
    extrapolated,
    candidate,
  ]
}

function layout(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) =>
    r
      .map((c, i) => (RIGHT.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  )
}
