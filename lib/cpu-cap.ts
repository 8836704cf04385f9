/**
 * A CPU quota for one child process (`--server-cpu F`): a cgroup with F cores' worth of CPU time per period.
 *
 * Works with cgroup v1 (a hierarchy with the `cpu` controller: `cpu.cfs_period_us`, `cpu.cfs_quota_us`) and
 * cgroup v2 (`cpu` in `cgroup.controllers`: `cpu.max`); the hierarchy is found through /proc/self/mountinfo.
 * Groups are named `pushbench-<owner pid>-<random>` and made directly under the hierarchy's root.
 *
 * No group outlives its owner on any exit path it can see:
 * - every live cap is in a module registry; `removeAllCpuCaps()` (async) and `removeAllCpuCapsSync()`
 *   (best effort, for `process.on('exit')`) remove them, and the sync one is hooked to 'exit' when the
 *   first cap is made, so a normal exit or an uncaught exception cleans up by itself;
 * - signals end a process without 'exit': the CLI's own SIGINT/SIGTERM handler stops the child and calls
 *   `removeAllCpuCaps()` (or `cap.remove()`) before it exits;
 * - a SIGKILLed owner leaves its group behind: `sweepStaleCpuCaps()` removes groups whose owner pid is dead
 *   (call it when a run starts).
 *
 * To start a child inside the group with no window where it runs uncapped, spawn it through
 * `wrapCommand(cap, cmd, args)`: a `/bin/sh` writes its own pid into the group's `cgroup.procs` and then
 * `exec`s the command, so the process (same pid) is capped before the command runs any of its own code.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { PbError, PbOptionError } from './errors.ts'

/** the flag every user-facing error here names */
const FLAG = '--server-cpu'
/** 10 ms: short periods keep the throttled child's stalls short (the default 100 ms would add up to
 * 75 ms pauses to latency at 0.25 core) */
export const CPU_CAP_PERIOD_US = 10_000
/** the kernel refuses a quota below 1 ms */
export const CPU_CAP_MIN_QUOTA_US = 1_000
/** how long remove() keeps retrying rmdir while an exiting task is still counted in the group */
const REMOVE_TIMEOUT_MS = 2_000
const REMOVE_RETRY_MS = 10
const GROUP_PREFIX = 'pushbench-'
const GROUP_NAME = /^pushbench-(\d+)-[0-9a-f]+$/

export interface CpuController {
  version: 1 | 2
  /** the hierarchy's root folder: groups are made directly under it */
  root: string
}

export interface CpuThrottle {
  /** periods in which the group had runnable tasks */
  nrPeriods: number
  /** periods in which the group used up its quota and was stopped */
  nrThrottled: number
  /** total time the group's tasks were stopped, microseconds */
  throttledUs: number
}

export interface CpuCap {
  /** the group's folder, e.g. /sys/fs/cgroup/cpu/pushbench-1234-9f3a1c2e */
  readonly path: string
  readonly label: string
  readonly cores: number
  readonly version: 1 | 2
  readonly periodUs: number
  readonly quotaUs: number
  /** the group's cgroup.procs: writing a pid there moves that process (all its threads) in */
  readonly procsFile: string
  /** true after remove() succeeded */
  readonly removed: boolean
  /** moves a running process (all its threads) into the group */
  addPid(pid: number): void
  /** the processes in the group now */
  pids(): number[]
  /** the group's throttling counters (cpu.stat), cumulative since the group was made */
  throttled(): CpuThrottle
  /** moves any process still in the group back to the parent group, then deletes the group (idempotent) */
  remove(): Promise<void>
}

/** Decodes the octal escapes (`\040` for a space) mountinfo uses in paths. */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)))
}

/**
 * The cgroup mounts in a /proc/self/mountinfo text that could hold the cpu controller: v1 mounts with `cpu`
 * among their super options, and every v2 mount (whether it has `cpu` shows in its cgroup.controllers).
 */
export function cpuControllerMounts(mountinfo: string): CpuController[] {
  const found: CpuController[] = []
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ')
    if (sep < 0) continue
    const fields = line.slice(0, sep).split(' ')
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ')
    const mountPoint = fields[4]
    if (mountPoint === undefined) continue
    if (fstype === 'cgroup' && superOpts.split(',').includes('cpu')) {
      found.push({ version: 1, root: unescapeMountPath(mountPoint) })
    } else if (fstype === 'cgroup2') {
      found.push({ version: 2, root: unescapeMountPath(mountPoint) })
    }
  }
  return found
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

