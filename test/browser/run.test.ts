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
import { transportNames } from '../../lib/transports.ts'
import { BROWSER_MAX_CLIENTS, chromiumMissing } from '../../load/chromium.ts'
import { skipWithoutChromium } from '../helpers/chromium.ts'
import { runLoad, tempDir } from '../helpers/load-cli.ts'

const CLIENTS = 3

for (const transport of transportNames()) {
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
