/**
 * Shard results files merged into one (report/merge-shards.ts): counts summed, latency exactly the
 * one-histogram summary, the server's counters once over every delivered update, each shard's env and
 * generator kept; and every inconsistency refused with a PbOptionError naming the file(s) and the field.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as v from 'valibot'
import { PbOptionError } from '../../lib/errors.ts'
import { summarise } from '../../lib/latency.ts'
import { type CompletedResult, type ResultsFile, ResultsFileSchema } from '../../lib/results-schema.ts'
import { describeMerge, MIN_RSS_GROWTH, mergeShards } from '../../report/merge-shards.ts'
import { buildShards, oneHistogram, WINDOW } from '../helpers/shard-files.ts'

const named = (files: ResultsFile[]) => files.map((results, i) => ({ file: `shard-${i}.json`, results }))

function completed(f: ResultsFile, transport: string): CompletedResult {
  const r = f.scenarios[0]?.results.find((x) => x.transport === transport)
  assert.ok(r && r.state !== 'errored', `${transport} completed`)
  return r as CompletedResult
}

/** The `k`th result of the scenario of file `i`, a completed one. */
function at(files: ResultsFile[], i: number, k: number): CompletedResult {
  const r = files[i]?.scenarios[0]?.results[k]
  assert.ok(r && r.state !== 'errored', `file ${i} result ${k} completed`)
  return r as CompletedResult
}

/** Asserts mergeShards throws a PbOptionError whose message matches every pattern. */
function refuses(files: ResultsFile[], ...res: RegExp[]): void {
  assert.throws(
    () => mergeShards(named(files)),
    (err: unknown) => {
      assert.ok(err instanceof PbOptionError, `a PbOptionError, got ${String(err)}`)
      for (const re of res) assert.match(err.message, re)
      return true
    },
  )
}