function hasCpuController(c: CpuController): boolean {
  if (c.version === 1) return existsSync(join(c.root, 'cpu.cfs_quota_us'))
  return (readText(join(c.root, 'cgroup.controllers')) ?? '').split(/\s+/).includes('cpu')
}

/**
 * The hierarchy that has the cpu controller, or undefined. A controller is bound to one hierarchy at a
 * time, so at most one of the v1 `cpu` mount and the v2 mount has it.
 */
export function findCpuController(): CpuController | undefined {
  const mountinfo = readText('/proc/self/mountinfo')
  const candidates =
    mountinfo !== undefined
      ? cpuControllerMounts(mountinfo)
      : [
          // no /proc: the usual places
          { version: 1 as const, root: '/sys/fs/cgroup/cpu' },
          { version: 1 as const, root: '/sys/fs/cgroup/cpu,cpuacct' },
          { version: 2 as const, root: '/sys/fs/cgroup' },
        ]
  return candidates.find(hasCpuController)
}

/** Checks F (cores) and returns the quota for one period; throws PbOptionError naming --server-cpu. */
export function cpuCapQuotaUs(cores: number, maxCores = os.availableParallelism()): number {
  const minCores = CPU_CAP_MIN_QUOTA_US / CPU_CAP_PERIOD_US
  const range = `${minCores} to ${maxCores} (cores of this machine)`
  if (typeof cores !== 'number' || !Number.isFinite(cores) || cores <= 0) {
    throw new PbOptionError(FLAG, `must be a number of cores > 0, from ${range}; got ${String(cores)}`)
  }
  if (cores > maxCores) {
    throw new PbOptionError(FLAG, `${cores} cores is more than this machine has; use ${range}`)
  }
  const quota = Math.round(cores * CPU_CAP_PERIOD_US)
  if (quota < CPU_CAP_MIN_QUOTA_US) {
    throw new PbOptionError(
      FLAG,
      `${cores} cores is below the kernel's minimum quota (1 ms per ${CPU_CAP_PERIOD_US / 1000} ms period); use ${range}`,
    )
  }
  return quota
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code
}

function isPermissionError(err: unknown): boolean {
  const code = errCode(err)
  return code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
}

/** A permission failure becomes the usage error the CLI exits 2 with; anything else a PbError. */
function cgroupError(what: string, err: unknown): PbError {
  const code = errCode(err)
  const detail =
    code !== undefined ? `${what} (${code})` : `${what}: ${(err as Error)?.message ?? String(err)}`
  if (isPermissionError(err)) {
    return new PbOptionError(
      FLAG,
      `${detail}; run as root (or with write access to the cgroup), or drop ${FLAG}`,
    )
  }
  return new PbError('PB_ERR_CGROUP', detail, { cause: err })
}

function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/)
    if (key && value !== undefined) out.set(key, Number(value))
  }
  return out
}

/** cpu.stat, v1 (`throttled_time` in ns) or v2 (`throttled_usec`). */
export function parseCpuStat(text: string): CpuThrottle {
  const s = parseFlatKeyed(text)
  const throttledUs = s.has('throttled_usec')
    ? (s.get('throttled_usec') ?? 0)
    : Math.round((s.get('throttled_time') ?? 0) / 1000)
  return { nrPeriods: s.get('nr_periods') ?? 0, nrThrottled: s.get('nr_throttled') ?? 0, throttledUs }
}

function parsePids(text: string): number[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number)
}

/** Moves every process still in `group` to its parent; a process that exits meanwhile is not an error. */
function moveOutSync(group: string): void {
  const parentProcs = join(dirname(group), 'cgroup.procs')
  let text: string
  try {
    text = readFileSync(join(group, 'cgroup.procs'), 'utf8')
  } catch (err) {
    if (errCode(err) === 'ENOENT') return
    throw err
  }
  for (const pid of parsePids(text)) {
    try {
      writeFileSync(parentProcs, `${pid}\n`)
    } catch (err) {
      // ESRCH: gone already; EINVAL: exiting (a zombie cannot move, it leaves by itself)
      if (errCode(err) !== 'ESRCH' && errCode(err) !== 'EINVAL') throw err
    }
  }
}

async function moveOut(group: string): Promise<void> {
  const parentProcs = join(dirname(group), 'cgroup.procs')
  let text: string
  try {
    text = await readFile(join(group, 'cgroup.procs'), 'utf8')
  } catch (err) {
    if (errCode(err) === 'ENOENT') return
    throw err
  }
  for (const pid of parsePids(text)) {
    try {
      await writeFile(parentProcs, `${pid}\n`)
    } catch (err) {
      if (errCode(err) !== 'ESRCH' && errCode(err) !== 'EINVAL') throw err
    }
  }
}

