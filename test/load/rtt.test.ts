/**
 * The emulated round-trip time (load/lean/delay-line.ts) against what it must do, and real runs against the
 * freshness model (load/model/freshness.ts). Tolerances are for the emulation's own error (a timer fires up
 * to a millisecond late, loopback adds its ~0.5-2 ms), not speed targets.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { test } from 'node:test'
import { nowMs } from '../../lib/clock.ts'
import { PbOptionError } from '../../lib/errors.ts'
import { resolveParams, type ScenarioParams } from '../../lib/params.ts'
import type { CompletedResult } from '../../lib/results-schema.ts'
import { leanConnect } from '../../load/lean/connect.ts'
import { checkRttClient, dueQueue } from '../../load/lean/delay-line.ts'
import { longPollFreshness, shortPollFreshness } from '../../load/model/freshness.ts'
import { runOne } from '../../load/session.ts'

async function echoServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer((s) => s.pipe(s))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  return { port, close: () => new Promise((r) => server.close(() => r())) }
}

test('a delayed connection: first byte after the TCP handshake, each way RTT/2, bytes in order', async (t) => {
  const echo = await echoServer()
  t.after(echo.close)
  const rtt = 60
  const t0 = nowMs()
  let connectedAt = 0
  const got: { text: string; atMs: number }[] = []
  const s = leanConnect(
    '127.0.0.1',
    echo.port,
    (buf, end, atMs) => got.push({ text: buf.toString('latin1', 0, end), atMs }),
    { rttMs: rtt },
  )
  s.on('connect', () => {
    connectedAt = nowMs()
  })
  for (let i = 0; i < 50; i++) s.write(`${i},`)
  while (got.map((g) => g.text).join('').length < '0,'.length * 10 + '10,'.length * 40)
    await new Promise((r) => setTimeout(r, 5))
  // the writes wait for the handshake (one RTT), leave RTT/2 later, and the echo comes back RTT/2 later
  const first = got[0]?.atMs ?? 0
  assert.ok(connectedAt - t0 >= rtt - 1, `'connect' came ${(connectedAt - t0).toFixed(1)} ms after the start`)
  assert.ok(first - t0 >= 2 * rtt, `first echo at ${(first - t0).toFixed(1)} ms, before 2 RTT`)
  assert.ok(first - t0 < 2 * rtt + 15, `first echo at ${(first - t0).toFixed(1)} ms, 2 RTT is ${2 * rtt}`)
  const all = got.map((g) => g.text).join('')
  assert.equal(all, Array.from({ length: 50 }, (_, i) => `${i},`).join(''))
  // the instants handed over never go backwards
  for (let i = 1; i < got.length; i++) assert.ok((got[i]?.atMs ?? 0) >= (got[i - 1]?.atMs ?? 0))
  s.destroy()
  await new Promise((r) => setTimeout(r, rtt))
  assert.equal(dueQueue.size, 0, 'nothing is left on the line after the connection is gone')
})

test('--rtt-ms is refused for clients without the delay line', () => {
  assert.throws(
    () => checkRttClient(50, 'library', '--rtt-ms'),
    (e: unknown) => {
      assert.ok(e instanceof PbOptionError)
      assert.equal(e.field, '--rtt-ms')
      return true
    },
  )
  checkRttClient(0, 'browser', '--rtt-ms')
  checkRttClient(50, 'lean', '--rtt-ms')
})

async function run(transport: string, p: Partial<ScenarioParams>): Promise<CompletedResult> {
  return runOne({
    transport,
    params: resolveParams({ clients: 10, durationS: 2, warmupS: 0.5, ...p }),
  })
}

test('push: latency rises by RTT/2 (WebSocket, SSE)', async (t) => {
  for (const transport of ['websocket', 'sse']) {
    const base = await run(transport, { rttMs: 0 })
    const far = await run(transport, { rttMs: 100 })
    const added = far.latencyMs.p50 - base.latencyMs.p50
    t.diagnostic(`${transport}: p50 ${base.latencyMs.p50} ms at RTT 0, ${far.latencyMs.p50} ms at RTT 100`)
    assert.equal(far.updates.missed, 0)
    assert.ok(Math.abs(added - 50) <= 4, `${transport}: p50 rose by ${added.toFixed(2)} ms at RTT 100`)
    assert.deepEqual(far.latencyModel, { rttMs: 100, addedMeanMs: 50, setupRoundTrips: 2, setupMs: 200 })
  }
})

test('short polling: the mean staleness is I/2 + RTT/2', async (t) => {
  const p = { clients: 20, pollIntervalMs: 250, rttMs: 100 }
  const r = await run('short-poll', p)
  const model = shortPollFreshness({ ratePerS: 10, pollIntervalMs: 250, rttMs: 100 })
  assert.equal(model, 175)
  assert.equal(r.latencyModel?.addedMeanMs, model)
  assert.equal(r.updates.missed, 0)
  t.diagnostic(`short-poll: mean ${r.latencyMs.mean} ms at I 250 ms, RTT 100 ms; model ${model} ms`)
  // the stratified phases spread the polls evenly over the interval; loopback adds ~1 ms
  assert.ok(Math.abs(r.latencyMs.mean - model) <= 10, `mean ${r.latencyMs.mean} ms, model ${model} ms`)
})

test('long polling: what RTT adds follows the model at a slow and a fast tick rate', async (t) => {
  // 5 ticks/s (200 ms apart): a 100 ms round trip ends before the next tick, nothing waits;
  // 23 ticks/s (43.5 ms): every gap holds a tick, which waits RTT/2 on average (23 ticks in 10 cycles of
  // 100 ms: the phases fall on a 4.3 ms grid, so the mean is within about 2 ms of RTT/2); on top, loopback
  // and the two ends' turnaround (each cycle is RTT plus ~1 ms) add 2-4 ms
  for (const tickHz of [5, 23]) {
    const r = await run('long-poll', { tickHz, rttMs: 100, durationS: 3 })
    const model = longPollFreshness({ ratePerS: tickHz, pollIntervalMs: 250, rttMs: 100, periodic: true })
    assert.equal(model, tickHz === 5 ? 50 : 100)
    assert.equal(r.latencyModel?.addedMeanMs, model)
    assert.equal(r.updates.missed, 0)
    t.diagnostic(`long-poll at ${tickHz} ticks/s, RTT 100 ms: mean ${r.latencyMs.mean} ms, model ${model} ms`)
    assert.ok(
      Math.abs(r.latencyMs.mean - model) <= 10,
      `${tickHz} ticks/s: mean ${r.latencyMs.mean} ms, model ${model} ms`,
    )
  }
})
