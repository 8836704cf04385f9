/** Short-poll phases: where in its interval each client polls. */
import { nowMs } from '../lib/clock.ts'

export interface PollPhase {
  /** fraction of the poll interval, in [0, 1) */
  fraction: number
  /** the instant every client's schedule counts from */
  epochMs: number
}

/**
 * Client k of n gets a phase drawn uniformly in [k/n, (k+1)/n), all counted from one instant, so the n
 * phases cover the interval evenly whatever the draw. A plain uniform draw of 100 phases (seed 1) put
 * the median phase at 0.48 of the interval; with a tick period that divides the poll interval each
 * client then sees the same staleness on every update, and the run measured the draw (p50 154 ms for a
 * 250 ms interval at 1 update/s) instead of the transport.
 */
export function stratifiedPhases(n: number, random: () => number, epochMs = nowMs()): () => PollPhase {
  let k = 0
  return () => ({ fraction: (k++ % n) / n + random() / n, epochMs })
}
