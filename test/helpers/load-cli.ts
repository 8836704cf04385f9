/**
 * Runs the single-run command as users and scripts do (`node bin/pushbench.js run ...`), and looks at
 * the processes it starts through /proc: its children are the server and the generator.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { withTimeout } from './wait.ts'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** one process: the CLI registers tsx in-process and runs scripts/run.ts in it */
const BIN = 'bin/pushbench.js'
const RUN = 'pushbench run'

export interface Ran {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** A `pushbench run` process with its output collected as it comes. */
export interface LoadRun {
  proc: ChildProcess
  stdout(): string
  stderr(): string
  /** resolves after the process exited and its output was drained */
  done: Promise<Ran>
  /** resolves when stderr matches `re` (fails if the process ends first or after `timeoutMs`) */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<void>
  /** SIGKILLs the run if it is still up (its children leave when their IPC channel closes) */
  kill(): Promise<void>
}

/** `env` adds to the environment (e.g. PUSHBENCH_PLUGINS). */
export function startRun(args: readonly string[], env: NodeJS.ProcessEnv = {}): LoadRun {
  const proc = spawn(process.execPath, [BIN, 'run', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...env },
  })
  let out = ''
  let err = ''
  const waiters = new Set<() => void>()
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString()
    for (const w of waiters) w()
  })
  const done = new Promise<Ran>((resolve) =>
    proc.once('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err })),
  )
  let ended = false
  void done.then(() => {
    ended = true
    for (const w of waiters) w()
  })
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    done,
    waitForStderr(re: RegExp, timeoutMs = 30_000): Promise<void> {
      const wait = new Promise<void>((resolve, reject) => {
        const check = () => {
          if (re.test(err)) {
            waiters.delete(check)
            resolve()
          } else if (ended) {
            waiters.delete(check)
            reject(new Error(`${RUN} exited before stderr matched ${re}: ${err}`))
          }
        }
        waiters.add(check)
        check()
      })
      return withTimeout(wait, `${RUN} to print ${re} (stderr so far: ${err})`, timeoutMs)
    },
    async kill(): Promise<void> {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      await done
    },
  }
}

/** Runs `pushbench run` to its end; SIGKILLed (and the test fails) if it takes longer than `timeoutMs`. */
export async function runLoad(
  args: readonly string[],
  timeoutMs = 60_000,
  env: NodeJS.ProcessEnv = {},
): Promise<Ran> {
  const run = startRun(args, env)
  return withTimeout(run.done, `${RUN} ${args.join(' ')} to exit`, timeoutMs).catch(async (err) => {
    await run.kill()
    throw err
  })
}

/** A fresh temporary folder, removed after the test. */
export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pushbench-load-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export interface Proc {
  pid: number
  ppid: number
  /** R, S, D, Z (zombie), ... */
  state: string
  cmdline: string
}

/** One process from /proc, or undefined if there is none with that PID. */
export function procInfo(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    // the command name (field 2) is in parentheses and may hold spaces: read after the last ')'
    const [state = '', ppid = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim()
    return { pid, ppid: Number(ppid), state, cmdline }
  } catch {
    return undefined
  }
}

/** The processes whose parent is `pid`. */
export function childrenOf(pid: number): Proc[] {
  const out: Proc[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const p = procInfo(Number(name))
    if (p?.ppid === pid) out.push(p)
  }
  return out
}

/** True while a process with this PID runs the same command line (a reused PID is not it). */
export function stillRunning(p: Proc): boolean {
  const now = procInfo(p.pid)
  return now !== undefined && now.state !== 'Z' && now.cmdline === p.cmdline
}
