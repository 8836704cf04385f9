/**
 * lib/cpu-cap.ts: a busy child under a 0.25-core cap gets about a quarter of a core, and the group is gone
 * after remove(), after the child was killed, and after SIGINT to the process that made it. Tests that need
 * a writable cgroup cpu controller skip on machines without one (or when not root).
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { basename, join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import {
  CPU_CAP_PERIOD_US,
  type CpuCap,
  cpuCapOwner,
  cpuCapQuotaUs,
  cpuControllerMounts,
  createCpuCap,
  listCpuCapGroups,
  parseCpuStat,
  removeAllCpuCaps,
  removeAllCpuCapsSync,
  sweepStaleCpuCaps,
  wrapCommand,
} from '../../lib/cpu-cap.ts'
import { PbOptionError } from '../../lib/errors.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BUSY = ['-e', 'for(;;){}']
const CAP_CORES = 0.25
const MEASURE_MS = 2000

/** Why the cgroup tests cannot run here, or undefined if a cap can be made and removed. */
async function noCgroupReason(): Promise<string | undefined> {
  try {
    const cap = await createCpuCap(CAP_CORES, 'probe')
    await cap.remove()
    return undefined
  } catch (err) {
    if (err instanceof PbOptionError) return `no writable cgroup cpu controller: ${err.message}`
    throw err
  }
}
const skipReason = await noCgroupReason()

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

function exitOf(child: ChildProcess): Promise<void> {
  return alive(child) ? new Promise((resolve) => child.once('exit', () => resolve())) : Promise.resolve()
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(5)
  }
}

/** Makes a cap and a busy child in it, both cleaned up when the test ends, whatever happened. */
async function busyInCap(t: TestContext): Promise<{ cap: CpuCap; child: ChildProcess; pid: number }> {
  const cap = await createCpuCap(CAP_CORES, 'test')
  const { cmd, args } = wrapCommand(cap, process.execPath, BUSY)
  const child = spawn(cmd, args, { stdio: 'ignore' })
  t.after(async () => {
    if (alive(child)) child.kill('SIGKILL')
    await exitOf(child)
    await cap.remove()
  })
  const pid = child.pid
  assert.ok(pid !== undefined, 'spawned')
  await waitFor(() => cap.pids().includes(pid), `pid ${pid} in ${cap.path}`)
  return { cap, child, pid }
}

/** CPU time the process has run, ns (first field of /proc/<pid>/schedstat). */
function cpuNs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0])
}

function cgroupLines(pid: number): string {
  return readFileSync(`/proc/${pid}/cgroup`, 'utf8')
}

test('cores outside 0.1..availableParallelism are a --server-cpu usage error', () => {
  const n = os.availableParallelism()
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, n + 0.5, 0.05]) {
    assert.throws(
      () => cpuCapQuotaUs(bad),
      (err: unknown) => err instanceof PbOptionError && err.field === '--server-cpu',
      String(bad),
    )
  }
  assert.equal(cpuCapQuotaUs(0.1), 1000)
  assert.equal(cpuCapQuotaUs(0.25), 2500)
  assert.equal(cpuCapQuotaUs(n), n * CPU_CAP_PERIOD_US)
  assert.throws(
    () => cpuCapQuotaUs(3, 2),
    /--server-cpu: 3 cores is more than this machine has; use 0\.1 to 2/,
  )
})

test('finds the cpu hierarchy in mountinfo (v1 and v2) and reads cpu.stat of both', () => {
  const mountinfo = [
    '30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
    '31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
    '32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
    '33 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup rw,cpu,cpuacct',
    '34 30 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset',
    '40 30 0:37 / /sys/fs/cgroup/un\\040ified rw,relatime - cgroup2 cgroup2 rw,nsdelegate',
  ].join('\n')
  assert.deepEqual(cpuControllerMounts(mountinfo), [
    { version: 1, root: '/sys/fs/cgroup/cpu' },
    { version: 1, root: '/sys/fs/cgroup/cpu,cpuacct' },
    { version: 2, root: '/sys/fs/cgroup/un ified' },
  ])
  const v1 = 'nr_periods 12\nnr_throttled 7\nthrottled_time 3500000\nnr_bursts 0\nburst_time 0\n'
  assert.deepEqual(parseCpuStat(v1), { nrPeriods: 12, nrThrottled: 7, throttledUs: 3500 })
  const v2 =
    'usage_usec 900\nuser_usec 800\nsystem_usec 100\nnr_periods 5\nnr_throttled 2\nthrottled_usec 42\n'
  assert.deepEqual(parseCpuStat(v2), { nrPeriods: 5, nrThrottled: 2, throttledUs: 42 })
  assert.equal(cpuCapOwner('pushbench-1234-0a1b2c3d'), 1234)
  assert.equal(cpuCapOwner('pushbench-x-0a1b2c3d'), undefined)
  assert.equal(cpuCapOwner('system.slice'), undefined)
})

