/**
 * The one clock of the suite (DESIGN.md): epoch milliseconds with a sub-millisecond fraction,
 * `performance.timeOrigin + performance.now()`, which agrees across processes on one host to a few us.
 * Against a server on another host (`run --target`), the processes of the run add the estimated offset of
 * the server's clock (load/clock-offset.ts), so that every instant they take is on the server's clock.
 */
let offsetMs = 0

export const nowMs = (): number => performance.timeOrigin + performance.now() + offsetMs

/** Puts this process's instants on another clock: `ms` is that clock minus this host's. */
export function setClockOffset(ms: number): void {
  offsetMs = ms
}

export const clockOffset = (): number => offsetMs
