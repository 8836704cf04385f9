/**
 * Child processes of a run: the server and the generators, each a `node --import tsx` process,
 * pinned to a core with taskset where there are two. Every child is tracked so that an interrupt
 * or a failure stops them all; none is waited on forever.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { PbError } from '../lib/errors.ts'
import { pluginNodeArgs } from '../lib/plugins.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

const live = new Set<ChildProcess>()

let tasksetOk: boolean | undefined
/** taskset present and at least 2 cores: pin the server and the generator apart. */
export function canPin(): boolean {
  if (tasksetOk === undefined) {
    try {
      execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
      tasksetOk = availableParallelism() >= 2
    } catch {
      tasksetOk = false
    }
  }
  return tasksetOk
}

export interface SpawnOptions {
  /** core to pin to (taskset -c), when pinning is possible */
  cpu?: number | undefined
  /** stderr lines kept for the error message if the child dies */
  label: string
  /** node flags before the script (e.g. --cpu-prof) */
  nodeArgs?: string[]
  /** network namespace to run in (wire mode, lib/netns.ts): `ip netns exec NS [taskset -c N] node ...`;
   * ip and taskset both exec what follows, so the child's pid is node's and signals reach it directly */
  netns?: string | undefined
  /** variables added to the inherited environment */
  env?: Record<string, string> | undefined
  /** open-files limit (soft and hard) to start it under: `prlimit --nofile=N:N` (lib/nofile.ts) */
  nofile?: number | undefined
}

export interface Child {
  proc: ChildProcess
  label: string
  /** how it ended, once it has: `pid N, killed by SIGKILL` or `pid N, exit code 1` */
  death(): string | undefined
  /** last stderr output, for error messages */
  stderr(): string
  /** resolves with the exit code (or signal) */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** IPC request/response by id */
  request<T>(msg: Record<string, unknown>, timeoutMs?: number): Promise<T>
  /** SIGTERM, then SIGKILL after graceMs */
  stop(graceMs?: number): Promise<void>
}

let nextId = 1

/** How a process ended, in words: `killed by SIGKILL`, `exit code 1`. */
export function howExited(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `killed by ${signal}` : code === -1 ? 'could not be started' : `exit code ${code}`
}

/** The last lines a child wrote to stderr, on one line, or nothing. */
function tail(stderr: string): string {
  const t = stderr.trim().split('\n').slice(-3).join(' | ')
  return t === '' ? '' : `; its last stderr: ${t}`
}

/** Spawns `node --import tsx <script> ...args` from the repo root, detached into its own process group
 * so the terminal's Ctrl-C reaches only the orchestrator, which then stops the children in order. */
export function spawnNode(script: string, args: string[], opts: SpawnOptions): Child {
  // plugin transports (PUSHBENCH_PLUGINS) load in every child, so all processes of a run share one registry
  const nodeArgs = [...(opts.nodeArgs ?? []), '--import', 'tsx', ...pluginNodeArgs(), script, ...args]
  const pin = opts.cpu !== undefined && canPin()
  const command = [
    ...(opts.nofile !== undefined ? ['prlimit', `--nofile=${opts.nofile}:${opts.nofile}`] : []),
    ...(pin ? ['taskset', '-c', String(opts.cpu)] : []),
    process.execPath,
    ...nodeArgs,
  ]
  if (opts.netns !== undefined) command.unshift('ip', 'netns', 'exec', opts.netns)
  const [cmd = process.execPath, ...argv] = command
  const proc = spawn(cmd, argv, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
  })
  live.add(proc)
  let err = ''
  proc.stderr?.setEncoding('utf8')
  proc.stderr?.on('data', (d: string) => {
    err = (err + d).slice(-4000)
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      live.delete(proc)
      resolve({ code, signal })
    })
    proc.once('error', () => {
      live.delete(proc)
      resolve({ code: -1, signal: null })
    })
  })
  const pending = new Map<number, { answer: (m: unknown) => void; fail: (e: Error) => void }>()
  proc.on('message', (m: { id?: number }) => {
    if (typeof m?.id === 'number') pending.get(m.id)?.answer(m)
  })
  let death: string | undefined
  // a request waiting on a child that died fails now, naming how it died, not at its timeout
  void exited.then(({ code, signal }) => {
    death = `pid ${proc.pid}, ${howExited(code, signal)}`
    const e = new PbError('PB_ERR_CHILD_DIED', `${opts.label} died (${death})${tail(err)}`)
    for (const p of [...pending.values()]) p.fail(e)
  })
  const child: Child = {
    proc,
    label: opts.label,
    death: () => death,
    stderr: () => err.trim(),
    exited,
    request<T>(msg: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
      const id = nextId++
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(
            new PbError(
              'PB_ERR_CHILD',
              `${opts.label} did not answer ${String(msg.type)} in ${timeoutMs} ms`,
            ),
          )
        }, timeoutMs)
        pending.set(id, {
          answer: (m) => {
            clearTimeout(timer)
            pending.delete(id)
            resolve(m as T)
          },
          fail: (e) => {
            clearTimeout(timer)
            pending.delete(id)
            reject(e)
          },
        })
        if (!proc.connected) {
          clearTimeout(timer)
          pending.delete(id)
          reject(
            new PbError(
              'PB_ERR_CHILD_DIED',
              `${opts.label} is gone${death ? ` (${death})` : ''}${tail(err)}`,
            ),
          )
          return
        }
        proc.send({ ...msg, id })
      })
    },
    async stop(graceMs = 5000): Promise<void> {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      proc.kill('SIGTERM')
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(t)
    },
  }
  return child
}

