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
  const pending = new Map<number, (m: unknown) => void>()
  proc.on('message', (m: { id?: number }) => {
    if (typeof m?.id === 'number') pending.get(m.id)?.(m)
  })
  const child: Child = {
    proc,
    label: opts.label,
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
        pending.set(id, (m) => {
          clearTimeout(timer)
          pending.delete(id)
          resolve(m as T)
        })
        if (!proc.connected) {
          clearTimeout(timer)
          pending.delete(id)
          reject(
            new PbError(
              'PB_ERR_CHILD',
              `${opts.label} is gone: ${err.trim().split('\n').slice(-3).join(' | ')}`,
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
          'PB_ERR_CHILD',
          `${child.label} exited (${code ?? signal}) before ready: ${child.stderr()}`,
        ),
      )
    })
  })
}

/** Stops every child still running (interrupts, failures). */
export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all(
    [...live].map(async (p) => {
      if (p.exitCode !== null || p.signalCode !== null) return
      p.kill('SIGTERM')
      const t = setTimeout(() => p.kill('SIGKILL'), graceMs)
      await new Promise((r) => p.once('exit', r))
      clearTimeout(t)
    }),
  )
}

export function liveChildren(): number {
  return live.size
}

/**
 * What a run does on a signal: the first SIGINT (or SIGTERM) aborts the returned signal, so the current
 * window closes and what was measured is kept; a second SIGINT stops every child now and exits 130.
 */
export function abortOnInterrupt(): AbortSignal {
  const ac = new AbortController()
  let interrupts = 0
  process.on('SIGINT', () => {
    if (++interrupts > 1) {
      process.stderr.write('\nsecond interrupt: stopping children now\n')
      void stopAll(500).then(() => process.exit(130))
      return
    }
    process.stderr.write(
      '\ninterrupted: closing the current window, keeping what was measured (Ctrl-C again to abort)\n',
    )
    ac.abort()
  })
  process.on('SIGTERM', () => ac.abort())
  return ac.signal
}