test('three shards (given out of order): counts summed, latency the one-histogram summary, exactly', () => {
  const { files, samples, clients } = buildShards()
  const inputs = named(files)
  const merged = mergeShards([inputs[2], inputs[0], inputs[1]].filter((x) => x !== undefined))
  assert.ok(v.is(ResultsFileSchema, merged), 'the merge validates')
  assert.equal(merged.scenarios.length, 1)
  assert.equal(merged.scenarios[0]?.params.clients, 1000, 'params.clients stays the total')
  const total = clients.reduce((a, b) => a + b, 0)
  for (const transport of ['short-poll', 'long-poll', 'sse', 'websocket']) {
    const m = completed(merged, transport)
    const rs = files.map((f) => completed(f, transport))
    const all = samples.get(transport)
    assert.ok(all)
    // latency: every sample of every shard in one histogram, its summary field for field (hdr included)
    assert.deepEqual(m.latencyMs, summarise(oneHistogram(all.latency), { withHdr: true }), transport)
    assert.equal(m.latencyMs.count, all.latency.length)
    if (transport === 'short-poll')
      assert.deepEqual(m.scheduleLagMs, summarise(oneHistogram(all.lag), { withHdr: true }))
    else assert.equal(m.scheduleLagMs, undefined)

    const delivered = rs.reduce((n, r) => n + r.updates.delivered, 0)
    const r0 = rs[0] as CompletedResult
    assert.equal(m.updates.delivered, delivered)
    assert.equal(
      m.updates.expected,
      rs.reduce((n, r) => n + (r.updates.expected ?? 0), 0),
    )
    assert.equal(
      m.updates.missed,
      rs.reduce((n, r) => n + r.updates.missed, 0),
    )
    assert.equal(m.updates.duplicates, 0 + 1 + 2)
    assert.equal(m.updates.outOfOrder, 0 + 2 + 4)
    assert.equal(m.updates.published, r0.updates.published, "published: the server's, once")
    assert.equal(m.errors, 0 + 1 + 2)
    assert.equal(m.connections?.reconnects, 3)
    assert.equal(m.connections?.opened, 1000, "opened: the server's, once")
    assert.equal(m.requests, r0.requests)

    // bytes: the server's counters once, per update over every delivered update
    assert.equal(m.bytes.clientToServer, r0.bytes.clientToServer)
    assert.equal(m.bytes.serverToClient, r0.bytes.serverToClient)
    const serverBytes = r0.bytes.clientToServer + r0.bytes.serverToClient
    assert.equal(m.bytes.perDeliveredUpdate, Math.round((serverBytes / delivered) * 100) / 100)
    assert.equal(m.bytes.perClientPerSecond, Math.round((serverBytes / total / 10) * 100) / 100)
    assert.deepEqual(m.bytes.clientTally, { read: 6000, written: 600 })
    const serverUs = (r0.serverCpu.userMs + r0.serverCpu.systemMs) * 1000
    assert.equal(m.serverCpu.usPerDeliveredUpdate, Math.round((serverUs / delivered) * 1000) / 1000)
    assert.equal(m.serverCpu.percentOfCore, r0.serverCpu.percentOfCore)

    // memory: max RSS, least idle, most ramp, growth per client of all shards (above 8 MiB)
    assert.equal(m.serverMemory.rssMaxBytes, 102_000_000)
    assert.equal(m.serverMemory.idleRssBytes, 88_000_000)
    assert.equal(m.serverMemory.rampRssBytes, 114_000_000)
    assert.ok(114_000_000 - 88_000_000 >= MIN_RSS_GROWTH)
    assert.equal(m.serverMemory.bytesPerConnection, Math.round(26_000_000 / total))

    // generators: each shard its own machine
    assert.equal(m.generator.cpuPercent, 40)
    assert.equal(m.generator.eventLoopUtilization, 0.4)
    assert.equal(m.generator.saturated, false)
    assert.equal(m.generator.busy, true)
    assert.equal(m.generator.userMs, 600)
    assert.equal(m.generator.systemMs, 300)
    assert.equal(m.generator.generators, 3)
    assert.equal(m.generator.verifiedUpdates, 60)
    const genUsPerUpdate = 900_000 / delivered
    assert.equal(m.generator.usPerDeliveredUpdate, Math.round(genUsPerUpdate * 1000) / 1000)
    assert.equal(m.generator.costRatio, Math.round((genUsPerUpdate / (serverUs / delivered)) * 1000) / 1000)
    assert.deepEqual(
      m.generator.perGenerator?.map((g) => [g.clients, g.firstClient, g.delivered, g.cpuPercent]),
      rs.map((r) => [r.shard?.clients, r.shard?.firstClient, r.updates.delivered, r.generator.cpuPercent]),
    )
    assert.equal(m.deliveredPerSecond, Math.round((delivered / 10) * 100) / 100)
    assert.deepEqual(m.window, WINDOW)

    // the clock: the least sure shard's
    assert.equal(m.clock?.uncertaintyMs, rs[2]?.clock?.uncertaintyMs)
    assert.equal(m.clock?.latencyBelowUncertainty, m.latencyMs.p50 < (m.clock?.uncertaintyMs ?? 0))

    // shard gone, shards listed by index with each file's env
    assert.equal(m.shard, undefined)
    assert.deepEqual(
      m.shards?.map((s) => [s.file, s.index, s.env.hostname, s.generator.clients]),
      [
        ['shard-0.json', 0, 'gen-0', 400],
        ['shard-1.json', 1, 'gen-1', 350],
        ['shard-2.json', 2, 'gen-2', 250],
      ],
    )
    assert.deepEqual(
      m.shards?.map((s) => s.env),
      files.map((f) => f.env),
    )
    assert.deepEqual(m.warnings, [
      'shard 0: generator 0 says hello',
      'shard 0: the same everywhere',
      'shard 1: generator 1 says hello',
      'shard 1: the same everywhere',
      'shard 2: generator 2 says hello',
      'shard 2: the same everywhere',
    ])
    assert.equal(m.state, 'completed')
  }
  // the file: earliest start, latest finish, shard 0's env, a merged run id
  assert.equal(merged.startedAt, files[0]?.startedAt)
  assert.equal(merged.finishedAt, files[0]?.finishedAt)
  assert.deepEqual(merged.env, files[0]?.env)
  assert.equal(merged.runId, 'merged-quick-20261125-062351-shard')
  assert.equal(merged.partial, undefined)
  const text = describeMerge(merged, 'merged.json')
  assert.match(text, /^merged 3 shards, 1 scenario into merged\.json/)
  assert.match(text, /^ {2}sse +1000 clients {2}p50 .+ {2}p99 /m)
})

test('one shard of one merges into itself: the same figures, as a merged result', () => {
  const { files } = buildShards([1000])
  const merged = mergeShards(named(files))
  const m = completed(merged, 'sse')
  const r = completed(files[0] as ResultsFile, 'sse')
  assert.deepEqual(m.latencyMs, r.latencyMs)
  assert.equal(m.updates.delivered, r.updates.delivered)
  assert.equal(m.shards?.length, 1)
  assert.equal(m.generator.generators, 1)
})

test("a shard's errored result makes the merged one errored, messages joined; partial carries over", () => {
  const { files } = buildShards()
  const [f0, f1, f2] = files
  assert.ok(f0 && f1 && f2)
  const sc1 = f1.scenarios[0]
  const sc2 = f2.scenarios[0]
  assert.ok(sc1 && sc2)
  sc1.results[2] = { state: 'errored', transport: 'sse', server: 'pushbench', error: 'server went away' }
  sc2.results[2] = { state: 'errored', transport: 'sse', server: 'pushbench', error: 'ECONNRESET' }
  f2.partial = true
  const w = sc2.results[3] as CompletedResult
  w.state = 'partial'
  const merged = mergeShards(named(files))
  const sse = merged.scenarios[0]?.results.find((r) => r.transport === 'sse')
  assert.deepEqual(sse, {
    state: 'errored',
    transport: 'sse',
    server: 'pushbench',
    error: 'shard 1: server went away; shard 2: ECONNRESET',
  })
  assert.equal(completed(merged, 'websocket').state, 'partial')
  assert.equal(completed(merged, 'long-poll').state, 'completed')
  assert.equal(merged.partial, true)
})

