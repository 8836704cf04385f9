/** What a reader must know before trusting the numbers of a results file, found in the file alone. */
import { isCompleted, type ResultsFile } from '../lib/results-schema.ts'
import { formatCount, formatPercent, resultLabel, sig3 } from './format.ts'
import { autocannonRuns } from './summary-table.ts'

export interface ReportWarning {
  /** 'error': a transport did not produce numbers; 'warning': numbers exist but need care */
  level: 'error' | 'warning'
  kind:
    | 'partial-run'
    | 'errored'
    | 'generator-saturated'
    | 'generator-busy'
    | 'partial-result'
    | 'slow-consumers'
    | 'out-of-files'
    | 'capacity'
    | 'slow-host'
    | 'result'
  /** scenario name, absent for run-wide warnings */
  scenario?: string
  transport?: string
  text: string
}

/** A run whose host probe was this much slower than the file's fastest is flagged (load/host-probe.ts). */
export const HOST_SLOWER_LIMIT = 0.25

/** The host probes of every run in a file (results and autocannon runs). */
function probesOf(s: ResultsFile['scenarios'][number]): { label: string; ns: number }[] {
  const out: { label: string; ns: number }[] = []
  for (const r of s.results) {
    if (isCompleted(r) && r.hostProbeNsPerOp !== undefined)
      out.push({ label: resultLabel(r), ns: r.hostProbeNsPerOp })
  }
  for (const a of autocannonRuns(s)) {
    if (a.hostProbeNsPerOp !== undefined)
      out.push({
        label: `autocannon${(a as { server?: string }).server === 'baseline' ? ' (baseline)' : ''}`,
        ns: a.hostProbeNsPerOp,
      })
  }
  return out
}

function slowHostWarnings(s: ResultsFile['scenarios'][number], fastest: number): ReportWarning[] {
  return probesOf(s)
    .filter((p) => p.ns > fastest * (1 + HOST_SLOWER_LIMIT))
    .map((p) => ({
      level: 'warning' as const,
      kind: 'slow-host' as const,
      scenario: s.name,
      transport: p.label,
      text: `the host was ${Math.round((p.ns / fastest - 1) * 100)}% slower before this run than before the fastest run of the file (host probe ${p.ns} ns/op against ${fastest}): its figures are not comparable with the others'`,
    }))
}

/** Run-wide warnings first, then per scenario in file order. */
export function collectWarnings(file: ResultsFile): ReportWarning[] {
  const out: ReportWarning[] = []
  const fastest = Math.min(...file.scenarios.flatMap((s) => probesOf(s).map((p) => p.ns)))
  if (file.partial)
    out.push({
      level: 'warning',
      kind: 'partial-run',
      text: 'partial run: it was interrupted; the scenarios and transports below are what was measured before it stopped',
    })
  for (const s of file.scenarios) {
    for (const r of s.results) {
      const at = { scenario: s.name, transport: resultLabel(r) }
      if (!isCompleted(r)) {
        out.push({ level: 'error', kind: 'errored', ...at, text: `errored: ${r.error}` })
        continue
      }
      if (r.generator.saturated)
        out.push({
          level: 'warning',
          kind: 'generator-saturated',
          ...at,
          text: `the load generator saturated (CPU ${formatPercent(r.generator.cpuPercent)}, event loop ${formatPercent(r.generator.eventLoopUtilization * 100)} busy): its latency and delivery measure the generator, not the server; rerun with fewer clients, or with the generator on its own core`,
        })
      if (r.generator.busy)
        out.push({
          level: 'warning',
          kind: 'generator-busy',
          ...at,
          text: `the load generator was busy (CPU ${formatPercent(r.generator.cpuPercent)}, event loop ${formatPercent(r.generator.eventLoopUtilization * 100)} busy): updates waited behind its own work, so read its latency as an upper bound`,
        })
      if (r.state === 'partial')
        out.push({
          level: 'warning',
          kind: 'partial-result',
          ...at,
          text: 'the window was cut short (partial)',
        })
      const slow = r.connections?.slowConsumerDisconnects ?? 0
      if (slow > 0)
        out.push({
          level: 'warning',
          kind: 'slow-consumers',
          ...at,
          text: `${formatCount(slow)} slow consumers were disconnected at the backpressure bound: the server was overloaded`,
        })
      const refused = r.connections?.acceptErrors ?? 0
      const skipped = r.connections?.fdExhausted ?? 0
      if (refused > 0 || skipped > 0)
        out.push({
          level: 'warning',
          kind: 'out-of-files',
          ...at,
          text:
            `the server ran out of file descriptors (ulimit -n): ${formatCount(refused)} connections turned away` +
            (skipped > 0 ? `, ${formatCount(skipped)} of its own reads skipped` : ''),
        })
      for (const w of r.warnings ?? []) out.push({ level: 'warning', kind: 'result', ...at, text: w })
    }
    for (const w of slowHostWarnings(s, fastest)) out.push(w)
    for (const c of s.capacity ?? []) {
      const sat = c.steps.find((st) => st.generatorSaturated)
      const last = c.steps.at(-1)
      if (!sat && c.limitedBy === 'generator' && last)
        out.push({
          level: 'warning',
          kind: 'capacity',
          scenario: s.name,
          transport: resultLabel(c),
          text: `capacity search: the generator, not the server, was the busier process when the search stopped at ${sig3(last.offeredPerSecond)} ${c.unit} (generator ${sig3(last.generatorCpuPercent ?? 0)}% of its core, server ${sig3(last.serverCpuPercent)}%), so the maximum found is a lower bound for the server`,
        })
      if (sat)
        out.push({
          level: 'warning',
          kind: 'capacity',
          scenario: s.name,
          transport: resultLabel(c),
          text: `capacity search: the generator saturated at ${sig3(sat.offeredPerSecond)} ${c.unit} offered, so the maximum found is a lower bound for the server`,
        })
    }
  }
  return out
}

/** `scenario / transport: text`, or just the text for run-wide warnings. */
export function warningLine(w: ReportWarning): string {
  const where = [w.scenario, w.transport].filter(Boolean).join(' / ')
  return where ? `${where}: ${w.text}` : w.text
}
