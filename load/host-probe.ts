/**
 * A probe of how fast the host is right now: a fixed allocation-heavy workload (serialise an update-like
 * object and copy it into a Buffer, the work a server does per publish), timed in the orchestrator just
 * before each run. On a shared VM the same code runs up to ~50% slower for minutes at a time (measured
 * here: the same autocannon run at 32k and 19k requests/s ten minutes apart) while pure arithmetic does
 * not slow down; the probe makes such a period visible in the results instead of in the conclusions.
 */
import { performance } from 'node:perf_hooks'

const ROUNDS = 5
const OPS_PER_ROUND = 20_000

/** Nanoseconds per probe op: the fastest of a few rounds after a warm-up (the least disturbed one). */
export function probeHostNsPerOp(): number {
  const obj = { seq: 0, sym: 'AAPL', px: 123.45, ts: 1_764_200_000_000.123, pad: 'x'.repeat(64) }
  let sink = 0
  const round = (): number => {
    const t0 = performance.now()
    for (let i = 0; i < OPS_PER_ROUND; i++) {
      obj.seq = i
      sink += Buffer.from(JSON.stringify(obj)).length
    }
    return ((performance.now() - t0) * 1e6) / OPS_PER_ROUND
  }
  round() // warm-up: the first round includes compiling the loop
  let best = Number.POSITIVE_INFINITY
  for (let r = 0; r < ROUNDS; r++) best = Math.min(best, round())
  if (sink === 0) throw new Error('host probe: no work done')
  return Math.round(best)
}
