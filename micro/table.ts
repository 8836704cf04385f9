/** The terminal summary: one table per case group, read from MicroCase records only. */
import type { MicroCase } from '../lib/results-schema.ts'
import { sizeLabel } from './fixtures.ts'

/** 3 significant digits with thousands separators: 12,300 / 45.6 / 0.789 */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  if (n === 0) return '0'
  const digits = Math.floor(Math.log10(Math.abs(n))) + 1
  const decimals = Math.max(0, Math.min(3, 3 - digits))
  return n.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals })
}

const COLUMNS = ['case', 'size', 'ops/s', 'mean ns', 'ns/msg', 'p99 ns', '±rme', 'samples', 'batch'] as const

function row(c: MicroCase): string[] {
  return [
    c.name,
    c.payloadBytes === undefined ? '-' : sizeLabel(c.payloadBytes),
    fmt(c.opsPerSecond),
    fmt(c.meanNs),
    c.meanNsPerMessage === undefined || c.meanNsPerMessage === c.meanNs ? '' : fmt(c.meanNsPerMessage),
    fmt(c.p99Ns),
    `${c.rme.toFixed(2)}%`,
    String(c.samples),
    String(c.batch ?? 1),
  ]
}

/** Groups in first-seen order, cases in run order. */
export function byGroup(cases: readonly MicroCase[]): Map<string, MicroCase[]> {
  const m = new Map<string, MicroCase[]>()
  for (const c of cases) {
    const list = m.get(c.group)
    if (list) list.push(c)
    else m.set(c.group, [c])
  }
  return m
}

export function formatTable(
  cases: readonly MicroCase[],
  titles: Readonly<Record<string, string>> = {},
): string {
  const out: string[] = []
  for (const [group, list] of byGroup(cases)) {
    const rows = [COLUMNS.slice() as string[], ...list.map(row)]
    const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)))
    out.push(`${group}${titles[group] ? `: ${titles[group]}` : ''}`)
    for (const [n, r] of rows.entries()) {
      // text columns left, numbers right
      const cells = r.map((cell, i) =>
        i < 2 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number),
      )
      out.push(`  ${cells.join('  ')}`.trimEnd())
      if (n === 0) out.push(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`)
    }
    out.push('')
  }
  out.push(
    'ops/s = 1e9 / mean ns. ns/msg = mean ns per delivered message (per recipient, or per update of a poll batch).',
    'batch = ops timed together per sample; p99 is the 99th percentile of those per-sample means.',
  )
  return out.join('\n')
}
