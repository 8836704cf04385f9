/**
 * The one clock of the suite (DESIGN.md): epoch milliseconds with a sub-millisecond fraction,
 * `performance.timeOrigin + performance.now()`, which agrees across processes on one host to a few us.
 */
export const nowMs = (): number => performance.timeOrigin + performance.now()
