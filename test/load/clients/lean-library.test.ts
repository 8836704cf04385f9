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
import { transport, transportNames } from '../../../lib/transports.ts'
import { type ClientContext, ClientSockets, type LoadClient } from '../../../load/clients/common.ts'
import { stratifiedPhases } from '../../../load/poll-phases.ts'
import { startServer } from '../../../servers/server.ts'
import { waitFor } from '../../helpers/wait.ts'

/** every transport with a lean client (the four, socketio-ws, and whatever rows come) */
const TRANSPORTS = transportNames().filter((n) => transport(n).clients.lean !== undefined)
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
    onUpdates(updates: readonly { seq: number }[], ms: number): void
  }) {
    override onScanned(seq: number, ts: number, buf: Buffer, s: number, e: number, ms: number): boolean {
      seen.set(seq, Buffer.from(buf.subarray(s, e)))
      return super.onScanned(seq, ts, buf, s, e, ms)
    }
    override onJson(text: string, ms: number): void {
      seen.set((JSON.parse(text) as { seq: number }).seq, Buffer.from(text, 'latin1'))
      super.onJson(text, ms)
    }
    override onUpdates(updates: readonly { seq: number }[], ms: number): void {
      // socket.io-client hands over parsed objects: their seqs are recorded, not bytes of their own
      for (const u of updates) seen.set(u.seq, Buffer.alloc(0))
      super.onUpdates(updates, ms)
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
    // the clients stop before the server closes (a client still running would reconnect into its close)
    const running: LoadClient[] = []
    t.after(async () => {
      for (const c of running) c.stop()
      await server.close()
    })
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
    running.push(lean, lib)
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

test('the Socket.IO rows receive what the WebSocket row receives for the same seed: same stream, seqs and bytes', async (t) => {
  const rows = ['websocket', 'socketio-ws', 'socketio-poll']
  const params = { ...DEFAULT_PARAMS, updatesPerTick: PER_TICK, payloadBytes: PAYLOAD, clients: 2 }
  const servers = await Promise.all(
    rows.map((name) =>
      startServer({
        transport: name,
        port: 0,
        autoStart: false,
        seed: 3,
        updatesPerTick: PER_TICK,
        payloadBytes: PAYLOAD,
      }),
    ),
  )
  const clients: { label: string; client: LoadClient; seen: Seen }[] = []
  t.after(async () => {
    for (const c of clients) c.client.stop()
    await Promise.all(servers.map((s) => s.close()))
  })
  for (const [i, name] of rows.entries()) {
    const entry = transport(name)
    const server = servers[i] as (typeof servers)[number]
    for (const kind of ['lean', 'library'] as const) {
      const load = entry.clients[kind]
      if (load === undefined) continue
      const seen: Seen = new Map()
      const Client = spyOn(await load(), seen)
      clients.push({
        label: `${name} ${kind}`,
        client: new Client(contextFor(server.url, entry.path, params), 0),
        seen,
      })
    }
  }
  assert.equal(clients.length, 6, clients.map((c) => c.label).join(', '))
  await Promise.all(clients.map((c) => c.client.start()))
  // every server counts its subscribers before the first publish
  await waitFor(() => servers.every((s) => s.stats.streams === 2), 'subscribers', 5000)
  for (let i = 0; i < TICKS; i++) {
    for (const s of servers) s.source.publishTick(1_764_000_000_000 + i * 100)
    await new Promise((r) => setTimeout(r, 5))
  }
  const last = TICKS * PER_TICK
  await waitFor(() => clients.every((c) => c.client.delivery.maxSeq === last), `all at seq ${last}`, 10_000)
  const reference = (servers[0] as (typeof servers)[number]).source.since(0, 0)
  assert.equal(reference.length, last)
  for (const [i, s] of servers.entries()) {
    // same seed, same ticks: the same bytes on every server
    const mine = s.source.since(0, 0)
    for (const [k, u] of reference.entries())
      assert.ok(mine[k]?.json.equals(u.json), `${rows[i]} seq ${u.seq}`)
  }
  for (const { label, client, seen } of clients) {
    assert.equal(client.stream, 0, label)
    assert.deepEqual(
      [...seen.keys()].sort((a, b) => a - b),
      Array.from({ length: last }, (_, k) => k + 1),
      label,
    )
    assert.equal(client.delivery.delivered, last, label)
    assert.equal(client.delivery.duplicates + client.delivery.outOfOrder, 0, label)
    assert.equal(
      client.counters.corrupt + client.counters.errors,
      0,
      `${label}: ${client.counters.lastError}`,
    )
    for (const u of reference) {
      const b = seen.get(u.seq) as Buffer
      if (b.length > 0) assert.ok(b.equals(u.json), `${label}: bytes of seq ${u.seq}`)
    }
  }
  // the lean clients kept every update's bytes
  for (const label of ['websocket lean', 'socketio-ws lean', 'socketio-poll lean'])
    assert.ok(
      [...(clients.find((c) => c.label === label)?.seen.values() ?? [])].every((b) => b.length === PAYLOAD),
      label,
    )
})