/** Moves the group's processes out and deletes it, retrying while rmdir says EBUSY (an exiting task). */
async function removeGroup(group: string): Promise<void> {
  const deadline = performance.now() + REMOVE_TIMEOUT_MS
  for (;;) {
    try {
      await moveOut(group)
      await rmdir(group)
      return
    } catch (err) {
      if (errCode(err) === 'ENOENT') return
      if (errCode(err) !== 'EBUSY' || performance.now() > deadline) {
        throw cgroupError(`cannot remove cgroup ${group}`, err)
      }
    }
    await sleep(REMOVE_RETRY_MS)
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4))

/** Sync best-effort removal, for an 'exit' handler; returns false if the group is still there. */
function removeGroupSync(group: string): boolean {
  const deadline = performance.now() + REMOVE_TIMEOUT_MS
  for (;;) {
    try {
      moveOutSync(group)
      rmdirSync(group)
      return true
    } catch (err) {
      if (errCode(err) === 'ENOENT') return true
      if (errCode(err) !== 'EBUSY' || performance.now() > deadline) return false
    }
    Atomics.wait(sleepCell, 0, 0, REMOVE_RETRY_MS)
  }
}

const liveCaps = new Set<CpuCapImpl>()
let exitHooked = false

class CpuCapImpl implements CpuCap {
  readonly procsFile: string
  #removed = false
  #removing: Promise<void> | undefined

  constructor(
    readonly path: string,
    readonly label: string,
    readonly cores: number,
    readonly version: 1 | 2,
    readonly periodUs: number,
    readonly quotaUs: number,
  ) {
    this.procsFile = join(path, 'cgroup.procs')
  }

  get removed(): boolean {
    return this.#removed
  }

