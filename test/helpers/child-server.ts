/**
 * Runs a server in its own process: as the bench does (`node --import tsx scripts/serve.ts ...`, with an
 * IPC channel if asked), or as users do (`node bin/pushbench.js serve ...`).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ReadyLine, ServerReply, ServerRequest } from '../../servers/ipc.ts'
import { withTimeout } from './wait.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const MAIN = 'scripts/serve.ts'
const BIN = 'bin/pushbench.js'
/** tsx compiles on start: allow for a slow machine */
const START_TIMEOUT_MS = 20_000

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface ChildServer {
  child: ChildProcess
  ready: ReadyLine
  exited: Promise<Exit>
  stderr(): string
  /** SIGKILLs the child if it is still running (for t.after) */
  kill(): Promise<void>
}

/**
 * `cli`: through the one CLI (`pushbench serve`), else the way the orchestrator spawns it; `nofile`: under
 * `prlimit --nofile=N:N` (util-linux), as load/children.ts starts a child that needs another limit;
 * `nodeArgs`: node's own flags (e.g. `--import` a preload)
 */
function spawnMain(
  args: readonly string[],
  ipc: boolean,
  cli = false,
  nofile?: number,
  nodeArgs: readonly string[] = [],
): ChildProcess {
  const argv = [...nodeArgs, ...(cli ? [BIN, 'serve', ...args] : ['--import', 'tsx', MAIN, ...args])]
  const [cmd, ...rest] =
    nofile === undefined
      ? [process.execPath, ...argv]
      : ['prlimit', `--nofile=${nofile}:${nofile}`, process.execPath, ...argv]
  return spawn(cmd as string, rest, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? (['ipc'] as const) : [])],
  })
}

/** 'close' comes after 'exit' and after the child's stdout and stderr are drained. */
function exitOf(child: ChildProcess, event: 'exit' | 'close' = 'exit'): Promise<Exit> {
  return new Promise((resolve) => child.once(event, (code, signal) => resolve({ code, signal })))
}

/** Starts a server process and waits for its ready line; `cli`: as `pushbench serve` (see spawnMain). */
export async function startMain(
  args: readonly string[],
  opts: { ipc?: boolean; cli?: boolean; nofile?: number; nodeArgs?: readonly string[] } = {},
): Promise<ChildServer> {
  const child = spawnMain(args, opts.ipc ?? false, opts.cli ?? false, opts.nofile, opts.nodeArgs)
  const exited = exitOf(child)
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
  const ready = await withTimeout(
    new Promise<ReadyLine>((resolve, reject) => {
      let out = ''
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString()
        const nl = out.indexOf('\n')
        if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as ReadyLine)
      })
      void exited.then((e) =>
        reject(new Error(`server exited (${e.code ?? e.signal}) before ready: ${stderr}`)),
      )
    }),
    `${MAIN} ${args.join(' ')} to print its ready line`,
    START_TIMEOUT_MS,
  ).catch(async (err) => {
    await kill()
    throw err
  })
  return { child, ready, exited, stderr: () => stderr, kill }
}

/** Runs `pushbench serve` to its end, as users do (for bad flags): exit code and output. */
export async function runMain(args: readonly string[]): Promise<Exit & { stdout: string; stderr: string }> {
  const child = spawnMain(args, false, true)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exit = await withTimeout(
    exitOf(child, 'close'),
    `pushbench serve ${args.join(' ')} to exit`,
    START_TIMEOUT_MS,
  ).catch((err) => {
    child.kill('SIGKILL')
    throw err
  })
  return { ...exit, stdout, stderr }
}

let nextId = 1

/** One request to a server started with `{ ipc: true }`, and its reply. */
export async function ipcRequest<T extends ServerReply['type']>(
  child: ChildProcess,
  request: DistributiveOmit<ServerRequest, 'id'>,
): Promise<Extract<ServerReply, { type: T }>> {
  const id = nextId++
  const reply = new Promise<ServerReply>((resolve) => {
    const onMessage = (m: ServerReply) => {
      if (m.id !== id) return
      child.off('message', onMessage)
      resolve(m)
    }
    child.on('message', onMessage)
  })
  child.send({ ...request, id })
  return (await withTimeout(reply, `IPC reply to ${request.type}`)) as Extract<ServerReply, { type: T }>
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
