/**
 * `pushbench <sub> ...args` as users run it, without blocking: many bad inputs are tried at once, a few at
 * a time, each SIGKILLed if it has not ended within its deadline (a bad input that is not refused would
 * start a load: the deadline is what keeps such a case a failure instead of a hang).
 */
import { spawn } from 'node:child_process'
import { BIN, ROOT } from '../report/helpers.ts'

export interface Exit {
  /** exit status, null if killed */
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** true when the deadline killed it */
  timedOut: boolean
}

export function runCliAsync(sub: string, args: readonly string[], timeoutMs = 20_000): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, sub, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.once('close', (status, signal) => {
      clearTimeout(timer)
      resolve({ status, signal, stdout, stderr, timedOut })
    })
  })
}

/** Runs `jobs` with at most `width` at a time; the results in the jobs' order. */
export async function pool<T>(jobs: readonly (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length)
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++
      out[i] = await (jobs[i] as () => Promise<T>)()
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker))
  return out
}

/** A Node stack frame line: what a user must never see for bad input. */
export const STACK_LINE = /^\s+at .+(\(|:\d+)/m