/** Waits for the first stdout line that parses as JSON with `event: 'ready'`; fails if the child exits first. */
export function waitReady<T extends { event: string }>(child: Child, timeoutMs = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(
      () =>
        reject(new PbError('PB_ERR_CHILD', `${child.label} not ready in ${timeoutMs} ms: ${child.stderr()}`)),
      timeoutMs,
    )
    child.proc.stdout?.setEncoding('utf8')
    child.proc.stdout?.on('data', (d: string) => {
      buf += d
      let nl = buf.indexOf('\n')
      while (nl >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        try {
          const m = JSON.parse(line) as T
          if (m.event === 'ready') {
            clearTimeout(timer)
            resolve(m)
            return
          }
        } catch {}
        nl = buf.indexOf('\n')
      }
    })
    child.exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(
        new PbError(
          'PB_ERR_CHILD_DIED',
          `${child.label} died before it was ready (pid ${child.proc.pid}, ${howExited(code, signal)})${tail(child.stderr())}`,
        ),
      )
    })
  })
}

let stoppingAll = false
/** True once stopAll was called: an exit from then on is the run's doing, not a death. */
export function stoppingEverything(): boolean {
  return stoppingAll
}

/** Stops every child still running (interrupts, failures): SIGTERM, then SIGKILL after `graceMs`. */
export async function stopAll(graceMs = 3000): Promise<void> {
  stoppingAll = true
  await Promise.all(
    [...live].map(async (p) => {
      if (p.exitCode !== null || p.signalCode !== null) return
      const gone = new Promise((r) => p.once('exit', r))
      p.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL')
      const t = setTimeout(() => p.kill('SIGKILL'), graceMs)
      await gone
      clearTimeout(t)
    }),
  )
}

export function liveChildren(): number {
  return live.size
}

/** The signals a run stops on; SIGHUP too, so that a closed terminal ends it the same way. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** How often a run looks whether its parent went away (npm or a shell killed without passing it on). */
const PARENT_CHECK_MS = 500

/** After a second signal the run exits this long after it at the latest, children stopped or not. */
const FORCED_EXIT_MS = 2000

export interface InterruptOptions {
  /**
   * What is on disk right now, said when a second signal ends the run at once: e.g. `r.json not written`
   * or `results so far: results/x.json (3 of 8 runs, marked partial)`
   */
  onDisk: () => string
}

/**
 * What a run does on a signal: the first SIGINT, SIGTERM or SIGHUP (or its parent going away: npm
 * killed, the shell that ran it killed) aborts the returned signal, whose `reason` names it, so the
 * current window closes and what was measured is kept; a second one stops every child now (SIGKILL
 * after 300 ms), says what was or was not written, and exits 130.
 */
export function abortOnInterrupt(opts: InterruptOptions): AbortSignal {
  const ac = new AbortController()
  let interrupts = 0
  const ppid = process.ppid
  const on = (what: string): void => {
    if (++interrupts > 1) {
      process.stderr.write(`\n${what} again: stopping every process of the run now\n`)
      setTimeout(() => {
        process.stderr.write(`${opts.onDisk()}\n`)
        process.exit(130)
      }, FORCED_EXIT_MS)
      void stopAll(300).then(() => {
        process.stderr.write(`${opts.onDisk()}\n`)
        process.exit(130)
      })
      return
    }
    process.stderr.write(
      `\n${what}: interrupted: closing the current window, keeping what was measured (a second signal or Ctrl-C stops everything at once)\n`,
    )
    ac.abort(what)
  }
  for (const sig of STOP_SIGNALS) process.on(sig, () => on(sig))
  const watch = setInterval(() => {
    // reparented: whatever started this process is gone, and a signal meant for it may never come here
    if (process.ppid !== ppid) {
      clearInterval(watch)
      on(`parent process ${ppid} went away`)
    }
  }, PARENT_CHECK_MS)
  watch.unref()
  return ac.signal
}

/** Why a run was interrupted, from its signal's reason: `SIGTERM`, `parent process 12 went away`. */
export function interruptedBy(signal: AbortSignal | undefined): string {
  const r = signal?.reason
  return typeof r === 'string' ? r : 'interrupt'
}
