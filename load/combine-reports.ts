/**
 * One report from several generator processes' (`--generators N`): counts summed, latency histograms
 * merged exactly (each report carries its HDR histogram encoded; never an average of percentiles), CPU
 * summed (the processes share the generator's core: their sum is the share of that core), event-loop
 * utilisation the busiest process's.
 */

import { mergeLatencies, summarise } from '../lib/latency.ts'
import type { Latency } from '../lib/results-schema.ts'
import type { ChatReport } from './chat/driver.ts'
import type { GeneratorReport } from './generator-ipc.ts'

const mergeLatency = (all: Latency[]): Latency => summarise(mergeLatencies(all), { withHdr: true })

function sumSlices(all: number[][]): number[] {
  const out: number[] = []
  for (const a of all) for (const [k, n] of a.entries()) out[k] = (out[k] ?? 0) + n
  return Array.from(out, (n) => n ?? 0)
}

export function combineReports(reports: GeneratorReport[]): GeneratorReport {
  const [one] = reports
  if (one === undefined) throw new Error('no generator report')
  if (reports.length === 1) return one
  const sum = (f: (r: GeneratorReport) => number): number => reports.reduce((n, r) => n + f(r), 0)
  const lags = reports.map((r) => r.scheduleLag).filter((l): l is Latency => l !== undefined)
  const closeCodes: Record<string, number> = {}
  for (const r of reports)
    for (const [code, n] of Object.entries(r.closeCodes ?? {})) closeCodes[code] = (closeCodes[code] ?? 0) + n
  return {
    client: one.client,
    clients: sum((r) => r.clients),
    latency: mergeLatency(reports.map((r) => r.latency)),
    scheduleLag: lags.length === reports.length ? mergeLatency(lags) : undefined,
    delivered: sum((r) => r.delivered),
    duplicates: sum((r) => r.duplicates),
    outOfOrder: sum((r) => r.outOfOrder),
    gaps: {
      signals: sum((r) => r.gaps?.signals ?? 0),
      seqs: sum((r) => r.gaps?.seqs ?? 0),
      resumeRefused: sum((r) => r.gaps?.resumeRefused ?? 0),
    },
    minDeliveredPerClient: Math.min(...reports.map((r) => r.minDeliveredPerClient)),
    requests: sum((r) => r.requests),
    errors: sum((r) => r.errors),
    reconnects: sum((r) => r.reconnects),
    verified: sum((r) => r.verified),
    corrupt: sum((r) => r.corrupt),
    lastError: reports.findLast((r) => r.lastError !== undefined)?.lastError,
    clientBytes: { read: sum((r) => r.clientBytes.read), written: sum((r) => r.clientBytes.written) },
    cpuUserUs: sum((r) => r.cpuUserUs),
    cpuSystemUs: sum((r) => r.cpuSystemUs),
    processes: sum((r) => r.processes),
    ...(Object.keys(closeCodes).length > 0 ? { closeCodes } : {}),
    windowMs: Math.max(...reports.map((r) => r.windowMs)),
    cpuPercent: sum((r) => r.cpuPercent),
    eventLoopUtilization: Math.max(...reports.map((r) => r.eventLoopUtilization)),
    partial: reports.some((r) => r.partial),
    deliveredBySlice: sumSlices(reports.map((r) => r.deliveredBySlice ?? [])),
    ...(one.chat ? { chat: combineChat(reports.flatMap((r) => (r.chat ? [r.chat] : []))) } : {}),
  }
}

function combineChat(all: ChatReport[]): ChatReport {
  const sum = (f: (r: ChatReport) => number): number => all.reduce((n, r) => n + f(r), 0)
  return {
    sent: sum((r) => r.sent),
    accepted: sum((r) => r.accepted),
    refused: sum((r) => r.refused),
    queued: sum((r) => r.queued),
    failed: sum((r) => r.failed),
    senderRtt: mergeLatency(all.map((r) => r.senderRtt)),
  }
}
