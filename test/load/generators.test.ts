/**
 * `--generators N`: the clients split over N generator processes give the same delivered and missed totals
 * as one process for the same scenario, each process's share is reported, and the latency histogram is the
 * exact merge of theirs (its count is every delivered update; it carries the merged HDR encoding).
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { decodeHistogram } from '../../lib/latency.ts'
import type { CompletedResult, ResultsFile } from '../../lib/results-schema.ts'
import { runLoad, tempDir } from '../helpers/load-cli.ts'

const CLIENTS = 300

async function run(dir: string, transport: string, generators: number): Promise<CompletedResult> {
  const out = join(dir, `${transport}-${generators}.json`)
  const args = [
    '--transport',
    transport,
    '--clients',
    String(CLIENTS),
    '--tick-hz',
    '10',
    '--duration-s',
    '2',
  ]
  const ran = await runLoad(
    [...args, '--warmup-s', '1', '--generators', String(generators), '--out', out],
    90_000,
  )
  assert.equal(ran.code, 0, ran.stderr)
  const file = JSON.parse(readFileSync(out, 'utf8')) as ResultsFile
  const r = file.scenarios[0]?.results[0]
  assert.ok(r && r.state !== 'errored', JSON.stringify(r))
  return r as CompletedResult
}

for (const transport of ['websocket', 'long-poll']) {
  test(`${transport}: 3 generator processes deliver what one does, none missed, shares reported`, async (t) => {
    const dir = tempDir(t)
    const one = await run(dir, transport, 1)
    const three = await run(dir, transport, 3)
    for (const r of [one, three]) {
      assert.equal(r.updates.missed, 0, `missed ${r.updates.missed}`)
      assert.equal(r.updates.duplicates, 0)
      assert.equal(r.updates.expected, r.updates.published * CLIENTS)
    }
    // the same window length at the same tick rate: the same ticks published, but for the one a window edge
    // can cut (the window starts when the clients are in, anywhere between two ticks, and a tick's timer
    // fires a few ms late on a busy host: a fresh-clone CI had 19 in one run and 20 in the other); every
    // client got every one of them either way
    assert.ok(
      Math.abs(three.updates.published - one.updates.published) <= 1,
      `published ${three.updates.published} with 3 generators, ${one.updates.published} with one`,
    )
    for (const r of [one, three]) assert.equal(r.updates.delivered, r.updates.published * CLIENTS)
    assert.equal(three.latencyMs.count, three.updates.delivered, 'every delivered update is in the histogram')
    const g = three.generator
    assert.equal(g.generators, 3)
    assert.equal(g.processes, 3)
    const shares = g.perGenerator ?? []
    assert.deepEqual(
      shares.map((s) => [s.firstClient, s.clients]),
      [
        [0, 100],
        [100, 100],
        [200, 100],
      ],
    )
    assert.equal(
      shares.reduce((n, s) => n + s.delivered, 0),
      three.updates.delivered,
    )
    // the merged histogram is in the file, and is the one the percentiles were read from
    const h = decodeHistogram(three.latencyMs.hdr ?? '')
    assert.equal(h.totalCount, three.latencyMs.count)
    assert.equal(one.generator.generators, 1)
    assert.equal(one.generator.perGenerator, undefined)
  })
}
