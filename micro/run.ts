/**
 * Times micro cases with tinybench. Ops faster than the timer can see are batched: one sample is the
 * mean of `batch` back-to-back ops (about 20 us of work), returned as tinybench's overriddenDuration.
 */
import { Bench, type Task } from 'tinybench'
import { PbError } from '../lib/errors.ts'
import type { MicroCase } from '../lib/results-schema.ts'
import { caseLabel, type MicroCaseDef } from './case.ts'

export interface RunOptions {
  /** tinybench time budget per case, ms */
  timeMs: number
  /** warmup budget per case, ms (after the batch calibration, which warms too) */
  warmupMs: number
  /** minimum samples per case, whatever the time */
  minSamples: number
  /** work one sample should hold, ns: the timer's own ~50 ns stays under 0.5% of it */
  targetBatchNs: number
}

export const RUN_DEFAULTS: Readonly<Omit<RunOptions, 'timeMs'>> = Object.freeze({
  warmupMs: 50,
  minSamples: 16,
  targetBatchNs: 20_000,
})

const CALIBRATE_MS = 2
const CALIBRATE_ROUNDS = 3
const MAX_BATCH = 1_000_000

/** Where outputs go so that no op's result is dead code. */
let sink: unknown

/** The last output any case produced (keeps the sink observable). */
export function lastOutput(): unknown {
  return sink
}

/** Ops per sample so that a sample holds about `targetNs` of work; also warms the op up. */
export function calibrateBatch(fn: () => unknown, targetNs: number): number {
  const round = (n: number): number => {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) sink = fn()
    return performance.now() - t0
  }
  let n = 1
  while (n < MAX_BATCH && round(n) < CALIBRATE_MS) n *= 2
  // the fastest of a few rounds: one GC pause or tier-up in a round must not set the batch
  let bestMs = Number.POSITIVE_INFINITY
  for (let r = 0; r < CALIBRATE_ROUNDS; r++) bestMs = Math.min(bestMs, round(n))
  const perOpNs = (bestMs * 1e6) / n
  return Math.max(1, Math.min(MAX_BATCH, Math.round(targetNs / Math.max(perOpNs, 0.1))))
}

/** Checks every case's output once (no timing); the first wrong one throws before anything is timed. */
export function verifyCases(cases: readonly MicroCaseDef[]): void {
  for (const c of cases) {
    try {
      c.verify()
    } catch (err) {
      if (err instanceof PbError) {
        err.message = `${caseLabel(c)}: ${err.message}`
        throw err
      }
      throw new PbError('PB_ERR_MICRO_ASSERT', `${caseLabel(c)}: ${(err as Error).message}`, { cause: err })
    }
  }
}

/** Verifies, then times each case in turn; `onCase` sees each result as it completes. */
export function runCases(
  cases: readonly MicroCaseDef[],
  opts: RunOptions,
  onCase?: (c: MicroCase) => void,
): MicroCase[] {
  verifyCases(cases)
  const out: MicroCase[] = []
  for (const c of cases) {
    const batch = calibrateBatch(c.fn, opts.targetBatchNs)
    const bench = new Bench({
      time: opts.timeMs,
      iterations: opts.minSamples,
      warmupTime: opts.warmupMs,
      warmupIterations: Math.min(4, opts.minSamples),
      throws: true,
    })
    const fn = c.fn
    bench.add(caseLabel(c), () => {
      const t0 = performance.now()
      for (let i = 0; i < batch; i++) sink = fn()
      const ms = performance.now() - t0
      return { overriddenDuration: ms / batch, overriddenIterationCost: ms }
    })
    const [task] = bench.runSync()
    if (task === undefined) throw new PbError('PB_ERR_MICRO_RUN', `${caseLabel(c)}: tinybench ran no task`)
    const r = toMicroCase(c, task, batch)
    out.push(r)
    onCase?.(r)
  }
  return out
}

/** tinybench's per-op latency statistics (ms) as a results-file MicroCase (ns). */
export function toMicroCase(c: MicroCaseDef, task: Task, batch: number): MicroCase {
  const r = task.result
  if (r.state !== 'completed') {
    const why = r.state === 'errored' ? r.error.message : r.state
    throw new PbError('PB_ERR_MICRO_RUN', `${caseLabel(c)}: tinybench did not complete (${why})`)
  }
  const meanNs = r.latency.mean * 1e6
  const messages = c.recipients ?? c.updatesPerOp ?? 1
  const m: MicroCase = {
    group: c.group,
    name: c.name,
    // the reciprocal of the mean, so ops/s x mean ns = 1e9 in every row
    opsPerSecond: meanNs > 0 ? 1e9 / meanNs : 0,
    meanNs,
    p99Ns: r.latency.p99 * 1e6,
    rme: Number.isFinite(r.latency.rme) ? r.latency.rme : 0,
    samples: r.latency.samplesCount,
    meanNsPerMessage: meanNs / messages,
    batch,
  }
  if (c.payloadBytes !== undefined) m.payloadBytes = c.payloadBytes
  if (c.recipients !== undefined) m.recipients = c.recipients
  if (c.updatesPerOp !== undefined) m.updatesPerOp = c.updatesPerOp
  return m
}
