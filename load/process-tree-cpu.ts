/**
 * CPU time of a process's descendants, from /proc: what `process.cpuUsage()` does not see. The generator
 * charges its Chromium (browser clients) to itself with it.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { clockTicksPerSecond } from '../lib/proc-stat.ts'

/** CPU time of every descendant of `root` (Chromium's browser, renderer and utility processes), us. */
export interface TreeCpu {
  userUs: number
  systemUs: number
  processes: number
}

/** Sums utime and stime (/proc/PID/stat fields 14 and 15) over the descendants of `root`, now. */
export function descendantsCpu(root = process.pid): TreeCpu {
  const parent = new Map<number, number>()
  const times = new Map<number, [number, number]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    let text: string
    try {
      text = readFileSync(`/proc/${name}/stat`, 'latin1')
    } catch {
      continue // gone between the listing and the read
    }
    // the command name may hold spaces and parentheses: the fields start after its last `)`
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
    const pid = Number(name)
    parent.set(pid, Number(f[1]))
    times.set(pid, [Number(f[11]), Number(f[12])])
  }
  const usPerTick = 1e6 / clockTicksPerSecond()
  const out: TreeCpu = { userUs: 0, systemUs: 0, processes: 0 }
  for (const [pid, [utime, stime]] of times) {
    let p = parent.get(pid)
    while (p !== undefined && p !== root && p > 1) p = parent.get(p)
    if (p !== root) continue
    out.userUs += utime * usPerTick
    out.systemUs += stime * usPerTick
    out.processes++
  }
  return out
}