test('bytesPerConnection is left out when the RSS grew less than 8 MiB over the ramp', () => {
  const { files } = buildShards()
  for (const f of files)
    for (const r of f.scenarios[0]?.results ?? [])
      if (r.state !== 'errored') r.serverMemory = { rssMaxBytes: 1e8, idleRssBytes: 9e7, rampRssBytes: 9.5e7 }
  const m = completed(mergeShards(named(files)), 'sse')
  assert.equal(m.serverMemory.bytesPerConnection, undefined)
  assert.equal(m.serverMemory.rampRssBytes, 9.5e7)
})

test('a results file that is not a shard, or a steady-state one with other sections, is refused naming it', () => {
  const noShard = buildShards().files
  delete at(noShard, 1, 0).shard
  refuses(noShard, /shard-1\.json is not a shard's results file/, /short-poll/)

  const capacity = buildShards().files
  const sc = capacity[2]?.scenarios[0]
  assert.ok(sc)
  sc.capacity = []
  refuses(capacity, /merge handles steady-state results only: shard-2\.json has capacity in scenario "quick"/)
})

test('shard indexes: each of 0..n-1 exactly once, the same n everywhere', () => {
  const { files } = buildShards()
  refuses(
    [files[0], files[2]].filter((f) => f !== undefined),
    /shard index 1 of 3 missing/,
  )
  refuses(
    [files[0], files[1], files[1]].filter((f) => f !== undefined),
    /shard index 1 is duplicated: shard-1\.json and shard-2\.json/,
  )
  const other = buildShards([500, 500]).files
  refuses(
    [files[0], other[1], files[2]].filter((f) => f !== undefined),
    /shard counts differ/,
    /shard-1\.json/,
  )
  // one file whose results disagree on their shard
  const mixed = buildShards().files
  const r = at(mixed, 0, 1)
  assert.ok(r.shard)
  r.shard.index = 2
  refuses(mixed, /shard-0\.json mixes shards/)
})

test('different runs are refused naming the field and both files', () => {
  const profile = buildShards().files
  assert.ok(profile[1])
  profile[1].profile = 'full'
  refuses(profile, /profiles differ: shard-0\.json has "quick", shard-1\.json has "full"/)

  const names = buildShards().files
  const s = names[2]?.scenarios[0]
  assert.ok(s)
  s.name = 'other'
  refuses(names, /scenarios differ: shard-0\.json has \["quick"\], shard-2\.json has \["other"\]/)

  const params = buildShards().files
  const p = params[1]?.scenarios[0]?.params
  assert.ok(p)
  p.tickHz = 20
  refuses(params, /params\.tickHz differs: shard-0\.json has 10, shard-1\.json has 20/)

  const results = buildShards().files
  const rs = results[1]?.scenarios[0]
  assert.ok(rs)
  rs.results = rs.results.filter((r) => r.transport !== 'websocket')
  refuses(results, /results differ: shard-0\.json has .*websocket.*, shard-1\.json has/)

  const tls = buildShards().files
  const t = at(tls, 2, 0)
  t.tls = true
  refuses(tls, /results differ/, /short-poll\/ticker\/library\/pushbench\/tls/)
})

test('shards that measured different windows are refused with both windows', () => {
  const { files } = buildShards()
  const r = at(files, 2, 3)
  r.window = { startMs: WINDOW.startMs, endMs: WINDOW.endMs + 5 }
  refuses(
    files,
    new RegExp(
      `shards measured different windows: shard-0\\.json \\[${WINDOW.startMs},${WINDOW.endMs}\\) vs shard-2\\.json \\[${WINDOW.startMs},${WINDOW.endMs + 5}\\)`,
    ),
    /websocket/,
  )
})

test('a result without its HDR histogram is refused naming file, scenario and transport', () => {
  const { files } = buildShards()
  const r = at(files, 1, 2)
  delete r.latencyMs.hdr
  refuses(files, /shard-1\.json: scenario "quick", sse has no latencyMs\.hdr/)

  const lag = buildShards().files
  const sp = at(lag, 2, 0)
  delete sp.scheduleLagMs
  refuses(lag, /shard-2\.json: scenario "quick", short-poll has no scheduleLagMs\.hdr/)

  const garbage = buildShards().files
  const g = at(garbage, 0, 1)
  g.latencyMs.hdr = 'bm90IGEgaGlzdG9ncmFt'
  refuses(garbage, /shard-0\.json: scenario "quick", long-poll: latencyMs\.hdr cannot be decoded/)
})
