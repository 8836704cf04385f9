/**
 * Signals to `pushbench bench` (and to the npm that runs it): between runs and in the autocannon step
 * the bench stops within seconds with exit 130, its results file marked partial with the reason; a
 * second signal exits at once saying what is on disk; SIGTERM to npm reaches the bench; a bench killed
 * outright leaves a file that says it was in progress. No process or temp folder is left after any.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { readResults } from '../../lib/results-io.ts'
import { type Marked, marked, noneLeft } from '../helpers/leftovers.ts'
import { ROOT } from '../helpers/load-cli.ts'
import { withTimeout } from '../helpers/wait.ts'

const ENDS_WITHIN_MS = 10_000

const defaults = { clients: 4, tickHz: 10, durationS: 1, warmupS: 0.3, pollIntervalMs: 100, seed: 7 }
/** two short runs, then an autocannon step far longer than any test waits */
const CONFIG = {
  description: 'test/bench/signals.test.ts',
  defaults,
  scenarios: [
    { name: 'tiny', transports: ['sse', 'short-poll'], autocannon: { connections: 2, durationS: 60 } },
  ],
}

interface Bench {
  proc: ChildProcess
  m: Marked
  out: string
  stderr(): string
  waitFor(re: RegExp, ms?: number): Promise<void>
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function startBench(t: { after: (fn: () => void | Promise<void>) => void }, viaNpm = false): Bench {
  const m = marked()
  const dir = m.env.TMPDIR as string
  const config = join(dir, 'sig.json')
  writeFileSync(config, JSON.stringify(CONFIG))
  const out = join(dir, 'out')
  const args = ['--config', config, '--out', out, '--no-charts', '--no-report']
  const proc = viaNpm
    ? spawn('npm', ['run', '--silent', 'bench', '--', ...args], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, CI: 'true', ...m.env },
      })
    : spawn(process.execPath, ['bin/pushbench.js', 'bench', ...args], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, CI: 'true', ...m.env },
      })
  let err = ''
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString()
  })
  proc.stdout?.resume()
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.once('close', (code, signal) => r({ code, signal })),
  )
  t.after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await done
    m.cleanup()
  })
  return {
    proc,
    m,
    out,
    stderr: () => err,
    done,
    async waitFor(re, ms = 60_000) {
      const until = Date.now() + ms
      while (!re.test(err)) {
        if (proc.exitCode !== null || Date.now() > until) throw new Error(`no ${re} in: ${err}`)
        await sleep(50)
      }
    },
  }
}

function resultsOf(b: Bench) {
  const files = readdirSync(b.out).filter((n) => n.endsWith('.json'))
  assert.equal(files.length, 1, files.join(', '))
  return readResults(join(b.out, files[0] as string))
}

async function ended(b: Bench, what: string) {
  const r = await withTimeout(b.done, what, ENDS_WITHIN_MS)
  assert.deepEqual(await noneLeft(b.m), [], 'no process of the bench is left')
  assert.deepEqual(
    b.m.temp().filter((n) => n !== 'sig.json' && n !== 'out'),
    [],
    'no temp folder is left',
  )
  return r
}

test('SIGTERM between runs: exit 130, the file partial with the reason, nothing left', async (t) => {
  const b = startBench(t)
  await b.waitFor(/\[2\/3\] tiny · short-poll/)
  b.proc.kill('SIGTERM')
  const r = await ended(b, 'the bench to end after SIGTERM')
  assert.equal(r.code, 130, b.stderr())
  const file = resultsOf(b)
  assert.equal(file.partial, true)
  assert.match(file.partialReason ?? '', /interrupted by SIGTERM/)
  assert.equal(file.scenarios[0]?.results[0]?.state, 'completed')
})

test('SIGINT in the autocannon step: it stops within seconds, what it measured is kept', async (t) => {
  const b = startBench(t)
  await b.waitFor(/autocannon 2 connections, 60 s/)
  await sleep(2500)
  const t0 = Date.now()
  b.proc.kill('SIGINT')
  const r = await ended(b, 'the bench to end after SIGINT in the autocannon step')
  t.diagnostic(`ended ${Date.now() - t0} ms after SIGINT`)
  assert.equal(r.code, 130, b.stderr())
  const file = resultsOf(b)
  assert.equal(file.partial, true)
  const ac = file.scenarios[0]?.autocannon
  assert.ok(ac, 'the autocannon figures so far are kept')
  assert.equal(ac.partial, true)
  assert.ok(ac.durationS > 0 && ac.durationS < 60, `ran ${ac.durationS} s`)
})

test('a second signal in the autocannon step: exit 130 at once, the worker killed, says what is on disk', async (t) => {
  const b = startBench(t)
  await b.waitFor(/autocannon 2 connections, 60 s/)
  await sleep(1500)
  b.proc.kill('SIGINT')
  await sleep(50)
  b.proc.kill('SIGINT')
  const r = await ended(b, 'the bench to end after a second SIGINT')
  assert.equal(r.code, 130, b.stderr())
  // the first SIGINT kills the autocannon worker at once: on a busy host the bench can have finished on it
  // (exit 130, the file partial) before the second arrives, 50 ms later; when the second came first, it
  // says so and what is on disk
  if (/SIGINT again/.test(b.stderr())) {
    assert.match(b.stderr(), /SIGINT again: stopping every process of the run now/)
    assert.match(b.stderr(), /results so far: \S+ \([23] of 3 runs, marked partial\)/)
  } else assert.match(b.stderr(), /SIGINT: interrupted: closing the current window/)
  assert.equal(resultsOf(b).partial, true)
})

test('SIGTERM to the npm running the bench reaches the bench: nothing left running', async (t) => {
  const b = startBench(t, true)
  await b.waitFor(/\[1\/3\] tiny · sse · measure/)
  b.proc.kill('SIGTERM')
  await ended(b, 'npm and the bench to end after SIGTERM to npm')
  const file = resultsOf(b)
  assert.equal(file.partial, true)
  assert.match(file.partialReason ?? '', /interrupted by SIGTERM/)
})

test('a bench killed outright leaves a file that says it was in progress', async (t) => {
  const b = startBench(t)
  await b.waitFor(/\[2\/3\] tiny · short-poll/)
  b.proc.kill('SIGKILL')
  await b.done
  const file = resultsOf(b)
  assert.equal(file.partial, true)
  assert.match(file.partialReason ?? '', /^in progress: 1 of 3 runs done/)
  assert.equal(file.finishedAt, undefined)
  // its children notice their parent is gone and leave by themselves
  assert.deepEqual(await noneLeft(b.m, 5000), [])
})
