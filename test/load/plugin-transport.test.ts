/**
 * A fifth transport added through the registry alone: test/fixtures/plugins/ndjson-transport.ts registers
 * its server, client and byte model, and `pushbench run` measures it end to end (server and generator in
 * their own processes, which load the plugin too) with no other file naming it.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'node:test'
import { readResults } from '../../lib/results-io.ts'
import { isCompleted } from '../../lib/results-schema.ts'
import { ROOT, runLoad, tempDir } from '../helpers/load-cli.ts'

const PLUGIN = 'test/fixtures/plugins/ndjson-transport.ts'

test('a toy transport registered by a plugin runs end to end: every update delivered, bytes equal its model', async (t) => {
  const out = join(tempDir(t), 'ndjson.json')
  const args = ['--transport', 'ndjson', '--clients', '20', '--tick-hz', '20', '--updates-per-tick', '3']
  const ran = await runLoad(
    [...args, '--duration-s', '1.5', '--warmup-s', '0.5', '--out', out, '--quiet'],
    60_000,
    { PUSHBENCH_PLUGINS: PLUGIN },
  )
  assert.equal(ran.code, 0, ran.stderr)
  const r = readResults(out).scenarios[0]?.results[0]
  assert.ok(r && isCompleted(r), JSON.stringify(r))
  assert.equal(r.transport, 'ndjson')
  assert.equal(r.updates.delivered, r.updates.expected)
  assert.equal(r.updates.missed + r.updates.duplicates + r.updates.outOfOrder, 0)
  assert.ok(r.updates.published >= 60, `published ${r.updates.published}`)
  // one chunk per tick: 3 lines of 129 B and the chunk's `183\r\n`...`\r\n`, per update
  assert.equal(r.bytes.perDeliveredUpdate, r.bytes.modelPerUpdate)
  assert.equal(r.bytes.modelPerUpdate, Math.round((129 + 7 / 3) * 100) / 100)
  // the generator's own tally is taken by its timers at the edges, the server's on its ticks: they agree
  // to whole ticks per client at each edge (test/load/websocket-bytes.test.ts explains the race)
  const tally = r.bytes.clientTally
  assert.ok(tally)
  assert.equal(tally.written, r.bytes.clientToServer)
  const tickBytes = 3 * 129 + 7
  const perEdge = 1 + Math.floor(r.latencyMs.max / (1000 / 20))
  const diff = tally.read - r.bytes.serverToClient
  assert.equal(Math.abs(diff) % tickBytes, 0, `tally - server = ${diff} B: not whole ticks`)
  assert.ok(Math.abs(diff) <= 2 * perEdge * 20 * tickBytes, `tally - server = ${diff} B`)
})

test('without the plugin the name is refused with the registered ones (exit 2)', async () => {
  const ran = await runLoad(['--transport', 'ndjson', '--quiet'])
  assert.equal(ran.code, 2)
  assert.match(ran.stderr, /--transport.*ndjson/)
  assert.match(ran.stderr, /short-poll.*long-poll.*sse.*websocket/)
})

test('no source file outside the test tree names the toy transport', () => {
  // the plugin file is the whole of the toy transport: nothing in the suite's own code knows it
  const source = ['lib', 'servers', 'load', 'bench', 'report', 'micro', 'scripts', 'bin']
  const grep = spawnSync('grep', ['-rl', 'ndjson', ...source], { cwd: ROOT, encoding: 'utf8' })
  assert.equal(grep.status, 1, `named in: ${grep.stdout}`) // grep: 1 = no match
})
