/**
 * The one clock of the suite (DESIGN.md): epoch milliseconds with a sub-millisecond fraction, read off the
 * host's monotonic clock (CLOCK_MONOTONIC, which every process on a host shares) plus one anchor, the epoch
 * minus the monotonic clock, that the first process of a run takes and its children inherit through the
 * environment (PUSHBENCH_CLOCK_ANCHOR). Every process of a run on one host then reads the same instant to
 * the nanosecond. `performance.timeOrigin + performance.now()` is not that: each process maps the
 * monotonic clock onto the wall clock once, at its own start, so a wall clock stepped between two starts
 * (a VM paused and resumed, a time sync) puts two processes apart; a generator whose clock was behind its
 * server's recorded every latency of a run as 0 (the fresh-clone CI of f9e0904).
 * Against a server on another host (`run --target`), the processes of the run add the estimated offset of
 * the server's clock (load/clock-offset.ts), so that every instant they take is on the server's clock.
 */
export const CLOCK_ANCHOR_ENV = 'PUSHBENCH_CLOCK_ANCHOR'

const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6

/** This process's own wall-clock mapping: epoch ms minus monotonic ms. */
function ownAnchor(): number {
  return performance.timeOrigin + performance.now() - monotonicMs()
}

/** The run's anchor: inherited when a parent set one, else this process's, handed on to its children. */
function runAnchor(): number {
  const inherited = Number(process.env[CLOCK_ANCHOR_ENV])
  if (process.env[CLOCK_ANCHOR_ENV] !== undefined && Number.isFinite(inherited) && inherited > 0)
    return inherited
  const own = ownAnchor()
  process.env[CLOCK_ANCHOR_ENV] = String(own)
  return own
}

/**
 * `performance.now()` runs on the same monotonic clock from this process's start: the hot path reads it
 * (no BigInt) and adds one constant. Its origin is read as the closest of a few back-to-back pairs.
 */
function perfOriginMonotonicMs(): number {
  let best = Number.NaN
  let gap = Number.POSITIVE_INFINITY
  for (let k = 0; k < 5; k++) {
    const a = performance.now()
    const m = monotonicMs()
    const b = performance.now()
    if (b - a < gap) {
      gap = b - a
      best = m - (a + b) / 2
    }
  }
  return best
}

const ANCHOR = runAnchor()
/** epoch ms at performance.now() == 0, on the run's anchor */
const PERF_BASE = ANCHOR + perfOriginMonotonicMs()

let offsetMs = 0

export const nowMs = (): number => PERF_BASE + performance.now() + offsetMs

/** This host's instant on the suite's clock, without the offset a run may have put on it (setClockOffset). */
export const hostNowMs = (): number => PERF_BASE + performance.now()

/** The `performance.now()` reading at which the suite's clock on this host reads `epochMs`. */
export const perfNowAt = (epochMs: number): number => epochMs - PERF_BASE

/** The run's anchor (epoch ms minus monotonic ms), as the processes of the run share it. */
export const clockAnchor = (): number => ANCHOR

/** Puts this process's instants on another clock: `ms` is that clock minus this host's. */
export function setClockOffset(ms: number): void {
  offsetMs = ms
}

export const clockOffset = (): number => offsetMs
