/**
 * `advise` on crafted results: the pick for three kinds of question (the cheapest CPU per update at a
 * high rate, the cheapest row that missed updates left out, short polling when its polls carry many
 * updates), nothing fitting one core said so, extrapolation stated as a factor, rows skipped and why,
 * and each prediction worked from its row and the models by hand.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEFAULT_PARAMS } from '../../lib/params.ts'
import type { CompletedResult, Params, ResultsFile, RunResult } from '../../lib/results-schema.ts'
import { transport } from '../../lib/transports.ts'
import { advise, hasCloseEvidence, type Question } from '../../report/advise.ts'
import { formatAdvice } from '../../report/advise-text.ts'

const params = (p: Partial<Params> = {}): Params => ({ ...DEFAULT_PARAMS, clients: 1000, ...p })

interface Shape {
  us: number
  p50: number
  missed?: number
  saturated?: boolean
  /** requests over the window (short polling's CPU is scaled per request) */
  requests?: number
  bytesPerConnection?: number
}

/** A completed row at `p`: every client got every update unless `missed`; CPU from `us` per update. */
function row(transport: string, p: Params, s: Shape): CompletedResult {
  const published = p.tickHz * p.updatesPerTick * p.durationS
  const expected = published * p.clients
  const delivered = expected - (s.missed ?? 0)
  const cpuMs = (s.us * delivered) / 1000
  return {
    transport,
    latencyMs: {
      p50: s.p50,
      p90: s.p50 * 2,
      p99: s.p50 * 3,
      p999: s.p50 * 4,
      max: s.p50 * 5,
      mean: s.p50,
      count: delivered,
    },
    updates: { published, expected, delivered, missed: s.missed ?? 0, duplicates: 0, outOfOrder: 0 },
    bytes: {
      clientToServer: 0,
      serverToClient: delivered * 140,
      perDeliveredUpdate: 140,
      modelPerUpdate: 132,
    },
    serverCpu: {
      userMs: cpuMs,
      systemMs: 0,
      percentOfCore: cpuMs / (p.durationS * 10),
      usPerDeliveredUpdate: s.us,
    },
    serverMemory: {
      rssMaxBytes: 100 * 2 ** 20,
      ...(s.bytesPerConnection === undefined ? {} : { bytesPerConnection: s.bytesPerConnection }),
    },
    requests: s.requests ?? p.clients,
    errors: 0,
    generator: { cpuPercent: 20, eventLoopUtilization: 0.2, saturated: s.saturated ?? false },
  }
}

function file(
  runId: string,
  scenarios: { name: string; params: Params; results: RunResult[] }[],
): ResultsFile {
  return {
    schemaVersion: 1,
    runId,
    startedAt: '2026-12-01T10:00:00.000Z',
    env: { node: 'v20.20.2', cpuModel: 'test', cores: 2, os: 'Linux', commit: 'abc' },
    profile: 'test',
    scenarios,
  }
}

/** Shaped like the quick run: 1,000 clients, 10 updates/s, 128 B, polls every 250 ms (4 a second). */
const QP = params()
const QUICK = file('quick-run', [
  {
    name: 'ticker',
    params: QP,
    results: [
      row('short-poll', QP, { us: 11.2, p50: 126.4, requests: 40_000, bytesPerConnection: 17_613 }),
      row('long-poll', QP, { us: 26.35, p50: 3.1, saturated: true }),
      row('sse', QP, { us: 7.8, p50: 8.9, bytesPerConnection: 17_510 }),
      row('websocket', QP, { us: 6.9, p50: 8.4, bytesPerConnection: 13_005 }),
    ],
  },
])

/** A high-rate scenario: 1,000 clients, 10 ticks/s of 5 updates (50 updates/s each). */
const HP = params({ updatesPerTick: 5 })
const highRate = (ws: Partial<Shape> = {}) =>
  file('high-rate', [
    {
      name: 'rate-50',
      params: HP,
      results: [
        // 30 us per poll, 4 polls/s a client, 50 updates/s: 2.4 us per update
        row('short-poll', HP, { us: 2.4, p50: 126, requests: 40_000 }),
        row('long-poll', HP, { us: 8, p50: 3 }),
        row('sse', HP, { us: 2.5, p50: 1.2 }),
        row('websocket', HP, { us: 1.5, p50: 1, ...ws }),
        { state: 'errored', transport: 'websocket', error: 'a second websocket run that failed' },
      ],
    },
  ])

const q = (o: Partial<Question>): Question => ({
  clients: 1000,
  ratePerS: 10,
  payloadBytes: 128,
  pollIntervalMs: 250,
  rttMs: 0,
  ...o,
})

