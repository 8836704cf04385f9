/**
 * Ctrl-C during the measured window: `pushbench run` closes the window, keeps what was measured in a valid
 * results file marked partial, stops the server and the generator, and exits 130.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { readResults } from '../../lib/results-io.ts'
import { isCompleted } from '../../lib/results-schema.ts'
import { wsFrameHeaderLength } from '../../servers/frames.ts'
import { childrenOf, type Proc, startRun, stillRunning, tempDir } from '../helpers/load-cli.ts'
import { withTimeout } from '../helpers/wait.ts'

const CLIENTS = 20
const PAYLOAD = 128
/** fast ticks: an interrupt that cut the server's counters, its published count and the generator's
 * count at different instants (as load/session.ts once did) shows here in most runs */
const TICK_HZ = 200

test('SIGINT in the window: exit 130, no process left behind, a valid partial results file', async (t) => {
  const out = join(tempDir(t), 'interrupted.json')
  const run = startRun([
    ...['--transport', 'websocket', '--clients', String(CLIENTS), '--payload-bytes', String(PAYLOAD)],
    ...['--tick-hz', String(TICK_HZ)],
    ...['--duration-s', '30', '--warmup-s', '0.5', '--out', out],
  ])
  let children: Proc[] = []
  t.after(async () => {
    await run.kill()
    // a failed test must not leave these running either
    for (const c of children) if (stillRunning(c)) process.kill(c.pid, 'SIGKILL')
  })
  await run.waitForStderr(/websocket: measure \(30 s\)/, 60_000)
  assert.ok(run.proc.pid)
  // (tsx may have an esbuild service among the children too: it is not the run's to stop)
  const all = childrenOf(run.proc.pid)
  const server = all.filter((c) => c.cmdline.includes('scripts/serve.ts'))
  const generator = all.filter((c) => c.cmdline.includes('load/generator-process.ts'))
  assert.equal(server.length, 1, `one server among ${JSON.stringify(all)}`)
  assert.equal(generator.length, 1, `one generator among ${JSON.stringify(all)}`)
  children = [...server, ...generator]

  await sleep(300) // a few ticks into the window
  run.proc.kill('SIGINT')
  const ran = await withTimeout(run.done, 'pushbench run to exit after SIGINT', 30_000)
  assert.equal(ran.code, 130, `exit ${ran.code ?? ran.signal}; stderr: ${ran.stderr}`)
  assert.match(ran.stderr, /interrupted: closing the current window, keeping what was measured/)
  assert.match(ran.stderr, /warning: interrupted: the window was cut short/)
  assert.equal(ran.stdout, `${out}\n`)
  // the run waited for its children: both are gone (not orphaned, not zombies) when it exits
  for (const c of children) assert.equal(stillRunning(c), false, `still running: ${c.pid} ${c.cmdline}`)

  const file = readResults(out) // validates against lib/results-schema.ts
  assert.equal(file.partial, true)
  const r = file.scenarios[0]?.results[0]
  assert.ok(r && isCompleted(r), JSON.stringify(r))
  assert.equal(r.state, 'partial')
  assert.ok(r.warnings?.includes('interrupted: the window was cut short'))
  assert.ok(r.windowMs !== undefined && r.windowMs > 0 && r.windowMs < 30_000, `window ${r.windowMs} ms`)
  // the cut window is as consistent as a full one: the server's bytes, its published count and the
  // generator's count all end on the same tick, and what was in flight still arrived
  const u = r.updates
  assert.ok(u.published > 0, 'some ticks fell in the window before the interrupt')
  assert.equal(u.expected, u.published * CLIENTS)
  assert.equal(u.delivered + u.missed, u.expected)
  assert.equal(u.missed, 0)
  assert.equal(u.duplicates, 0)
  assert.equal(r.latencyMs.count, u.delivered)
  assert.equal(r.bytes.clientToServer, 0)
  assert.equal(r.bytes.serverToClient, u.delivered * (wsFrameHeaderLength(PAYLOAD) + PAYLOAD))
})
