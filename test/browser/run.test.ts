/**
 * `pushbench run --client browser` end to end: pages of headless Chromium measure the four transports
 * into the same results file as the Node clients, marked `client: "browser"`, their CPU charged to the
 * generator. Correctness only; what a browser costs is measured by the bench, not asserted.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { readResults } from '../../lib/results-io.ts'
import { isCompleted } from '../../lib/results-schema.ts'
import { transport as entryOf, transportNames } from '../../lib/transports.ts'
import { BROWSER_MAX_CLIENTS, chromiumMissing } from '../../load/chromium.ts'
import { skipWithoutChromium } from '../helpers/chromium.ts'
import { childrenOf, runLoad, startRun, stillRunning, tempDir } from '../helpers/load-cli.ts'
import { waitFor, withTimeout } from '../helpers/wait.ts'

const CLIENTS = 3

// the rows the served page has a client for (the Socket.IO and HTTP/2 rows have none; a browser speaks h2 only over TLS: --client browser refuses them)
for (const transport of transportNames().filter((n) => entryOf(n).clients.browser !== undefined)) {
  test(`run --client browser: ${transport} measured by ${CLIENTS} pages, every update delivered`, async (t) => {
    if (skipWithoutChromium(t)) return
    const out = join(tempDir(t), 'r.json')
    const ran = await runLoad(
      [
        ...['--transport', transport, '--client', 'browser', '--clients', String(CLIENTS)],
        ...['--duration-s', '2', '--warmup-s', '0.5', '--poll-interval-ms', '100', '--out', out, '--quiet'],
      ],
      120_000,
    )
    assert.equal(ran.code, 0, `exit ${ran.code ?? ran.signal}: ${ran.stderr}`)
    const file = readResults(out) // validates against the schema
    const r = file.scenarios[0]?.results[0]
    assert.ok(r && isCompleted(r), JSON.stringify(r))
    assert.equal(r.client, 'browser')
    const u = r.updates
    assert.ok(u.published > 0)
    assert.equal(u.expected, u.published * CLIENTS, 'every page connected')
    assert.equal(u.duplicates, 0)
    assert.equal(u.outOfOrder, 0)
    assert.equal(r.latencyMs.count, u.delivered)
    if (transport !== 'short-poll') assert.equal(u.missed, 0, `${r.warnings}`)
    // the pages' CPU is Chromium's: charged to the generator, with its processes counted
    assert.ok((r.generator.processes ?? 1) > 1, `processes ${r.generator.processes}`)
    assert.ok((r.generator.userMs ?? 0) > 0)
    assert.equal(r.bytes.clientTally, undefined, 'no tally of sockets the generator does not own')
    assert.ok(r.generator.clockUncertaintyMs !== undefined)
  })
}

test('run --client browser refuses more pages than it can hold, naming --clients (exit 2)', async () => {
  const ran = await runLoad(
    ['--transport', 'sse', '--client', 'browser', '--clients', String(BROWSER_MAX_CLIENTS + 1)],
    30_000,
  )
  assert.equal(ran.code, 2, ran.stderr)
  assert.match(ran.stderr, chromiumMissing() ? /--client/ : /--clients/)
})

test('Ctrl-C during a browser run: exit 130, what the pages measured is kept, no Chromium left behind', async (t) => {
  if (skipWithoutChromium(t)) return
  const out = join(tempDir(t), 'interrupted.json')
  const run = startRun([
    ...['--transport', 'websocket', '--client', 'browser', '--clients', String(CLIENTS)],
    ...['--duration-s', '30', '--warmup-s', '0.5', '--max-warmup-s', '0', '--out', out],
  ])
  t.after(() => run.kill())
  await run.waitForStderr(/websocket: measure \(30 s\)/, 90_000)
  assert.ok(run.proc.pid)
  const generator = childrenOf(run.proc.pid).find((c) => c.cmdline.includes('load/generator-process.ts'))
  assert.ok(generator, 'a generator')
  const chromium = childrenOf(generator.pid).filter((c) => c.cmdline.includes('chromium'))
  assert.ok(chromium.length > 0, 'Chromium runs under the generator')
  await new Promise((r) => setTimeout(r, 2000))
  run.proc.kill('SIGINT')
  const ran = await withTimeout(run.done, 'pushbench run to exit after SIGINT', 60_000)
  assert.equal(ran.code, 130, ran.stderr)
  // the pages' records of the cut window were handed over before the report: nothing is missing
  const r = readResults(out).scenarios[0]?.results[0]
  assert.ok(r && isCompleted(r) && r.state === 'partial', JSON.stringify(r))
  assert.ok(r.updates.published > 0)
  assert.equal(r.updates.expected, r.updates.published * CLIENTS)
  assert.equal(r.updates.missed, 0)
  for (const c of [generator, ...chromium])
    await waitFor(() => !stillRunning(c), `${c.pid} ${c.cmdline.slice(0, 60)} to exit`, 10_000)
})
