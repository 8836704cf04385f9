/**
 * Fault runs (load/fault-run.ts), small: 20 reconnecting clients per transport, windows of half a second.
 * A restart shorter than the ring: every transport's clients come back, nothing missed, nothing twice; one
 * longer than the ring: what is missed is exactly what the server's gap signals declared lost; a
 * reconnect storm: the same, every connection counted as cut; slow consumers: a push server cuts them and
 * the healthy clients miss nothing; a kill: the run ends within 10 s saying which process died and how.
 * The transports of a test run side by side (each with its own server and probe): the waits are back-offs.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resolveParams } from '../../lib/params.ts'
import type { FaultRow } from '../../lib/results-schema.ts'
import { liveChildren } from '../../load/children.ts'
import { newRecord } from '../../load/fault-clients.ts'
import { accountOf } from '../../load/fault-probe.ts'
import { type FaultKind, type FaultOptions, runFault } from '../../load/fault-run.ts'

const TRANSPORTS = ['short-poll', 'long-poll', 'sse', 'websocket']
const params = resolveParams({ clients: 20, tickHz: 50, updatesPerTick: 1, pollIntervalMs: 100 })

function run(
  kind: FaultKind,
  transport: string,
  options: Partial<FaultOptions> = {},
  p = params,
): Promise<FaultRow> {
  return runFault({ kind, transport, params: p, options: { steadyS: 0.5, recoverS: 12, ...options } })
}

const said = (r: FaultRow) => `${r.kind} ${r.transport}: ${JSON.stringify(r)}`

test('a client account counts the declared-lost seqs of its window only', () => {
  const r = newRecord()
  r.startSeq = 10
  // had 11..12, lost 13..15 (gap from=12 first=16), had 16..20, then a last poll declares 21..24 lost
  r.seqs.push(11, 12, 16, 17, 18, 19, 20)
  r.gaps.push([12, 16], [20, 25])
  const a = accountOf(r, 22)
  assert.deepEqual(a, { expected: 12, delivered: 7, missed: 5, duplicated: 0, gapSeqs: 5 })
  // a range reaching before the window counts from the window's start
  r.gaps.push([5, 11])
  assert.equal(accountOf(r, 22).gapSeqs, 5)
})

test('restart shorter than the ring: every client back, nothing missed, nothing duplicated', async () => {
  const rows = await Promise.all(TRANSPORTS.map((t) => run('restart', t, { downtimeMs: 200 })))
  for (const r of rows) {
    assert.equal(r.back?.back, 20, said(r))
    assert.ok(r.updates && r.updates.expected > 20 * 50, said(r))
    assert.equal(r.updates?.missed, 0, said(r))
    assert.equal(r.updates?.duplicated, 0, said(r))
    assert.equal(r.restart?.signal, 'SIGTERM')
    assert.ok((r.restart?.downMs ?? 0) >= 200, said(r))
    assert.equal(r.ok, true, said(r))
  }
  assert.equal(liveChildren(), 0, 'every process stopped')
})

test('restart longer than the ring: every lost seq declared by the gap signal, nothing duplicated', async () => {
  // 600 ms down at 50 updates/s publishes ~30 updates; the ring keeps 5
  const rows = await Promise.all(
    TRANSPORTS.map((t) => run('restart-gap', t, { downtimeMs: 600, gapRingSize: 5 })),
  )
  for (const r of rows) {
    const u = r.updates
    assert.equal(r.back?.back, 20, said(r))
    assert.ok(u && u.missed > 0, said(r))
    assert.equal(u?.gapSeqs, u?.missed, `every missed seq was signalled: ${said(r)}`)
    assert.ok((u?.gapSignals ?? 0) >= 20, said(r))
    assert.equal(u?.resumeRefused, 0, said(r))
    assert.equal(u?.other, 0, said(r))
    assert.equal(u?.duplicated, 0, said(r))
    assert.equal(r.ok, true, said(r))
  }
  assert.equal(liveChildren(), 0, 'every process stopped')
})

test('storm: every connection cut, every client back, nothing missed or duplicated', async () => {
  const rows = await Promise.all(TRANSPORTS.map((t) => run('storm', t)))
  for (const r of rows) {
    assert.equal(r.back?.back, 20, said(r))
    assert.equal(r.updates?.missed, 0, said(r))
    assert.equal(r.updates?.duplicated, 0, said(r))
    // short polling holds its keep-alive connection between polls: it may be between two connections
    if (r.transport !== 'short-poll') assert.ok((r.storm?.dropped ?? 0) >= 20, said(r))
    assert.ok((r.storm?.rssPeakBytes ?? 0) > 0, said(r))
    assert.equal(r.ok, true, said(r))
  }
  assert.equal(liveChildren(), 0, 'every process stopped')
})

test('slow consumers: a push server cuts them, the healthy clients miss nothing', async () => {
  // 400 KB/s to every client, a 64 KiB bound: the never-reading one fills the kernel's buffers in seconds
  const heavy = resolveParams({ ...params, tickHz: 100, payloadBytes: 4096 })
  const rows = await Promise.all(
    ['sse', 'websocket', 'long-poll'].map((t) =>
      run('slow-consumers', t, { maxBufferedBytes: 65_536, slowFraction: 0.1, recoverS: 20 }, heavy),
    ),
  )
  for (const r of rows) {
    assert.equal(r.slow?.clients, 2, said(r))
    assert.equal(r.updates?.missed, 0, said(r))
    assert.ok((r.slow?.baseline.count ?? 0) > 0 && (r.slow?.withSlow.count ?? 0) > 0, said(r))
    if (r.transport === 'long-poll')
      assert.equal(r.slow?.disconnects, 0, 'a poll server holds no queue to cut')
    else assert.ok((r.slow?.disconnects ?? 0) > 0, said(r))
  }
  assert.equal(liveChildren(), 0, 'every process stopped')
})

test('kill: the run ends within 10 s naming the process and the signal, and keeps what it measured', async () => {
  const started = performance.now()
  const [server, generator] = await Promise.all([
    run('kill-server', 'sse'),
    run('kill-generator', 'websocket'),
  ])
  for (const r of [server, generator]) {
    assert.ok(r.kill, said(r))
    assert.ok((r.kill.noticedMs ?? Infinity) < 10_000, said(r))
    assert.ok(r.kill.endedMs < 10_000, said(r))
    assert.match(r.kill.message, /killed by SIGKILL/)
    assert.equal(r.ok, true, said(r))
  }
  assert.match(server.kill?.message ?? '', /^server \(pid \d+\)/)
  assert.match(generator.kill?.message ?? '', /^generator \(fault probe\) \(pid \d+\)/)
  // the partial result: the clients' account up to the kill, with nothing missed
  assert.ok((server.updates?.delivered ?? 0) > 0, said(server))
  assert.equal(server.updates?.missed, 0, said(server))
  assert.ok((generator.kill?.keptUpdates ?? 0) > 0, said(generator))
  assert.ok(performance.now() - started < 20_000, 'both kill runs ended in seconds')
  assert.equal(liveChildren(), 0, 'every process stopped')
})
