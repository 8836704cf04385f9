/**
 * The two client kinds receive the same thing: for each transport, a lean client (raw socket, byte scan)
 * and a library client (ws, undici, eventsource-parser) on one server see every seq once, in order, and the
 * lean client's bytes of each update are the server's, byte for byte. Every lean update is also parsed in
 * full (verifyEvery 1), so a scan that read the wrong bytes would count as corrupt.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { newHistogram } from '../../../lib/latency.ts'
import { DEFAULT_PARAMS, type ScenarioParams } from '../../../lib/params.ts'
import { mulberry32 } from '../../../lib/random.ts'
import { type BuiltinTransport, type Http2Transport, transport } from '../../../lib/transports.ts'
import { type ClientContext, ClientSockets, type LoadClient } from '../../../load/clients/common.ts'
import { stratifiedPhases } from '../../../load/poll-phases.ts'
import { startServer } from '../../../servers/server.ts'
import { waitFor } from '../../helpers/wait.ts'

const TRANSPORTS: (BuiltinTransport | Http2Transport)[] = [
  'short-poll',
  'long-poll',
  'sse',
  'websocket',
  'short-poll-h2',
  'long-poll-h2',
  'sse-h2',
]
const TICKS = 30
const PER_TICK = 3
const PAYLOAD = 150

/** What a client saw, by seq: the update's bytes (lean, and library where the library hands text over). */
type Seen = Map<number, Buffer>

function spyOn(Client: new (ctx: ClientContext, stream: number) => LoadClient, seen: Seen) {
  // both kinds end in onScanned (lean) or onJson / account (library): record there, then go on as usual
  return class extends (Client as unknown as new (
    ctx: ClientContext,
    stream: number,
  ) => {
    onScanned(seq: number, ts: number, buf: Buffer, s: number, e: number, ms: number): boolean
    onJson(text: string, ms: number): void
    account(body: Buffer, ms: number): void
  }) {
    override onScanned(seq: number, ts: number, buf: Buffer, s: number, e: number, ms: number): boolean {
      seen.set(seq, Buffer.from(buf.subarray(s, e)))
      return super.onScanned(seq, ts, buf, s, e, ms)
    }
    override onJson(text: string, ms: number): void {
      seen.set((JSON.parse(text) as { seq: number }).seq, Buffer.from(text, 'latin1'))
      super.onJson(text, ms)
    }
    override account(body: Buffer, ms: number): void {
      // a poll answer: JSON text of the array; the library kind parses it, so its bytes per update are not
      // its own to record; the seqs are
      for (const u of JSON.parse(body.toString('latin1')) as { seq: number }[])
        seen.set(u.seq, Buffer.alloc(0))
      super.account(body, ms)
    }
  } as unknown as new (
    ctx: ClientContext,
    stream: number,
  ) => LoadClient
}

/** One client's context on `url`: one stream, an endless window, every update parsed in full. */
function contextFor(url: string, path: string, params: ScenarioParams): ClientContext {
  return {
    base: new URL(url),
    path,
    streams: 1,
    params,
    window: { startMs: Number.NEGATIVE_INFINITY, endMs: Number.POSITIVE_INFINITY },
    latency: newHistogram(),
    scheduleLag: newHistogram(),
    sockets: new ClientSockets(),
    pollPhase: stratifiedPhases(2, mulberry32(1)),
    verifyEvery: 1,
  }
}

