/**
 * The signal matrix of `pushbench run`: SIGINT or SIGTERM in each phase (server start, connect ramp,
 * warm-up, window, drain) ends the run within seconds with exit 130 and a results file marked partial
 * (the window's figures when one was measured, else an errored row saying so), and a second signal ends it
 * at once, saying whether the file was written. After each, no process of the run and no temp folder is left.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { readResults } from '../../lib/results-io.ts'
import { marked, noneLeft } from '../helpers/leftovers.ts'
import { startRun } from '../helpers/load-cli.ts'
import { withTimeout } from '../helpers/wait.ts'

/** a generous bound on "stops within a second or two" */
const ENDS_WITHIN_MS = 10_000

interface Phase {
  name: string
  args: string[]
  /** stderr that says the phase began */
  at: RegExp
  /** what the results file holds: the window's figures (partial) or an errored row */
  row: 'partial' | 'errored'
}

const base = ['--clients', '4', '--tick-hz', '10']
const PHASES: Phase[] = [
  {
    name: 'server start',
    args: ['--transport', 'sse', ...base, '--duration-s', '5', '--warmup-s', '0'],
    at: /sse: server/,
    row: 'errored',
  },
  {
    // 200 clients one at a time, 100 ms apart: a 20 s ramp, stopped within a second
    name: 'connect ramp',
    args: [
      ...['--transport', 'sse', '--clients', '200', '--tick-hz', '10', '--duration-s', '5'],
      ...['--ramp-batch', '1', '--ramp-pause-ms', '100'],
    ],
    at: /sse: connect \(\d+\/200 clients\)/,
    row: 'errored',
  },
  {
    name: 'warm-up',
    args: ['--transport', 'sse', ...base, '--duration-s', '5', '--warmup-s', '30'],
    at: /sse: warmup \(30 s\)/,
    row: 'errored',
  },
  {
    name: 'window',
    args: ['--transport', 'sse', ...base, '--duration-s', '30', '--warmup-s', '0.5'],
    at: /sse: measure \(30 s\)/,
    row: 'partial',
  },
  {
    // short polls 3 s apart: the drain waits for each client's next poll
    name: 'drain',
    args: [
      ...['--transport', 'short-poll', ...base, '--poll-interval-ms', '3000'],
      ...['--duration-s', '1', '--warmup-s', '0.5'],
    ],
    at: /short-poll: drain/,
    row: 'partial',
  },
]

async function signalled(
  t: { after: (fn: () => void | Promise<void>) => void; diagnostic: (s: string) => void },
  phase: Phase,
  signals: NodeJS.Signals[],
) {
  const m = marked()
  const out = join(m.env.TMPDIR as string, 'r.json')
  const run = startRun([...phase.args, '--out', out], m.env)
  t.after(async () => {
    await run.kill()
    m.cleanup()
  })
  await run.waitForStderr(phase.at, 60_000)
  const t0 = Date.now()
  for (const [i, sig] of signals.entries()) {
    if (i > 0) await sleep(50)
    run.proc.kill(sig)
  }
  const ran = await withTimeout(run.done, `the run to end after ${signals.join(', ')}`, ENDS_WITHIN_MS)
  const tookMs = Date.now() - t0
  const left = await noneLeft(m)
  const temp = m.temp().filter((n) => n !== 'r.json')
  t.diagnostic(
    `${phase.name} x ${signals.join('+')}: exit ${ran.code} after ${tookMs} ms, file ${existsSync(out) ? 'written' : 'absent'}, ${left.length} processes and ${temp.length} temp entries left`,
  )
  assert.deepEqual(left, [], 'no process of the run is left')
  assert.deepEqual(temp, [], 'no temp folder is left')
  return { ran, out }
}

for (const phase of PHASES) {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    test(`${sig} in the ${phase.name}: exit 130, a partial results file, nothing left`, async (t) => {
      const { ran, out } = await signalled(t, phase, [sig])
      assert.equal(ran.code, 130, ran.stderr)
      assert.match(ran.stderr, new RegExp(`${sig}: interrupted: closing the current window`))
      const file = readResults(out)
      assert.equal(file.partial, true)
      assert.match(file.partialReason ?? '', new RegExp(`interrupted by ${sig}`))
      const r = file.scenarios[0]?.results[0]
      assert.equal(r?.state, phase.row, JSON.stringify(r))
    })
  }
}

for (const phase of PHASES.filter((p) => p.row === 'partial')) {
  test(`a second signal in the ${phase.name}: exit 130 at once, says whether the file was written`, async (t) => {
    const { ran, out } = await signalled(t, phase, ['SIGINT', 'SIGTERM'])
    assert.equal(ran.code, 130, ran.stderr)
    assert.match(ran.stderr, /SIGTERM again: stopping every process of the run now/)
    const said = /results: (\S+) (\(written\)|not written)/.exec(ran.stderr)
    assert.ok(said, ran.stderr)
    assert.equal(said[1], out)
    // what it said is what is on disk: a whole file, or none
    if (said[2] === '(written)') assert.equal(readResults(out).partial, true)
    else assert.equal(existsSync(out), false)
  })
}
