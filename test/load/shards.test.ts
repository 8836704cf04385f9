/**
 * Past one machine, on one: `pushbench serve --control` stands for the server on another host, three
 * `pushbench run --target URL --shard i/3` processes each run their slice and open the same window
 * (`--start-at`), and `pushbench merge` gives one result whose totals are every client's. Flags that set
 * up a server here are refused with a target (exit 2, named), as are shards without one.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import type { CompletedResult, ResultsFile } from '../../lib/results-schema.ts'
import { startMain } from '../helpers/child-server.ts'
import { ROOT, runLoad, tempDir } from '../helpers/load-cli.ts'

const CLIENTS = 300
const SHARDS = 3

const read = (file: string): CompletedResult =>
  (JSON.parse(readFileSync(file, 'utf8')) as ResultsFile).scenarios[0]?.results[0] as CompletedResult

test('three shards against one served server, merged: every client counted once, one window, clocks kept', async (t) => {
  const dir = tempDir(t)
  const server = await startMain(['--transport', 'websocket', '--port', '0', '--control', '--tick-hz', '10'])
  t.after(() => server.kill())
  const target = server.ready.url
  // far enough ahead for three processes to start and connect 100 clients each on a busy 2-core host
  const startAt = Math.ceil((Date.now() + 12_000) / 1000) * 1000
  const files = Array.from({ length: SHARDS }, (_, i) => join(dir, `shard-${i}.json`))
  const runs = await Promise.all(
    files.map((out, i) =>
      runLoad(
        [
          '--transport',
          'websocket',
          '--clients',
          String(CLIENTS),
          '--target',
          target,
          '--shard',
          `${i}/${SHARDS}`,
          '--start-at',
          String(startAt),
          '--warmup-s',
          '1',
          '--duration-s',
          '2',
          '--out',
          out,
        ],
        90_000,
      ),
    ),
  )
  for (const ran of runs) assert.equal(ran.code, 0, ran.stderr)
  const shards = files.map(read)
  for (const [i, r] of shards.entries()) {
    assert.deepEqual(r.shard, { index: i, count: SHARDS, target, firstClient: i * 100, clients: 100 })
    assert.equal(r.window?.startMs, startAt, 'the window opened at --start-at')
    assert.equal(r.updates.missed, 0)
    assert.ok(r.clock, 'the clock offset was measured')
    assert.equal(r.clock?.source, 'same-host')
    assert.ok((r.clock?.uncertaintyMs ?? 0) > 0)
    // both clocks are this host's: the estimate is within its own uncertainty (and a little)
    assert.ok(Math.abs(r.clock?.offsetMs ?? 99) <= (r.clock?.uncertaintyMs ?? 0) + 1, JSON.stringify(r.clock))
  }
  const merged = join(dir, 'merged.json')
  const m = spawnSync(process.execPath, ['bin/pushbench.js', 'merge', ...files, '--out', merged], {
    cwd: ROOT,
    encoding: 'utf8',
  })
  assert.equal(m.status, 0, m.stderr)
  const r = read(merged)
  const published = shards[0]?.updates.published ?? 0
  assert.ok(published >= 19, `published ${published}`)
  assert.equal(r.updates.expected, published * CLIENTS)
  assert.equal(r.updates.delivered, published * CLIENTS)
  assert.equal(r.latencyMs.count, r.updates.delivered)
  assert.equal(r.shards?.length, SHARDS)
  assert.equal(r.shard, undefined)
  // the server's bytes over the window are the same in every shard: per update they follow the model
  assert.equal(r.bytes.perDeliveredUpdate, r.bytes.modelPerUpdate)
  assert.ok(!(r.warnings ?? []).some((w) => w.includes('one shard of several')))
})

test('shard flags without a target, and server flags with one: exit 2 naming the flag', async () => {
  const cases: [string[], RegExp][] = [
    [['--shard', '0/2'], /--shard: needs --target/],
    [['--start-at', '2030-01-01T00:00:00Z'], /--start-at: needs --target/],
    [['--target', 'ftp://example.org'], /--target/],
    [['--target', 'http://127.0.0.1:9', '--wire'], /--wire: not with --target/],
    [['--target', 'http://127.0.0.1:9', '--tls'], /--tls: not with --target/],
    [['--target', 'http://127.0.0.1:9', '--shard', '3/3'], /--shard: must be i\/n/],
    [['--target', 'http://127.0.0.1:9', '--start-at', 'tomorrow'], /--start-at: must be an ISO 8601 time/],
  ]
  for (const [args, want] of cases) {
    const ran = await runLoad(['--transport', 'websocket', '--duration-s', '1', ...args], 30_000)
    assert.equal(ran.code, 2, `${args.join(' ')}: ${ran.stderr}`)
    assert.match(ran.stderr, want)
  }
})

test('a target that serves another transport or other params: exit 2 naming the flag', async (t) => {
  const server = await startMain(['--transport', 'sse', '--port', '0', '--control', '--tick-hz', '5'])
  t.after(() => server.kill())
  const target = server.ready.url
  let ran = await runLoad(['--transport', 'websocket', '--target', target, '--duration-s', '1'], 30_000)
  assert.equal(ran.code, 2, ran.stderr)
  assert.match(ran.stderr, /--transport: .* serves sse, not websocket/)
  ran = await runLoad(['--transport', 'sse', '--target', target, '--duration-s', '1'], 30_000)
  assert.equal(ran.code, 2, ran.stderr)
  assert.match(ran.stderr, /--tick-hz: .* publishes with --tick-hz 5, this run asks 10/)
})
