/**
 * The idle workload: connections held with nothing published cost exactly what their keep-alive sends.
 * Heartbeats and pings come from one server timer for all connections, so a window that is a whole number
 * of periods holds exactly that many of them.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resolveParams } from '../../lib/params.ts'
import type { CompletedResult } from '../../lib/results-schema.ts'
import { runOne } from '../../load/session.ts'
import { buildIdleTable } from '../../report/summary-table.ts'
import { verdict } from '../../report/verdict.ts'

const CLIENTS = 10
const PERIOD_MS = 500
const WINDOW_S = 3

async function idleRun(
  transport: string,
  serverArgs: string[],
  pollIntervalMs = 250,
): Promise<CompletedResult> {
  return runOne({
    transport,
    workload: 'idle',
    params: resolveParams({ clients: CLIENTS, durationS: WINDOW_S, warmupS: 0.5, pollIntervalMs }),
    serverArgs,
  })
}

test('idle SSE: one chunked heartbeat (":\\n\\n", 8 bytes with its framing) per period, nothing up', async () => {
  const r = await idleRun('sse', ['--heartbeat-ms', String(PERIOD_MS)])
  const beats = (WINDOW_S * 1000) / PERIOD_MS
  // chunk framing: "3\r\n" + ":\n\n" + "\r\n"
  assert.equal(r.bytes.serverToClient, CLIENTS * beats * 8)
  assert.equal(r.bytes.clientToServer, 0)
  assert.equal(r.updates.published, 0)
  assert.equal(r.updates.publishedRatio, 1)
  assert.equal(r.idle?.heartbeatMs, PERIOD_MS)
  // per minute over the server's own window (3 s give or take a few us)
  assert.ok(Math.abs((r.idle?.bytesPerConnectionPerMinute ?? 0) - ((beats * 8) / WINDOW_S) * 60) < 1)
  assert.ok(
    (r.warnings ?? []).every((w) => !w.includes('published')),
    'no "published too little" warning',
  )
})

test('idle WebSocket: a 2-byte ping down and a 6-byte masked pong up per period', async () => {
  const r = await idleRun('websocket', ['--ping-interval-ms', String(PERIOD_MS)])
  const pings = (WINDOW_S * 1000) / PERIOD_MS
  // one timer pings every client: a ping due on a window edge lands on either side of it on a busy host,
  // so the window holds pings - 1 to pings + 1 periods, each exactly a 2-byte ping and a 6-byte pong a client
  const periods = r.bytes.serverToClient / (CLIENTS * 2)
  assert.ok(Number.isInteger(periods) && Math.abs(periods - pings) <= 1, `${r.bytes.serverToClient} B down`)
  // a pong answers its ping a moment later: at an edge it can fall on the other side
  const pongs = r.bytes.clientToServer / (CLIENTS * 6)
  assert.ok(Number.isInteger(pongs) && Math.abs(pongs - periods) <= 1, `${r.bytes.clientToServer} B up`)
  assert.equal(r.idle?.pingIntervalMs, PERIOD_MS)
})

test('idle polling: one empty answer per hold (long) or per interval (short), and the report says so', async () => {
  const long = await idleRun('long-poll', ['--long-poll-timeout-ms', String(PERIOD_MS)])
  const short = await idleRun('short-poll', [], PERIOD_MS)
  // every client re-asks once per period: a request's phase against the window edges moves it by one at most
  const perClient = (WINDOW_S * 1000) / PERIOD_MS
  for (const r of [long, short]) {
    assert.ok(
      Math.abs(r.requests - CLIENTS * perClient) <= CLIENTS,
      `${r.transport}: ${r.requests} requests, ${CLIENTS * perClient} expected`,
    )
    assert.ok((r.idle?.bytesPerConnectionPerMinute ?? 0) > 0)
  }
  const s = { name: 'idle', params: resolveParams({ clients: CLIENTS }), results: [long, short] }
  const table = buildIdleTable(s as never)
  assert.ok(table)
  assert.deepEqual(
    table.rows.map((row) => row[1]),
    ['held 0.5 s, then 204', 'poll every 0.5 s'],
  )
  // two rows of one idle scenario: the verdict names the cheaper one and says nothing about updates
  const said = verdict(s as never)
  assert.ok(said.some((v) => v.kind === 'idle-bytes'))
  assert.ok(said.every((v) => v.kind !== 'freshest' && v.kind !== 'untrusted'))
})
