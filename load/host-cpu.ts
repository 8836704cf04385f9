/**
 * CPU time the whole host spent busy (/proc/stat, all cores), to catch a window disturbed by other
 * processes: host busy minus server minus generator is what everything else took. /proc/stat counts
 * in 10 ms ticks, fine over a window of seconds.
 */
import { readFileSync } from 'node:fs'

const TICK_MS = 10

/** Busy ms since boot over all cores, or undefined where /proc/stat does not exist. */
export function hostBusyMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0] ?? ''
    const f = line.trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal
    const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0)
    return busy * TICK_MS
  } catch {
    return undefined
  }
}
