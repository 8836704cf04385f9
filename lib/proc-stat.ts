/**
 * Per-core CPU time from /proc/stat, to show where a core's time went over a window.
 *
 * Why: on loopback TCP the receive path (the receiver's protocol work) runs in softirq on the sending core
 * and is charged to no process, so `process.cpuUsage()` of the server misses it. A run that pins the server
 * to a core reports that core's softirq and system time beside the server process's own CPU.
 *
 * /proc/stat lines: `cpuN user nice system idle iowait irq softirq steal guest guest_nice`, in USER_HZ ticks
 * (`getconf CLK_TCK`, almost always 100). guest and guest_nice are already counted in user and nice.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { PbError } from './errors.ts'

/** the key of the `cpu` line (all cores summed) in the map readCpuTimes returns */
export const ALL_CPUS = -1

/** cumulative ticks since boot for one core (or ALL_CPUS) */
export interface CpuTimes {
  user: number
  nice: number
  system: number
  idle: number
  iowait: number
  irq: number
  softirq: number
  steal: number
  guest: number
  guestNice: number
  /** user + nice + system + idle + iowait + irq + softirq + steal (guest time is inside user and nice) */
  total: number
}

/** each field is a percent of that one core's time over the interval; the first eight sum to 100 */
export interface CpuDelta {
  userPercent: number
  nicePercent: number
  systemPercent: number
  irqPercent: number
  softirqPercent: number
  idlePercent: number
  iowaitPercent: number
  stealPercent: number
  /** 100 - idle - iowait */
  busyPercent: number
  /** ticks of this core between the two reads (0: too close together, every percent is 0) */
  ticks: number
  /** the same interval in ms, from CLK_TCK */
  elapsedMs: number
}

const FIELDS = [
  'user',
  'nice',
  'system',
  'idle',
  'iowait',
  'irq',
  'softirq',
  'steal',
  'guest',
  'guestNice',
] as const

/** Parses the `cpu` / `cpuN` lines of a /proc/stat text; fields an old kernel lacks are 0. */
export function parseProcStat(text: string): Map<number, CpuTimes> {
  const out = new Map<number, CpuTimes>()
  for (const line of text.split('\n')) {
    const m = /^cpu(\d*)\s+(.*)$/.exec(line)
    if (!m) continue
    const values = (m[2] ?? '').trim().split(/\s+/).map(Number)
    const t = { total: 0 } as CpuTimes
    FIELDS.forEach((f, i) => {
      const v = values[i]
      t[f] = v !== undefined && Number.isFinite(v) ? v : 0
    })
    t.total = t.user + t.nice + t.system + t.idle + t.iowait + t.irq + t.softirq + t.steal
    out.set(m[1] === '' ? ALL_CPUS : Number(m[1]), t)
  }
  return out
}

/** Reads /proc/stat now: per-core ticks, keyed by core number, plus ALL_CPUS. */
export function readCpuTimes(): Map<number, CpuTimes> {
  let text: string
  try {
    text = readFileSync('/proc/stat', 'utf8')
  } catch (err) {
    throw new PbError('PB_ERR_PROC_STAT', `cannot read /proc/stat (Linux only): ${(err as Error).message}`)
  }
  return parseProcStat(text)
}

let clkTck: number | undefined

/** USER_HZ: `getconf CLK_TCK`, asked once; 100 if getconf is missing or says nothing usable. */
export function clockTicksPerSecond(): number {
  if (clkTck === undefined) {
    clkTck = 100
    try {
      const n = Number(
        execFileSync('getconf', ['CLK_TCK'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim(),
      )
      if (Number.isInteger(n) && n > 0) clkTck = n
    } catch {
      // keep 100
    }
  }
  return clkTck
}

/**
 * Where core `cpu`'s time went between two reads, as percents of that core's own tick total over the
 * interval (not of wall-clock time, which the two reads only approximate). Throws if the core is missing
 * from either read (offline, or no such core).
 */
export function cpuDelta(before: Map<number, CpuTimes>, after: Map<number, CpuTimes>, cpu: number): CpuDelta {
  const a = before.get(cpu)
  const b = after.get(cpu)
  const name = cpu === ALL_CPUS ? 'cpu' : `cpu${cpu}`
  if (a === undefined || b === undefined) {
    throw new PbError('PB_ERR_PROC_STAT', `${name} is not in /proc/stat ${a ? 'after' : 'before'} (offline?)`)
  }
  // a counter never goes back, except across a core going offline: clamp, do not report negative time
  const d = (f: (typeof FIELDS)[number]): number => Math.max(0, b[f] - a[f])
  const parts = {
    user: d('user'),
    nice: d('nice'),
    system: d('system'),
    idle: d('idle'),
    iowait: d('iowait'),
    irq: d('irq'),
    softirq: d('softirq'),
    steal: d('steal'),
  }
  const ticks = Object.values(parts).reduce((s, v) => s + v, 0)
  const pct = (v: number): number => (ticks === 0 ? 0 : (v / ticks) * 100)
  return {
    userPercent: pct(parts.user),
    nicePercent: pct(parts.nice),
    systemPercent: pct(parts.system),
    irqPercent: pct(parts.irq),
    softirqPercent: pct(parts.softirq),
    idlePercent: pct(parts.idle),
    iowaitPercent: pct(parts.iowait),
    stealPercent: pct(parts.steal),
    busyPercent: ticks === 0 ? 0 : pct(ticks - parts.idle - parts.iowait),
    ticks,
    elapsedMs: (ticks / clockTicksPerSecond()) * 1000,
  }
}
