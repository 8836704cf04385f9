/** Shared by the CLI tests: fixture paths and running `pushbench <subcommand>` as users do (`node bin/pushbench.js`). */
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** the one CLI: `node bin/pushbench.js <subcommand> [flags]` */
export const BIN = join(ROOT, 'bin', 'pushbench.js')
export const fixture = (name: string): string => join(ROOT, 'test', 'fixtures', name)

export interface Ran {
  status: number | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  /** variables added to the environment (NO_COLOR=1 is always set) */
  env?: Record<string, string>
  /** kill the child after this long (default 30 s) */
  timeoutMs?: number
}

/** Runs `pushbench <sub> ...args` (`sub` undefined: no subcommand) to its end. */
export function runCli(sub: string | undefined, args: string[], opts: RunOptions = {}): Ran {
  const r = spawnSync(process.execPath, [BIN, ...(sub === undefined ? [] : [sub]), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    timeout: opts.timeoutMs ?? 30_000,
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Width and height from a PNG's IHDR chunk (bytes 16-23, big-endian), after checking the signature. */
export function pngSize(png: Buffer): { width: number; height: number } {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  if (!png.subarray(0, 8).equals(signature)) throw new Error('not a PNG')
  if (png.toString('latin1', 12, 16) !== 'IHDR') throw new Error('PNG without IHDR first')
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) }
}