test('a busy child under a 0.25-core cap gets at most ~0.3 of a core; remove() deletes the group', async (t) => {
  if (skipReason) return t.skip(skipReason)
  const { cap, child, pid } = await busyInCap(t)
  assert.equal(basename(cap.path), `pushbench-${process.pid}-${basename(cap.path).split('-')[2]}`)
  assert.match(cgroupLines(pid), new RegExp(`/${basename(cap.path)}$`, 'm'))

  const ns0 = cpuNs(pid)
  const t0 = performance.now()
  await sleep(MEASURE_MS)
  const share = (cpuNs(pid) - ns0) / ((performance.now() - t0) * 1e6)
  t.diagnostic(`busy child's share of a core under a ${CAP_CORES}-core cap: ${share.toFixed(3)}`)
  const th = cap.throttled()
  t.diagnostic(
    `throttled ${th.nrThrottled} of ${th.nrPeriods} periods, ${(th.throttledUs / 1000).toFixed(0)} ms`,
  )
  assert.ok(share <= 0.3, `share ${share.toFixed(3)} > 0.3: the cap does not hold`)
  assert.ok(share > 0.1, `share ${share.toFixed(3)} <= 0.1: the child barely ran`)
  assert.ok(th.nrThrottled > 0 && th.throttledUs > 0, JSON.stringify(th))

  child.kill('SIGKILL')
  await exitOf(child)
  await cap.remove()
  assert.equal(existsSync(cap.path), false, `${cap.path} still there`)
  assert.equal(cap.removed, true)
  await cap.remove() // idempotent
})

test('remove() with the child still running moves it to the parent group first', async (t) => {
  if (skipReason) return t.skip(skipReason)
  const { cap, child, pid } = await busyInCap(t)
  await cap.remove()
  assert.equal(existsSync(cap.path), false)
  assert.ok(alive(child), 'the child keeps running, uncapped')
  assert.doesNotMatch(cgroupLines(pid), new RegExp(basename(cap.path)))
  assert.throws(() => wrapCommand(cap, 'true', []), /already removed/)
})

test('a child killed mid-way, then remove() at once: the group is gone', async (t) => {
  if (skipReason) return t.skip(skipReason)
  const { cap, child } = await busyInCap(t)
  await sleep(300)
  child.kill('SIGKILL')
  await cap.remove() // not waiting for the exit: remove() retries while the task is still leaving
  assert.equal(existsSync(cap.path), false)
  await exitOf(child)
})

test('wrapCommand: the command starts inside the group and gets its arguments unchanged', async (t) => {
  if (skipReason) return t.skip(skipReason)
  const cap = await createCpuCap(1, 'wrap')
  t.after(() => cap.remove())
  const script = `process.stdout.write(JSON.stringify([require('fs').readFileSync('/proc/self/cgroup', 'utf8'), process.argv.slice(1)]))`
  const odd = ['a b', '"q"', '$HOME', "it's", '-c']
  const { cmd, args } = wrapCommand(cap, process.execPath, ['-e', script, '--', ...odd])
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  assert.equal(code, 0)
  const [cgroups, argv] = JSON.parse(out) as [string, string[]]
  // read by the command's first line of code: it was in the group before it ran anything
  assert.match(cgroups, new RegExp(`/${basename(cap.path)}$`, 'm'))
  assert.deepEqual(argv, odd)
  await cap.remove()
  assert.equal(existsSync(cap.path), false)
})

/** A process that makes a cap, runs a busy child in it, and on SIGINT stops the child, removes the cap,
 * exits 130 (as the CLI does). Prints {path, child} once the child is started. */
