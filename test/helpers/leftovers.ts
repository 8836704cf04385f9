/**
 * What a run left behind: every process carrying a marker in its environment (a run's children inherit
 * it, orphans included, whatever their parent or process group became) and what is in the temp folder
 * the run was given (TMPDIR), where the suite makes its temp folders (certificates, configs).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const MARKER_VAR = 'PUSHBENCH_TEST_MARKER'

export interface Marked {
  /** environment to give the run: the marker and its own TMPDIR */
  env: NodeJS.ProcessEnv
  /** processes still running with the marker (zombies excluded), as `pid cmdline` */
  processes(): string[]
  /** entries left in the run's TMPDIR (but tsx's compile cache, `tsx-<uid>`, which is meant to stay) */
  temp(): string[]
  /** SIGKILLs what is left and removes the folder (for t.after) */
  cleanup(): void
}

export function marked(): Marked {
  const marker = randomBytes(8).toString('hex')
  const tmp = mkdtempSync(join(tmpdir(), 'pushbench-leftovers-'))
  const find = (): { pid: number; line: string }[] => {
    const out: { pid: number; line: string }[] = []
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name) || Number(name) === process.pid) continue
      try {
        const env = readFileSync(`/proc/${name}/environ`, 'latin1')
        if (!env.includes(`${MARKER_VAR}=${marker}`)) continue
        const stat = readFileSync(`/proc/${name}/stat`, 'latin1')
        if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue
        const cmd = readFileSync(`/proc/${name}/cmdline`, 'latin1').replace(/\0/g, ' ').trim()
        out.push({ pid: Number(name), line: `${name} ${cmd}` })
      } catch {}
    }
    return out
  }
  return {
    env: { [MARKER_VAR]: marker, TMPDIR: tmp },
    processes: () => find().map((p) => p.line),
    temp: () => readdirSync(tmp).filter((n) => !/^tsx-\d+$/.test(n)),
    cleanup: () => {
      for (const p of find()) {
        try {
          process.kill(p.pid, 'SIGKILL')
        } catch {}
      }
      rmSync(tmp, { recursive: true, force: true })
    },
  }
}

/** Polls until no marked process is left, for at most `ms` (a child may take a moment to exit). */
export async function noneLeft(m: Marked, ms = 3000): Promise<string[]> {
  const until = Date.now() + ms
  for (;;) {
    const left = m.processes()
    if (left.length === 0 || Date.now() > until) return left
    await new Promise((r) => setTimeout(r, 100))
  }
}
