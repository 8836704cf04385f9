import assert from 'node:assert/strict'
import { test } from 'node:test'
import { WRITE_POLICIES } from '../../lib/params.ts'
import type { BuiltinTransport } from '../../lib/transports.ts'
import { type RunningServer, startServer } from '../../servers/server.ts'
import {
  LongPollClient,
  range,
  ShortPollClient,
  SseClient,
  type UpdateLog,
  WsClient,
} from '../helpers/clients.ts'
import { waitFor } from '../helpers/wait.ts'

const PARAMS = { seed: 20_261_125, symbols: 50, updatesPerTick: 3, payloadBytes: 160 }
const TICKS = 80 // 240 updates
const BATCH = 8
const TS0 = 1_764_000_000_000
/** the same fixed publish instants on every server, so `ts` (and so the JSON) is the same */
const ts = (i: number) => TS0 + i * 100.125

for (const writePolicy of WRITE_POLICIES) {
  test(`the four transports deliver byte-identical update JSON for the same seqs (${writePolicy})`, async (t) => {
    const transports: BuiltinTransport[] = ['short-poll', 'long-poll', 'sse', 'websocket']
    const servers = {} as Record<BuiltinTransport, RunningServer>
    for (const transport of transports) {
      const s = await startServer({ transport, port: 0, autoStart: false, writePolicy, ...PARAMS })
      t.after(() => s.close())
      servers[transport] = s
    }

    const poll = await ShortPollClient.open(servers['short-poll'].port)
    const longPoll = await LongPollClient.open(servers['long-poll'].port)
    const sse = await SseClient.open(servers.sse.port, { lastEventId: 0 })
    const ws = await WsClient.open(servers.websocket.port, 0)
    t.after(async () => {
      poll.close()
      await Promise.all([longPoll.close(), sse.close(), ws.close()])
    })

    // publish in batches; each client catches up before the next batch (the long poll is held in between)
    for (let tick = 0; tick < TICKS; ) {
      await waitFor(() => servers['long-poll'].stats.heldRequests === 1, 'the long poll to be held')
      for (const end = tick + BATCH; tick < end; tick++) {
        for (const transport of transports) servers[transport].source.publishTick(ts(tick))
      }
      const last = tick * PARAMS.updatesPerTick
      await Promise.all([
        poll.pollUntil(last),
        longPoll.waitForSeq(last),
        sse.waitForSeq(last),
        ws.waitForSeq(last),
      ])
    }

    const total = TICKS * PARAMS.updatesPerTick
    assert.ok(total >= 200)
    const logs: Record<BuiltinTransport, UpdateLog> = {
      'short-poll': poll.log,
      'long-poll': longPoll.log,
      sse: sse.log,
      websocket: ws.log,
    }
    for (const transport of transports) {
      assert.deepEqual(logs[transport].seqs, range(1, total), `${transport}: every seq once, in order`)
    }
    const reference = servers['short-poll'].source.since(0, 0)
    assert.equal(reference.length, total)
    for (const u of reference) {
      for (const transport of transports) {
        const got = logs[transport].json.get(u.seq)
        assert.ok(got, `${transport} has seq ${u.seq}`)
        assert.ok(got.equals(u.json), `${transport} seq ${u.seq}: ${got.toString()} != ${u.json.toString()}`)
      }
    }
    // and each is a well-formed update of exactly payloadBytes
    for (const u of reference) {
      assert.equal(u.json.length, PARAMS.payloadBytes)
      const parsed = JSON.parse(u.json.toString()) as { seq: number; ts: number }
      assert.equal(parsed.seq, u.seq)
    }
  })
}
