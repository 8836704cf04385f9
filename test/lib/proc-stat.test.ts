/** lib/proc-stat.ts: /proc/stat parsing, the per-core delta arithmetic, and one live read of a pinned core. */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import os from 'node:os'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { PbError } from '../../lib/errors.ts'
import {
  ALL_CPUS,
  type CpuTimes,
  clockTicksPerSecond,
  cpuDelta,
  parseProcStat,
  readCpuTimes,
} from '../../lib/proc-stat.ts'

const STAT = `cpu  4546 7 3812 100420 498 3 156 2 0 0
cpu0 1746 0 1508 51345 35 0 68 0 0 0
cpu1 2800 7 2303 49075 462 3 88 2 0 0
cpu3 10 20 30 40
intr 193411 0 0 0 0
ctxt 409588
btime 1700000000
processes 5741
procs_running 2
softirq 812 0 300 1 200 0 0 11 150 0 150
`

function times(p: Partial<CpuTimes>): CpuTimes {
  const t = {
    user: 0,
    nice: 0,
    system: 0,
    idle: 0,
    iowait: 0,
    irq: 0,
    softirq: 0,
    steal: 0,
    guest: 0,
    guestNice: 0,
  }
  Object.assign(t, p)
  return { ...t, total: t.user + t.nice + t.system + t.idle + t.iowait + t.irq + t.softirq + t.steal }
}

test('parses the cpu lines of /proc/stat, keyed by core, the sum under ALL_CPUS', () => {
  const m = parseProcStat(STAT)
  assert.deepEqual([...m.keys()], [ALL_CPUS, 0, 1, 3])
  assert.deepEqual(m.get(1), {
    user: 2800,
    nice: 7,
    system: 2303,
    idle: 49075,
    iowait: 462,
    irq: 3,
    softirq: 88,
    steal: 2,
    guest: 0,
    guestNice: 0,
    total: 2800 + 7 + 2303 + 49075 + 462 + 3 + 88 + 2,
  })
  assert.equal(m.get(ALL_CPUS)?.user, 4546)
  // an old kernel's short line: the missing fields are 0
  assert.deepEqual(m.get(3), times({ user: 10, nice: 20, system: 30, idle: 40 }))
  // the `softirq` line is not a core
  assert.equal(m.size, 4)
})

test('guest time is inside user and nice, not added to the total again', () => {
  const m = parseProcStat('cpu0 100 10 50 800 0 0 0 0 40 5\n')
  assert.equal(m.get(0)?.total, 960)
  assert.equal(m.get(0)?.guest, 40)
})

test('cpuDelta: percents of that core over its own ticks between the reads', () => {
  const before = new Map([
    [0, times({ user: 1000, system: 500, idle: 9000 })],
    [1, times({ user: 100, nice: 1, system: 50, idle: 800, iowait: 10, irq: 2, softirq: 20, steal: 0 })],
  ])
  const after = new Map([
    [0, times({ user: 1000, system: 500, idle: 9200 })],
    // +30 user, +2 nice, +10 system, +50 idle, +4 iowait, +1 irq, +3 softirq, +0 steal: 100 ticks
    [1, times({ user: 130, nice: 3, system: 60, idle: 850, iowait: 14, irq: 3, softirq: 23, steal: 0 })],
  ])
  const d = cpuDelta(before, after, 1)
  assert.equal(d.ticks, 100)
  assert.equal(d.userPercent, 30)
  assert.equal(d.nicePercent, 2)
  assert.equal(d.systemPercent, 10)
  assert.equal(d.idlePercent, 50)
  assert.equal(d.iowaitPercent, 4)
  assert.equal(d.irqPercent, 1)
  assert.equal(d.softirqPercent, 3)
  assert.equal(d.stealPercent, 0)
  assert.equal(d.busyPercent, 46)
  assert.equal(d.elapsedMs, (100 / clockTicksPerSecond()) * 1000)

  const idle = cpuDelta(before, after, 0)
  assert.equal(idle.idlePercent, 100)
  assert.equal(idle.busyPercent, 0)

  // the same read twice: no ticks, every percent 0 (not NaN)
  const none = cpuDelta(before, before, 1)
  assert.equal(none.ticks, 0)
  assert.equal(none.busyPercent, 0)
  assert.equal(none.idlePercent, 0)

  assert.throws(
    () => cpuDelta(before, after, 7),
    (err: unknown) => err instanceof PbError && /cpu7/.test(err.message),
  )
})

test('a counter that went back (core offlined) counts as 0, not negative time', () => {
  const before = new Map([[0, times({ user: 500, idle: 500 })]])
  const after = new Map([[0, times({ user: 100, idle: 600 })]])
  const d = cpuDelta(before, after, 0)
  assert.equal(d.userPercent, 0)
  assert.equal(d.idlePercent, 100)
})

test('CLK_TCK is a positive integer, asked once', () => {
  const hz = clockTicksPerSecond()
  assert.ok(Number.isInteger(hz) && hz > 0)
  assert.equal(clockTicksPerSecond(), hz)
})

test('live: a busy child pinned to core 1 makes core 1 busy', async (t) => {
  if (os.availableParallelism() < 2) return t.skip('needs 2 cores')
  if (spawnSync('taskset', ['--version']).error)
    return t.skip('taskset missing: apt-get install -y util-linux')
  const child = spawn('taskset', ['-c', '1', process.execPath, '-e', 'for(;;){}'], { stdio: 'ignore' })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  t.after(async () => {
    child.kill('SIGKILL')
    await exited
  })
  await sleep(100) // past exec and node's start
  const before = readCpuTimes()
  await sleep(500)
  const after = readCpuTimes()
  const core1 = cpuDelta(before, after, 1)
  t.diagnostic(`core 1 over ${core1.elapsedMs} ms: ${JSON.stringify(core1)}`)
  assert.ok(core1.busyPercent >= 80, `core 1 busy ${core1.busyPercent.toFixed(1)}%`)
  assert.ok(core1.userPercent >= 50, `core 1 user ${core1.userPercent.toFixed(1)}%`)
  const all = cpuDelta(before, after, ALL_CPUS)
  assert.ok(all.ticks >= core1.ticks)
})