for (const name of TRANSPORTS) {
  test(`${name}: lean and library clients receive the same seqs; the lean bytes are the server's`, async (t) => {
    const entry = transport(name)
    const server = await startServer({
      transport: name,
      port: 0,
      autoStart: false,
      updatesPerTick: PER_TICK,
      payloadBytes: PAYLOAD,
    })
    t.after(() => server.close())
    const params = {
      ...DEFAULT_PARAMS,
      updatesPerTick: PER_TICK,
      payloadBytes: PAYLOAD,
      pollIntervalMs: 20,
      clients: 2,
    }
    const ctx = (): ClientContext => contextFor(server.url, entry.path, params)
    const leanSeen: Seen = new Map()
    const libSeen: Seen = new Map()
    const Lean = entry.clients.lean
    assert.ok(Lean, `${name} has a lean client`)
    const leanCtx = ctx()
    const libCtx = ctx()
    const lean = new (spyOn(await Lean(), leanSeen))(leanCtx, 0)
    const lib = new (spyOn(await entry.clients.library(), libSeen))(libCtx, 0)
    t.after(() => {
      lean.stop()
      lib.stop()
    })
    await Promise.all([lean.start(), lib.start()])
    // a poll client is a subscriber once its first request is answered; a held long poll only at the
    // first tick, which answers it from where the stream was when the server read it
    if (!name.startsWith('long-poll'))
      await waitFor(() => lean.subscribed && lib.subscribed, 'both clients subscribed', 5000)
    else await new Promise((r) => setTimeout(r, 100))
    for (let i = 0; i < TICKS; i++) {
      server.source.publishTick(1_764_000_000_000 + i * 100)
      await new Promise((r) => setTimeout(r, 5))
    }
    const last = TICKS * PER_TICK
    await waitFor(
      () => lean.delivery.maxSeq === last && lib.delivery.maxSeq === last,
      `both at seq ${last}`,
      10_000,
    )
    const all = Array.from({ length: last }, (_, i) => i + 1)
    assert.deepEqual(
      [...leanSeen.keys()].sort((a, b) => a - b),
      all,
    )
    assert.deepEqual(
      [...libSeen.keys()].sort((a, b) => a - b),
      all,
    )
    for (const u of server.source.since(0, 0)) {
      assert.ok(leanSeen.get(u.seq)?.equals(u.json), `lean bytes of seq ${u.seq}`)
      const libBytes = libSeen.get(u.seq) as Buffer
      if (libBytes.length > 0) assert.ok(libBytes.equals(u.json), `library bytes of seq ${u.seq}`)
    }
    for (const c of [lean, lib]) {
      assert.equal(c.delivery.delivered, last)
      assert.equal(c.delivery.duplicates + c.delivery.outOfOrder, 0)
      assert.equal(c.counters.corrupt, 0)
    }
    assert.equal(lean.counters.verified, last, 'every lean update parsed in full and matched')
    // over HTTP/2 the lean client puts node:http2's bytes on the wire: the same frames and header blocks
    // (a long poll and a stream ask the same things; short polls ask on their own schedules)
    if (name === 'long-poll-h2' || name === 'sse-h2') {
      const a = leanCtx.sockets.bytes()
      const b = libCtx.sockets.bytes()
      assert.equal(lean.counters.requests, lib.counters.requests)
      assert.deepEqual([a.written, a.read], [b.written, b.read], `${name}: lean vs library bytes`)
    }
  })
}

test('a poll client is a subscriber once its first request is answered, not when its socket connects', async (t) => {
  const entry = transport('long-poll')
  const server = await startServer({ transport: 'long-poll', port: 0, autoStart: false })
  t.after(() => server.close())
  const params = { ...DEFAULT_PARAMS, clients: 2 }
  const clients: LoadClient[] = []
  for (const load of [entry.clients.lean, entry.clients.library]) {
    const Client = await (load as NonNullable<typeof load>)()
    clients.push(new Client(contextFor(server.url, entry.path, params), 0))
  }
  t.after(() => {
    for (const c of clients) c.stop()
  })
  await Promise.all(clients.map((c) => c.start()))
  // connected, and the server holds both first requests: no answer yet, so not subscribers yet
  await waitFor(() => server.stats.heldRequests === 2, 'both first requests held', 5000)
  assert.deepEqual(
    clients.map((c) => c.subscribed),
    [false, false],
  )
  server.source.publishTick(1_764_000_000_000)
  await waitFor(() => clients.every((c) => c.subscribed), 'both subscribed after the first tick', 5000)
  assert.deepEqual(
    clients.map((c) => c.delivery.maxSeq),
    [1, 1],
  )
})
