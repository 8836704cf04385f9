/** The conversion of a measured window into a results entry (load/to-result.ts), on crafted inputs. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as v from 'valibot'
import { newHistogram, summarise } from '../../lib/latency.ts'
import { DEFAULT_PARAMS } from '../../lib/params.ts'
import { CompletedResultSchema } from '../../lib/results-schema.ts'
import type { GeneratorReport } from '../../load/generator-ipc.ts'
import { type Measured, toResult } from '../../load/to-result.ts'
import type { CounterSnapshot } from '../../servers/counters.ts'

const stats = {
  heldRequests: 0,
  heldRequestsMax: 0,
  slowConsumerDisconnects: 0,
  streams: 0,
  requests: 0,
  errors: 0,
  acceptErrors: 0,
  fdExhausted: 0,
}
const snap = (o: Partial<CounterSnapshot>): CounterSnapshot => ({
  atMs: 0,
  bytesRead: 0,
  bytesWritten: 0,
  connections: 10,
  connectionsTotal: 10,
  cpuUserUs: 0,
  cpuSystemUs: 0,
  eluIdleMs: 0,
  eluActiveMs: 0,
  rssMaxBytes: 100_000_000,
  lastSeq: 0,
  stats,
  ...o,
})
const hist = newHistogram()
for (let i = 1; i <= 100; i++) hist.recordValue(i * 1000)
const report = (o: Partial<GeneratorReport> = {}): GeneratorReport => ({
  client: 'lean',
  clients: 10,
  latency: summarise(hist),
  scheduleLag: undefined,
  delivered: 1000,
  duplicates: 0,
  outOfOrder: 0,
  minDeliveredPerClient: 100,
  requests: 10,
  errors: 0,
  reconnects: 0,
  verified: 1,
  corrupt: 0,
  lastError: undefined,
  clientBytes: { read: 132_000, written: 0 },
  processes: 1,
  cpuUserUs: 50_000,
  cpuSystemUs: 50_000,
  windowMs: 10_000,
  cpuPercent: 1,
  eventLoopUtilization: 0.01,
  partial: false,
  ...o,
})
const measured = (o: Partial<Measured> = {}): Measured => ({
  s0: snap({ atMs: 1000, lastSeq: 20 }),
  s1: snap({ atMs: 11_000, lastSeq: 120, bytesWritten: 132_000, cpuUserUs: 60_000, cpuSystemUs: 40_000 }),
  report: report(),
  published: [100],
  subscribers: [10],
  connected: 10,
  failed: 0,
  ready: {
    event: 'ready',
    transport: 'websocket',
    host: '127.0.0.1',
    port: 1234,
    url: 'http://127.0.0.1:1234',
    pid: 1,
  },
  partial: false,
  windowMs: 10_000,
  hostBusyMs: undefined,
  hostProbeNsPerOp: 10,
  ...o,
})
const params = { ...DEFAULT_PARAMS, clients: 10 }

test('a complete window: counts, bytes per update, CPU, and the model, in the schema', () => {
  const r = toResult({ transport: 'websocket', params }, params, measured())
  assert.ok(v.is(CompletedResultSchema, r))
  assert.equal(r.state, 'completed')
  assert.deepEqual([r.workload, r.client], ['ticker', 'lean'])
  assert.equal(r.generator.verifiedUpdates, 1)
  assert.deepEqual(r.updates, {
    published: 100,
    offered: 100,
    publishedRatio: 1,
    expected: 1000,
    delivered: 1000,
    missed: 0,
    duplicates: 0,
    outOfOrder: 0,
  })
  assert.equal(r.bytes.perDeliveredUpdate, 132)
  assert.equal(r.bytes.modelPerUpdate, 132) // 128 B + a 4-byte frame header (126 B and up)
  assert.equal(r.serverCpu.percentOfCore, 1) // 100 ms of CPU over 10 s
  assert.equal(r.serverCpu.usPerDeliveredUpdate, 100)
  assert.equal(r.deliveredPerSecond, 100)
  assert.equal(r.generator.saturated, false)
  assert.equal(r.warnings, undefined)
})

test('expected is per stream: messages published on a stream times the clients on it', () => {
  const r = toResult(
    { transport: 'sse', params },
    params,
    measured({ published: [10, 20], subscribers: [3, 1] }),
  )
  assert.equal(r.updates.published, 30)
  assert.equal(r.updates.expected, 50)
  assert.equal(r.updates.missed, 0) // 1000 delivered > 50: never negative
})

test('a server that ticks late is flagged: it publishes less than offered and still delivers all it published', () => {
  // 10 ticks/s over 10 s offers 100; one tick is allowed for the window's edges
  const edge = toResult({ transport: 'sse', params }, params, measured({ published: [99] }))
  assert.equal(edge.updates.publishedRatio, 1)
  assert.equal(edge.warnings, undefined)
  const late = toResult(
    { transport: 'sse', params },
    params,
    measured({ published: [78], report: report({ delivered: 780 }) }),
  )
  assert.equal(late.updates.offered, 100)
  assert.equal(late.updates.publishedRatio, 0.788) // 78 / 99
  assert.equal(late.updates.missed, 0)
  assert.match(late.warnings?.join('\n') ?? '', /published 78\.8% of the 100 updates offered/)
})

test('missed updates warn for a push transport, not for a polled one (a poll may skip none, or many)', () => {
  const m = measured({ report: report({ delivered: 990 }) })
  const push = toResult({ transport: 'websocket', params }, params, m)
  assert.equal(push.updates.missed, 10)
  assert.ok(push.warnings?.some((w) => w.includes('10 updates missed')))
  const poll = toResult({ transport: 'short-poll', params }, params, m)
  assert.equal(poll.updates.missed, 10)
  assert.ok(!poll.warnings?.some((w) => w.includes('missed')))
})

test('latencies recorded as 0 (received no later than published) flag clocks that disagree', () => {
  const h = newHistogram()
  for (let i = 1; i <= 97; i++) h.recordValue(i * 1000)
  h.recordValueWithCount(0, 3)
  const skewed = toResult(
    { transport: 'websocket', params },
    params,
    measured({ report: report({ latency: summarise(h, { withHdr: true }) }) }),
  )
  assert.match(skewed.warnings?.join('\n') ?? '', /3 of 100 updates were received no later than published/)
  // whole-microsecond latencies from 1 us up say nothing of the kind
  const fine = toResult(
    { transport: 'websocket', params },
    params,
    measured({ report: report({ latency: summarise(hist, { withHdr: true }) }) }),
  )
  assert.equal(fine.warnings, undefined)
})

test('a saturated generator, a disturbed host and an interrupt are flagged', () => {
  const r = toResult(
    { transport: 'websocket', params },
    params,
    measured({ report: report({ cpuPercent: 95 }), partial: true, hostBusyMs: 10_000 }),
  )
  assert.equal(r.state, 'partial')
  assert.equal(r.generator.saturated, true)
  const w = r.warnings?.join('\n') ?? ''
  assert.match(w, /generator saturated/)
  assert.match(w, /interrupted/)
  // 10 s of host CPU in 10 s, ours 0.2 s: 98% of a core was someone else's
  assert.equal(r.generator.otherHostCpuPercent, 98)
  assert.match(w, /host was not quiet/)
})

test("the server's descriptor counts are the window's: turned away at accept, skipped for want of one", () => {
  const r = toResult(
    { transport: 'sse', params },
    params,
    measured({
      s0: snap({ atMs: 1000, lastSeq: 20, stats: { ...stats, acceptErrors: 5, fdExhausted: 1 } }),
      s1: snap({ atMs: 11_000, lastSeq: 120, stats: { ...stats, acceptErrors: 12, fdExhausted: 3 } }),
    }),
  )
  assert.ok(v.is(CompletedResultSchema, r))
  assert.equal(r.connections?.acceptErrors, 7)
  assert.equal(r.connections?.fdExhausted, 2)
  // a target of an older version does not count them: absent, not NaN
  const { acceptErrors: _a, fdExhausted: _f, ...older } = stats
  const old = snap({ stats: older as typeof stats })
  const o = toResult(
    { transport: 'sse', params },
    params,
    measured({ s0: old, s1: { ...old, atMs: 11_000 } }),
  )
  assert.ok(v.is(CompletedResultSchema, o))
  assert.equal(o.connections?.acceptErrors, undefined)
  assert.equal(o.connections?.fdExhausted, undefined)
})