const of = (a: ReturnType<typeof advise>, name: string) => {
  const t = a.transports.find((x) => x.transport === name)
  assert.ok(t, name)
  return t
}
const near = (actual: number | undefined, expected: number, what: string) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-6, `${what}: ${actual} != ${expected}`)

test('a high rate to many clients: the lowest CPU per update is picked', () => {
  const a = advise(q({ clients: 2000, ratePerS: 50 }), [highRate()])
  assert.equal(a.pick, 'websocket')
  const ws = of(a, 'websocket').prediction
  near(ws?.serverUsPerUpdate, 1.5, 'measured us/update carried')
  near(ws?.coresNeeded, (1.5 * 2000 * 50) / 1e6, 'cores = us x clients x rate / 1e6')
  assert.match(a.verdict, /^WebSocket: the least server CPU per update \(1\.5 us, 0\.15 of a core/)
  // clients 2x the largest measured, rate measured: the pick says it is extrapolated and by how far
  assert.match(a.verdict, /Extrapolated: 2,000 clients is 2x the largest measured, 1,000/)
  assert.equal(a.reasons.length, 4)
  assert.match(
    a.reasons[1] ?? '',
    /^server CPU per update: WebSocket 1\.5 us .*against .*SSE 2\.5 us \(1\.67x/,
  )
  // the errored row is skipped and said so
  assert.deepEqual(
    a.evidence.skipped.map((s) => [s.reason, s.rows.length]),
    [['that errored', 1]],
  )
  assert.ok(a.notes.some((n) => /skipped 1 row that errored: websocket in rate-50 \(high-rate\)/.test(n)))
})

test('the cheapest row missed updates: not picked; a CPU tie within 10% goes to the fresher p50', () => {
  const a = advise(q({ clients: 2000, ratePerS: 50 }), [highRate({ missed: 10_000 })])
  const ws = of(a, 'websocket')
  assert.equal(ws.eligible, false)
  assert.match(ws.excluded ?? '', /delivered 98% \(10,000 of 500,000 missed\), under 99%/)
  // short polling 2.4 us and SSE 2.5 us are within 10%: SSE's p50 of 1.2 ms beats short polling's 126
  near(of(a, 'short-poll').prediction?.serverUsPerUpdate, 2.4, 'short polling per poll, rescaled')
  assert.equal(a.pick, 'sse')
  assert.match(a.verdict, /a tie within 10% broken by freshness/)
})

test('short polling is picked when each poll carries many updates and freshness can wait', () => {
  // 100 updates/s, a poll a second: the row's 28 us per poll is spread over 100 updates
  const a = advise(q({ ratePerS: 100, pollIntervalMs: 1000 }), [QUICK])
  assert.equal(a.pick, 'short-poll')
  const sp = of(a, 'short-poll').prediction
  near(sp?.serverUsPerUpdate, ((11.2 * 100_000) / 40_000) * (1 / 100), 'us per poll x polls/s / updates/s')
  // p50: the row's 126.4 ms less its modelled 125 (I/2), plus the question's 500
  near(sp?.p50Ms, 126.4 - 125 + 500, 'freshness carried')
  // WebSocket fits too (0.69 cores) but costs 6.9 us an update
  assert.equal(of(a, 'websocket').eligible, true)
  assert.deepEqual(
    of(a, 'short-poll').extrapolated.map((e) => e.text),
    [
      '100 updates/s is 10x the largest measured, 10',
      '1,000 ms poll interval is 4x the largest measured, 250',
    ],
  )
  // the poll interval is not a dimension of the push transports
  assert.deepEqual(
    of(a, 'websocket').extrapolated.map((e) => e.param),
    ['ratePerS'],
  )
})

test('the cost-first pick says what it costs in freshness; --max-p50-ms leaves the stale ones out', () => {
  const a = advise(q({ ratePerS: 100, pollIntervalMs: 1000 }), [QUICK])
  assert.equal(a.pick, 'short-poll')
  assert.match(
    a.verdict,
    /It is 59\.7x staler than WebSocket \(p50 501 ms against 8\.4 ms\); if the feed must be fresher, ask again with --max-p50-ms/,
  )
  const b = advise(q({ ratePerS: 100, pollIntervalMs: 1000, maxP50Ms: 50 }), [QUICK])
  assert.equal(b.pick, 'websocket')
  assert.equal(of(b, 'short-poll').eligible, false)
  assert.match(of(b, 'short-poll').excluded ?? '', /predicted p50 501 ms is over --max-p50-ms 50 ms/)
  assert.match(b.verdict, /predicted fresh within 50 ms at p50/)
  assert.doesNotMatch(b.verdict, /staler/)
})

test('nothing fits one core: no pick, and the answer says so with each transport’s need', () => {
  const a = advise(q({ clients: 10_000, ratePerS: 100 }), [QUICK])
  assert.equal(a.pick, undefined)
  assert.match(a.verdict, /^No transport fits 10,000 clients x 100 updates\/s/)
  assert.match(a.verdict, /WebSocket needs 6\.9 cores of server CPU/)
  assert.match(a.verdict, /The cheapest, short polling, needs 1\.12 cores/)
  for (const t of a.transports.filter((x) => x.prediction)) assert.equal(t.eligible, false, t.transport)
  assert.match(formatAdvice(a), /^Pick: none$/m)
})

test('a question beyond the measured range is marked extrapolated with the factor', () => {
  const a = advise(q({ clients: 10_000 }), [QUICK])
  const ws = of(a, 'websocket')
  assert.deepEqual(ws.extrapolated, [
    {
      param: 'clients',
      value: 10_000,
      measured: 1000,
      side: 'above',
      factor: 10,
      text: '10,000 clients is 10x the largest measured, 1,000',
    },
  ])
  near(ws.distance, 1, 'one decade off in one parameter')
  near(ws.maxFactor, 10, 'max factor')
  assert.ok(a.notes.includes('WebSocket: extrapolated: 10,000 clients is 10x the largest measured, 1,000'))
  assert.equal(hasCloseEvidence(a), true, '10x is still near enough')
  // below the range too
  const small = advise(q({ clients: 10 }), [QUICK])
  assert.equal(
    of(small, 'sse').extrapolated[0]?.text,
    '10 clients is 100x below the smallest measured, 1,000',
  )
  assert.equal(hasCloseEvidence(small), false, '100x is not')
  assert.match(formatAdvice(a), /clients 10x above/)
})

test('predictions: model bytes at 6-digit seqs, round trip carried by the freshness model, memory per GiB', () => {
  const question = q({ rttMs: 40 })
  const a = advise(question, [QUICK])
  const ws = of(a, 'websocket').prediction
  assert.equal(ws?.bytesPerUpdate, 132, '128 B and a 4-byte frame header')
  const sseModel = transport('sse').model(
    { ...DEFAULT_PARAMS, clients: 1000 },
    { host: '127.0.0.1', port: 8080, path: '/sse', seqFrom: 100_000, seqTo: 999_999 },
  )
  assert.equal(of(a, 'sse').prediction?.bytesPerUpdate, sseModel.perUpdate)
  near(ws?.p50Ms, 8.4 + 20, 'push: the row plus RTT/2')
  near(of(a, 'short-poll').prediction?.p50Ms, 126.4 - 125 + 125 + 20, 'short polling: I/2 + RTT/2')
  near(ws?.connectionsPerGiB, 2 ** 30 / 13_005, 'connections per GiB')
  assert.match(
    a.reasons[3] ?? '',
    /^connections per GiB of server memory: WebSocket 82,564 .*against SSE 61,322/,
  )
  assert.ok(a.notes.some((n) => /40 ms round trip is modelled/.test(n)))
  // the saturated long-polling row is no evidence
  assert.equal(of(a, 'long-poll').prediction, undefined)
  assert.ok(a.notes.some((n) => /skipped 1 row whose generator saturated .*long-poll in ticker/.test(n)))
})

test('a predicted p50 never goes below 0; files without bytesPerConnection say so', () => {
  const p = params({ pollIntervalMs: 250 })
  const old = file('old', [
    { name: 'old', params: p, results: [row('short-poll', p, { us: 10, p50: 100, requests: 40_000 })] },
  ])
  const a = advise(q({ pollIntervalMs: 10 }), [old])
  // 100 - 125 + 5 would be -20
  assert.equal(of(a, 'short-poll').prediction?.p50Ms, 0)
  assert.equal(of(a, 'short-poll').prediction?.connectionsPerGiB, undefined)
  assert.match(
    a.reasons[3] ?? '',
    /not known for any transport: the rows have no serverMemory.bytesPerConnection/,
  )
})

test('no evidence: no pick, no reasons, and the verdict says why', () => {
  const a = advise(q({}), [])
  assert.equal(a.pick, undefined)
  assert.deepEqual(a.reasons, [])
  assert.match(a.verdict, /^No evidence/)
  assert.equal(hasCloseEvidence(a), false)
})
