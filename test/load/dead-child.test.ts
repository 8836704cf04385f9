/**
 * A child killed mid-window ends the run within seconds, not after the planned window: the message names
 * the process and the signal, what was measured is kept as a partial result (or, when its figures died
 * with it, an errored one in a file marked partial), exit 1, and nothing is left running.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { readResults } from '../../lib/results-io.ts'
import { isCompleted } from '../../lib/results-schema.ts'
import { marked, noneLeft } from '../helpers/leftovers.ts'
import { childrenOf, startRun } from '../helpers/load-cli.ts'
import { withTimeout } from '../helpers/wait.ts'

const CLIENTS = 10
/** ends within this after the kill (the planned window is 60 s) */
const ENDS_WITHIN_MS = 10_000

async function killMidWindow(
  t: { after: (fn: () => void | Promise<void>) => void },
  which: RegExp,
  extra: string[] = [],
) {
  const m = marked()
  const out = join(m.env.TMPDIR as string, 'r.json')
  const run = startRun(
    [
      ...['--transport', 'sse', '--clients', String(CLIENTS), '--tick-hz', '10'],
      ...['--duration-s', '60', '--warmup-s', '0.5', '--out', out, ...extra],
    ],
    m.env,
  )
  t.after(async () => {
    await run.kill()
    m.cleanup()
  })
  await run.waitForStderr(/sse: measure \(60 s\)/, 60_000)
  await sleep(1500) // a checkpoint or more into the window
  const victim = childrenOf(run.proc.pid as number).find((c) => which.test(c.cmdline))
  assert.ok(victim, `no child matching ${which}`)
  const t0 = Date.now()
  process.kill(victim.pid, 'SIGKILL')
  const ran = await withTimeout(run.done, 'the run to end after its child was killed', ENDS_WITHIN_MS)
  const tookMs = Date.now() - t0
  const left = await noneLeft(m)
  return { ran, tookMs, out, victim, left, temp: m.temp().filter((n) => n !== 'r.json') }
}

test('the server killed mid-window: the run ends at once, names it, keeps the window to its last checkpoint', async (t) => {
  const { ran, tookMs, out, victim, left, temp } = await killMidWindow(t, /scripts\/serve\.ts/)
  t.diagnostic(`ended ${tookMs} ms after the kill`)
  assert.equal(ran.code, 1, ran.stderr)
  assert.match(ran.stderr, new RegExp(`server \\(pid ${victim.pid}\\) died: killed by SIGKILL`))
  assert.deepEqual(left, [])
  assert.deepEqual(temp, [])
  const file = readResults(out)
  assert.equal(file.partial, true)
  assert.match(file.partialReason ?? '', /server .* died: killed by SIGKILL/)
  const r = file.scenarios[0]?.results[0]
  assert.ok(r && isCompleted(r), JSON.stringify(r))
  assert.equal(r.state, 'partial')
  assert.match(r.partialReason ?? '', /last checkpoint/)
  // cut on a checkpoint both ends agree on: every update published before it was counted once
  assert.ok(r.updates.published > 0)
  assert.equal(r.updates.expected, r.updates.published * CLIENTS)
  assert.equal(r.updates.delivered, r.updates.expected)
})

test('the only generator killed mid-window: the run ends at once, names it; its figures died with it', async (t) => {
  const { ran, out, victim, left } = await killMidWindow(t, /generator-process\.ts/)
  assert.equal(ran.code, 1, ran.stderr)
  assert.match(ran.stderr, new RegExp(`generator \\(pid ${victim.pid}\\) died: killed by SIGKILL`))
  assert.deepEqual(left, [])
  const file = readResults(out)
  assert.equal(file.partial, true)
  const r = file.scenarios[0]?.results[0]
  assert.equal(r?.state, 'errored')
})

test('one of two generators killed mid-window: the other one keeps its clients measured', async (t) => {
  const { ran, out, left } = await killMidWindow(t, /generator-process\.ts/, ['--generators', '2'])
  assert.equal(ran.code, 1, ran.stderr)
  assert.match(ran.stderr, /generator \d\/2 \(pid \d+\) died: killed by SIGKILL/)
  assert.deepEqual(left, [])
  const r = readResults(out).scenarios[0]?.results[0]
  assert.ok(r && isCompleted(r), JSON.stringify(r))
  assert.equal(r.state, 'partial')
  assert.equal(r.updates.expected, r.updates.published * (CLIENTS / 2))
  assert.equal(r.updates.missed, 0)
})
