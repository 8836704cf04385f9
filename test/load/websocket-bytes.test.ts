/**
 * WebSocket byte accounting checked against RFC 6455, on real runs (load/session.ts): the server's
 * socket counters over the window must be exactly the frames it sent, and the generator's own tally of
 * its sockets must agree with them but for what crossed a window edge.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resolveParams, type ScenarioParams } from '../../lib/params.ts'
import type { CompletedResult } from '../../lib/results-schema.ts'
import { runOne, Session } from '../../load/session.ts'
import { wsFrameHeaderLength } from '../../servers/frames.ts'
import type { ByteReader } from '../helpers/byte-reader.ts'
import { clientFrame, type Frame, OP, readFrame, wsOpen } from '../helpers/ws-frames.ts'

/** A server ping without payload: FIN + opcode 9, length 0, unmasked. */
const PING = Buffer.from([0x89, 0x00])
/** The pong a client answers it with: FIN + opcode 10, mask bit + length 0, then the 4-byte mask key. */
const PONG_BYTES = 2 + 4

/** Reads every frame a WebSocket gets, raw, and answers pings (as any client must). */
class FrameRecorder {
  readonly frames: Frame[] = []
  error: Error | undefined
  private stopped = false
  private readonly loop: Promise<void>
  constructor(readonly reader: ByteReader) {
    this.loop = this.run()
  }
  private async run(): Promise<void> {
    try {
      for (;;) {
        const f = await readFrame(this.reader, 60_000)
        this.frames.push(f)
        if (f.opcode === OP.ping) this.reader.socket.write(clientFrame(OP.pong, f.payload))
      }
    } catch (err) {
      if (!this.stopped) this.error = err as Error
    }
  }
  async close(): Promise<void> {
    this.stopped = true
    this.reader.socket.destroy()
    await this.loop
  }
}

test('server-to-client bytes are exactly one frame per update plus 2-byte pings; client-to-server, 6-byte pongs', async (t) => {
  // per-update writes, 3 updates a tick, a 2-byte frame header (payload < 126), and pings every 250 ms
  const params = resolveParams({
    clients: 20,
    durationS: 2,
    warmupS: 0.5,
    payloadBytes: 100,
    updatesPerTick: 3,
    writePolicy: 'per-update',
  })
  const pingMs = 250
  const session = await Session.open({
    transport: 'websocket',
    params,
    serverArgs: ['--ping-interval-ms', String(pingMs)],
  })
  let observer: FrameRecorder | undefined
  let r: CompletedResult
  try {
    // one more client, on a raw socket: it sees on the wire what every client is sent
    observer = new FrameRecorder(await wsOpen(session.ready.port))
    r = await session.measure(params, true)
  } finally {
    await observer?.close()
    await session.close()
  }
  assert.ok(observer)
  assert.equal(observer.error, undefined)

  const P = params.payloadBytes
  const frame = wsFrameHeaderLength(P) + P
  assert.equal(frame, 102)
  // on the wire: every update is one unmasked text frame of exactly header + payload; every ping is 2 bytes
  const texts = observer.frames.filter((f) => f.opcode === OP.text)
  const pings = observer.frames.filter((f) => f.opcode === OP.ping)
  assert.ok(texts.length > 0 && pings.length > 0)
  for (const f of texts) {
    assert.equal(f.raw.length, frame)
    assert.deepEqual([...f.raw.subarray(0, 2)], [0x81, P], 'FIN + text, unmasked, 7-bit length')
    assert.equal(f.payload.length, P)
  }
  for (const f of pings) assert.deepEqual(f.raw, PING)

  const u = r.updates
  const clients = params.clients + 1 // the observer too
  assert.equal(u.missed, 0)
  assert.equal(u.delivered, u.published * params.clients)
  assert.equal(r.bytes.modelPerUpdate, frame, 'the model: header + payload, nothing client to server')
  // The server wrote the window's updates to all 21 sockets (the observer got `published` of them too)
  // and whole rounds of pings: each round goes to every socket in one timer callback, so the rest is
  // 2 bytes x 21 x rounds, with one round every 250 ms of the 2 s window (give or take one at an edge).
  const rest = r.bytes.serverToClient - (u.delivered + u.published) * frame
  assert.equal(rest % (PING.length * clients), 0, `${rest} B besides update frames is not whole ping rounds`)
  const rounds = rest / (PING.length * clients)
  const expected = (params.durationS * 1000) / pingMs
  assert.ok(
    Math.abs(rounds - expected) <= 1,
    `${rounds} ping rounds in the window, about ${expected} expected`,
  )
  // Client to server: nothing but pongs, 6 bytes each; a pong to a ping right before an edge may be read
  // after it, so every socket's count is that of the rounds, give or take one
  const c2s = r.bytes.clientToServer
  assert.equal(c2s % PONG_BYTES, 0, `${c2s} B from clients are not whole pongs`)
  const pongs = c2s / PONG_BYTES
  assert.ok(
    Math.abs(pongs - rounds * clients) <= clients,
    `${pongs} pongs for ${rounds} rounds of ${clients}`,
  )
  t.diagnostic(`${u.published} updates, ${rounds} ping rounds, ${pongs} pongs in the window`)
})

test("the generator's own tally equals the server's counters but for whole ticks in flight at an edge", async (t) => {
  // per-tick writes of 2 updates with 200-byte payloads: a 4-byte header (126 <= payload < 64 KiB)
  const params: ScenarioParams = resolveParams({
    clients: 20,
    durationS: 2,
    warmupS: 0.5,
    payloadBytes: 200,
    updatesPerTick: 2,
  })
  const r = await runOne({ transport: 'websocket', params })
  const P = params.payloadBytes
  const frame = wsFrameHeaderLength(P) + P
  assert.equal(frame, 204)
  const u = r.updates
  assert.equal(u.missed, 0)
  assert.equal(u.delivered, u.published * params.clients)
  // no ping in a run this short (the first comes 30 s after the server starts): the server's counters
  // hold the window's frames and nothing else, to the byte, and the model says the same
  assert.equal(r.bytes.clientToServer, 0)
  assert.equal(r.bytes.serverToClient, u.delivered * frame)
  assert.equal(r.bytes.modelPerUpdate, frame)
  assert.equal(r.bytes.perDeliveredUpdate, frame)

  // The generator marks its sockets' counters with its own timers at the window's edges, while the
  // server takes its counters right before the first tick at or after each edge. A tick published just
  // after an edge and read before the generator's (slightly late) timer, or published just before it
  // and still in flight when the timer fires, lands on the other side of that edge in the tally. The
  // server writes each tick to a socket in one write, read whole, so the difference is a whole number of
  // ticks per socket; with every latency under the tick period, at most one tick per client per edge
  // (one more for each period a tick can take to arrive). Usually it is 0; in about one window in ten at
  // 100 Hz it was one tick for every client.
  const tally = r.bytes.clientTally
  assert.ok(tally)
  assert.equal(tally.written, 0, 'the clients send nothing in the window')
  const tickBytes = params.updatesPerTick * frame
  const periodMs = 1000 / params.tickHz
  const perEdge = 1 + Math.floor(r.latencyMs.max / periodMs)
  const diff = tally.read - r.bytes.serverToClient
  assert.equal(Math.abs(diff) % tickBytes, 0, `tally - server = ${diff} B: not whole ticks`)
  assert.ok(
    Math.abs(diff) <= 2 * perEdge * params.clients * tickBytes,
    `tally - server = ${diff} B: more than ${perEdge} tick(s) per client at each edge`,
  )
  t.diagnostic(`tally - server = ${diff} B (${diff / tickBytes} ticks)`)
})