  addPid(pid: number): void {
    if (this.#removed) throw new PbError('PB_ERR_CGROUP', `cpu cap ${this.label}: already removed`)
    try {
      writeFileSync(this.procsFile, `${pid}\n`)
    } catch (err) {
      throw cgroupError(`cpu cap ${this.label}: cannot move pid ${pid} into ${this.path}`, err)
    }
  }

  pids(): number[] {
    if (this.#removed) return []
    return parsePids(readFileSync(this.procsFile, 'utf8'))
  }

  throttled(): CpuThrottle {
    return parseCpuStat(readFileSync(join(this.path, 'cpu.stat'), 'utf8'))
  }

  remove(): Promise<void> {
    this.#removing ??= removeGroup(this.path).then(
      () => {
        this.#removed = true
        liveCaps.delete(this)
      },
      (err: unknown) => {
        this.#removing = undefined // a later call may try again
        throw err
      },
    )
    return this.#removing
  }

  removeSync(): boolean {
    if (this.#removed) return true
    if (!removeGroupSync(this.path)) return false
    this.#removed = true
    liveCaps.delete(this)
    return true
  }
}

/** Enables the cpu controller for the root's children (v2); it usually is already. */
async function enableV2Cpu(root: string): Promise<void> {
  const control = join(root, 'cgroup.subtree_control')
  try {
    const enabled = (await readFile(control, 'utf8')).split(/\s+/)
    if (!enabled.includes('cpu')) await writeFile(control, '+cpu')
  } catch (err) {
    throw cgroupError(`cannot enable the cpu controller in ${control}`, err)
  }
}

/**
 * Makes a cgroup limited to `cores` cores (a quota of round(cores * 10 ms) per 10 ms period). `label` names
 * the cap in errors (e.g. 'server'). Throws PbOptionError('--server-cpu') for a bad `cores`, for no cgroup
 * cpu controller, and for no permission; PbError for other cgroup failures.
 */
export async function createCpuCap(cores: number, label: string): Promise<CpuCap> {
  const quotaUs = cpuCapQuotaUs(cores)
  const controller = findCpuController()
  if (controller === undefined) {
    throw new PbOptionError(
      FLAG,
      'no cgroup cpu controller found (neither a cgroup v1 "cpu" hierarchy nor cgroup v2 with "cpu" in ' +
        `cgroup.controllers, in /proc/self/mountinfo); mount one, or drop ${FLAG}`,
    )
  }
  const { version, root } = controller
  if (version === 2) await enableV2Cpu(root)
  const path = join(root, `${GROUP_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    await mkdir(path)
  } catch (err) {
    throw cgroupError(`cpu cap ${label}: cannot create cgroup ${path}`, err)
  }
  const cap = new CpuCapImpl(path, label, cores, version, CPU_CAP_PERIOD_US, quotaUs)
  liveCaps.add(cap)
  if (!exitHooked) {
    exitHooked = true
    process.on('exit', removeAllCpuCapsSync)
  }
  try {
    if (version === 1) {
      // period first: the quota is checked against it
      await writeFile(join(path, 'cpu.cfs_period_us'), String(CPU_CAP_PERIOD_US))
      await writeFile(join(path, 'cpu.cfs_quota_us'), String(quotaUs))
    } else {
      await writeFile(join(path, 'cpu.max'), `${quotaUs} ${CPU_CAP_PERIOD_US}`)
    }
  } catch (err) {
    await cap.remove().catch(() => {})
    throw cgroupError(
      `cpu cap ${label}: cannot set a quota of ${quotaUs} us per ${CPU_CAP_PERIOD_US} us`,
      err,
    )
  }
  return cap
}

/**
 * The command to spawn instead of `cmd args` so the process starts inside the cap:
 * `/bin/sh -c 'echo $$ > "$1" || exit 125; shift; exec "$@"' pushbench-cpu-cap <cgroup.procs> cmd args...`.
 * The shell moves itself (its pid is the child's pid) into the group, then execs the command in place, so
 * no instruction of the command runs uncapped and `child.pid` / `child.kill()` reach the command itself.
 * Differences from spawning `cmd` directly: a failure to join the group exits 125 (the reason on stderr),
 * and a command that cannot be run exits 127 (sh's status) instead of a spawn 'error' event.
 */
export function wrapCommand(
  cap: CpuCap,
  cmd: string,
  args: readonly string[],
): { cmd: string; args: string[] } {
  if (cap.removed) throw new PbError('PB_ERR_CGROUP', `cpu cap ${cap.label}: already removed`)
  const script =
    'echo $$ > "$1" || { echo "pushbench: cannot join cgroup $1" >&2; exit 125; }; shift; exec "$@"'
  return { cmd: '/bin/sh', args: ['-c', script, 'pushbench-cpu-cap', cap.procsFile, cmd, ...args] }
}

/** Removes every cap this process made and still holds; throws (after trying all) if any is left. */
export async function removeAllCpuCaps(): Promise<void> {
  const results = await Promise.allSettled([...liveCaps].map((c) => c.remove()))
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed.length > 0) {
    const first = failed[0]?.reason as Error
    throw new PbError('PB_ERR_CGROUP', `${failed.length} cpu cap(s) left: ${first.message}`, { cause: first })
  }
}

/**
 * Best-effort sync removal of every live cap, for `process.on('exit')` (hooked automatically when the first
 * cap is made). Returns the paths it could not remove.
 */
export function removeAllCpuCapsSync(): string[] {
  const left: string[] = []
  for (const cap of [...liveCaps]) if (!cap.removeSync()) left.push(cap.path)
  return left
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return errCode(err) === 'EPERM' // exists, owned by someone else
  }
}

/** The owner pid in a group name made by createCpuCap, or undefined for any other name. */
export function cpuCapOwner(name: string): number | undefined {
  const m = GROUP_NAME.exec(name)
  return m?.[1] === undefined ? undefined : Number(m[1])
}

/**
 * Removes `pushbench-<pid>-*` groups whose owner process is dead (left by a SIGKILLed run); a process still
 * in one (the orphaned child) is moved to the root group first. Best effort: nothing found, no controller,
 * no permission are not errors. (A reused pid keeps its dead owner's group until that pid exits too.)
 */
export async function sweepStaleCpuCaps(): Promise<{ removed: string[]; failed: string[] }> {
  const removed: string[] = []
  const failed: string[] = []
  const controller = findCpuController()
  if (controller === undefined) return { removed, failed }
  let names: string[]
  try {
    names = readdirSync(controller.root)
  } catch {
    return { removed, failed }
  }
  for (const name of names) {
    const owner = cpuCapOwner(name)
    if (owner === undefined || owner === process.pid || pidAlive(owner)) continue
    const path = join(controller.root, name)
    try {
      await removeGroup(path)
      removed.push(path)
    } catch {
      failed.push(path)
    }
  }
  return { removed, failed }
}

/** The folders of all `pushbench-*` groups under the cpu hierarchy's root (any owner). */
export function listCpuCapGroups(): string[] {
  const controller = findCpuController()
  if (controller === undefined) return []
  try {
    return readdirSync(controller.root)
      .filter((n) => n.startsWith(GROUP_PREFIX))
      .map((n) => join(controller.root, n))
  } catch {
    return []
  }
}
