/** The machine a run was made on, for the results file. */
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import type { Env } from './results-schema.ts'

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return undefined
  }
}

export function collectEnv(pinned: boolean): Env {
  const head = git(['rev-parse', '--short=12', 'HEAD']) ?? 'unknown'
  const dirty = head !== 'unknown' && (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== ''
  return {
    node: process.version,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    commit: dirty ? `${head}-dirty` : head,
    pinned,
    hostname: os.hostname(),
    totalMemBytes: os.totalmem(),
  }
}