function startDriver(t: TestContext): {
  proc: ChildProcess
  info: Promise<{ path: string; child: number }>
  exited: Promise<number | null>
} {
  const dir = mkdtempSync(join(os.tmpdir(), 'pushbench-cpu-cap-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'driver.mts')
  const lib = pathToFileURL(join(ROOT, 'lib/cpu-cap.ts')).href
  writeFileSync(
    file,
    `import { spawn } from 'node:child_process'
import { createCpuCap, wrapCommand } from '${lib}'
const cap = await createCpuCap(${CAP_CORES}, 'driver')
const w = wrapCommand(cap, process.execPath, ${JSON.stringify(BUSY)})
const child = spawn(w.cmd, w.args, { stdio: 'ignore' })
const exited = new Promise((resolve) => child.once('exit', resolve))
process.on('SIGINT', async () => {
  child.kill('SIGKILL')
  await exited
  await cap.remove()
  process.exit(130)
})
process.stdout.write(JSON.stringify({ path: cap.path, child: child.pid }) + '\\n')
`,
  )
  const proc = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  const info = new Promise<{ path: string; child: number }>((resolve, reject) => {
    let out = ''
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)))
    })
    void exited.then((code) => reject(new Error(`driver exited ${code} before starting: ${stderr}`)))
  })
  t.after(async () => {
    if (alive(proc)) proc.kill('SIGKILL')
    await exited
  })
  return { proc, info, exited }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return !/^\S+ \S+ Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/\(.*\)/, 'x'))
  } catch {
    return false
  }
}

test('SIGINT to the process that made a cap: exit 130, child stopped, no pushbench-* group left', async (t) => {
  if (skipReason) return t.skip(skipReason)
  const driver = startDriver(t)
  const { path, child } = await driver.info
  t.after(() => {
    if (pidAlive(child)) process.kill(child, 'SIGKILL')
  })
  await waitFor(
    () => readFileSync(join(path, 'cgroup.procs'), 'utf8').includes(`${child}\n`),
    'child in group',
  )
  assert.ok(driver.proc.pid !== undefined)
  driver.proc.kill('SIGINT')
  assert.equal(await driver.exited, 130)
  assert.equal(existsSync(path), false, `${path} left behind`)
  const mine = listCpuCapGroups().filter((p) => cpuCapOwner(basename(p)) === driver.proc.pid)
  assert.deepEqual(mine, [])
  assert.equal(pidAlive(child), false, 'the busy child was stopped')
})

test('a SIGKILLed owner leaves its group; sweepStaleCpuCaps() moves the orphan out and removes it', async (t) => {
  if (skipReason) return t.skip(skipReason)
  const driver = startDriver(t)
  const { path, child } = await driver.info
  t.after(() => {
    if (pidAlive(child)) process.kill(child, 'SIGKILL')
  })
  await waitFor(
    () => readFileSync(join(path, 'cgroup.procs'), 'utf8').includes(`${child}\n`),
    'child in group',
  )
  driver.proc.kill('SIGKILL')
  await driver.exited
  assert.equal(existsSync(path), true, 'SIGKILL gives the owner no chance to clean up')
  const { removed, failed } = await sweepStaleCpuCaps()
  assert.ok(removed.includes(path), `swept ${JSON.stringify(removed)}`)
  assert.deepEqual(failed, [])
  assert.equal(existsSync(path), false)
  assert.ok(pidAlive(child), 'the orphan was moved out, not killed')
  process.kill(child, 'SIGKILL')
})

test('removeAllCpuCaps() and removeAllCpuCapsSync() remove every live cap', async (t) => {
  if (skipReason) return t.skip(skipReason)
  const a = await createCpuCap(0.5, 'a')
  const b = await createCpuCap(1, 'b')
  await removeAllCpuCaps()
  assert.equal(existsSync(a.path) || existsSync(b.path), false)
  const c = await createCpuCap(0.5, 'c')
  assert.deepEqual(removeAllCpuCapsSync(), [])
  assert.equal(existsSync(c.path), false)
  assert.equal(c.removed, true)
})

test('no group of this process is left', (t) => {
  if (skipReason) return t.skip(skipReason)
  const mine = listCpuCapGroups().filter((p) => cpuCapOwner(basename(p)) === process.pid)
  assert.deepEqual(mine, [])
})
