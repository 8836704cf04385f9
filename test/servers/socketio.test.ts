/**
 * The Socket.IO rows' server (servers/socketio.ts) on loopback: a raw Engine.IO v4 WebSocket reads the
 * exact bytes (handshake, `42["u",JSON]` framing, gap, refusals); socket.io-client checks the same over both
 * rows, long polling included; the chat upstream (`send` with an acknowledgement) goes to a small real inbox.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { io, type Socket } from 'socket.io-client'
import { PbOptionError } from '../../lib/errors.ts'
import { newHistogram } from '../../lib/latency.ts'
import { DEFAULT_PARAMS } from '../../lib/params.ts'
import { mulberry32 } from '../../lib/random.ts'
import { transport as transportEntry } from '../../lib/transports.ts'
import { ClientSockets } from '../../load/clients/common.ts'
import { stratifiedPhases } from '../../load/poll-phases.ts'
import { createApp } from '../../servers/app.ts'
import type { ChatInbox } from '../../servers/chat-inbox.ts'
import { newTransportStats, SocketCounters } from '../../servers/counters.ts'
import type { Message } from '../../servers/feed.ts'
import { wsFrameHeaderLength } from '../../servers/frames.ts'
import { resolveServerOptions } from '../../servers/options.ts'
import { type PushbenchServer, startServer } from '../../servers/server.ts'
import { parseAuth, socketio } from '../../servers/socketio.ts'
import type { ByteReader } from '../helpers/byte-reader.ts'
import { waitFor, withTimeout } from '../helpers/wait.ts'
import { clientFrame, OP, readFrame, upgrade, wsOpen } from '../helpers/ws-frames.ts'

const TS0 = 1_764_000_000_000
const ROWS = [
  { name: 'socketio-ws', path: '/socket.io/', transports: ['websocket'] },
  { name: 'socketio-poll', path: '/socket.io-poll/', transports: ['polling'] },
] as const

async function server(
  t: { after: (fn: () => Promise<void>) => void },
  transport = 'socketio-ws',
  extra: Record<string, unknown> = {},
): Promise<PushbenchServer> {
  const s = await startServer({ transport, port: 0, autoStart: false, seed: 7, ...extra })
  t.after(async () => {
    // raw sockets do not answer a close frame: dropped before the server closes
    for (const r of raw) r.socket.destroy()
    raw.clear()
    await s.close()
  })
  return s
}

const raw = new Set<ByteReader>()

/** An Engine.IO v4 session on a raw WebSocket, past its open packet; returns the reader and the open. */
async function eio(s: PushbenchServer): Promise<ByteReader> {
  const r = await wsOpen(s.port, '/socket.io/?EIO=4&transport=websocket')
  raw.add(r)
  const open = await readFrame(r)
  assert.equal(open.opcode, OP.text)
  const o = JSON.parse(open.payload.toString().slice(1)) as { sid: string; pingInterval: number }
  assert.equal(open.payload.toString()[0], '0')
  assert.equal(o.pingInterval, s.options.pingIntervalMs)
  return r
}

const text = async (r: ByteReader): Promise<string> => (await readFrame(r)).payload.toString('latin1')

test('raw Engine.IO: auth in CONNECT, backlog then live, each update framed as 42["u",JSON] with the feed bytes', async (t) => {
  const s = await server(t)
  for (let i = 0; i < 3; i++) s.source.publishTick(TS0 + i * 100)
  const r = await eio(s)
  r.socket.write(clientFrame(OP.text, '40{"stream":0,"since":1}'))
  assert.match(await text(r), /^40\{"sid":"[\w-]+"\}$/)
  const held = s.source.since(0, 0)
  // the backlog (seqs 2 and 3): per-tick, one event per... backlog, carrying both updates
  const backlog = await readFrame(r)
  assert.equal(
    backlog.payload.toString('latin1'),
    `42["u",${(held[1] as Message).json.toString('latin1')},${(held[2] as Message).json.toString('latin1')}]`,
  )
  await waitFor(() => s.stats.streams === 1, 'the subscriber counted')
  s.source.publishTick(TS0 + 300)
  const live = await readFrame(r)
  const u = s.source.since(0, 3)[0] as Message
  // exactly the frame header + 42["u", + the feed's JSON + ]: the JSON is never re-serialised
  const payload = Buffer.concat([Buffer.from('42["u",'), u.json, Buffer.from(']')])
  assert.ok(live.payload.equals(payload), live.payload.toString())
  assert.equal(live.raw.length, wsFrameHeaderLength(payload.length) + payload.length)
  assert.equal(live.fin, true)
})

test('a resume older than the ring: a gap event first, then the oldest updates held', async (t) => {
  const s = await server(t, 'socketio-ws', { ringSize: 4 })
  for (let i = 0; i < 10; i++) s.source.publishTick(TS0 + i * 100)
  const r = await eio(s)
  r.socket.write(clientFrame(OP.text, '40{"since":2}'))
  assert.match(await text(r), /^40/)
  assert.equal(await text(r), '42["gap",{"type":"gap","from":2,"first":7}]')
  const backlog = await text(r)
  assert.ok(backlog.startsWith('42["u",{"seq":7,'), backlog)
})

test('a bad auth is refused with CONNECT_ERROR naming the field; the connection stays up', async (t) => {
  const s = await server(t)
  s.source.publishTick(TS0)
  const r = await eio(s)
  const cases: [string, string, string][] = [
    ['{"since":"x"}', 'since', 'PB_ERR_OPTION'],
    ['{"since":-1}', 'since', 'PB_ERR_OPTION'],
    ['{"since":99}', 'since', 'PB_ERR_RESUME_AHEAD'],
    ['{"stream":1}', 'stream', 'PB_ERR_OPTION'],
    ['{"stream":0.5}', 'stream', 'PB_ERR_OPTION'],
  ]
  for (const [auth, field, code] of cases) {
    r.socket.write(clientFrame(OP.text, `40${auth}`))
    const m = await text(r)
    assert.ok(m.startsWith('44'), m)
    const e = JSON.parse(m.slice(2)) as { message: string; data: { field: string; code: string } }
    assert.equal(e.data.field, field, auth)
    assert.equal(e.data.code, code, auth)
    assert.ok(e.message.startsWith(`${field}: `), e.message)
  }
  assert.equal(s.stats.streams, 0)
  assert.equal(s.stats.errors, cases.length)
  // parseAuth itself: absent fields are stream 0, from now
  assert.deepEqual(
    parseAuth(undefined, 1, () => 5),
    { stream: 0, since: 5 },
  )
  assert.deepEqual(
    parseAuth({ stream: 1, since: 3 }, 2, () => 5),
    { stream: 1, since: 3 },
  )
})

test('pings: the server pings `2` every pingIntervalMs, a pong `3` keeps the session', async (t) => {
  const s = await server(t, 'socketio-ws', { pingIntervalMs: 100 })
  const r = await eio(s)
  r.socket.write(clientFrame(OP.text, '40'))
  assert.match(await text(r), /^40/)
  for (let i = 0; i < 2; i++) {
    const ping = await readFrame(r)
    assert.equal(ping.payload.toString(), '2')
    assert.equal(ping.raw.length, 3)
    r.socket.write(clientFrame(OP.text, '3'))
  }
  assert.equal(s.stats.streams, 1)
})

test('fastify still answers its own routes beside the Socket.IO path', async (t) => {
  const s = await server(t)
  const res = await fetch(`${s.url}/nope`)
  assert.equal(res.status, 404)
  // a poll on the WebSocket-only row is Engine.IO's refusal, not fastify's 404
  const poll = await fetch(`${s.url}/socket.io/?EIO=4&transport=polling`)
  assert.equal(poll.status, 400)
  assert.match(await poll.text(), /Transport unknown/)
})

for (const row of ROWS) {
  test(`${row.name}: socket.io-client gets backlog and live updates, the same JSON; refused auth names the field`, async (t) => {
    const s = await server(t, row.name, { updatesPerTick: 2 })
    for (let i = 0; i < 2; i++) s.source.publishTick(TS0 + i * 100)
    const connect = (auth: object): Socket =>
      io(s.url, {
        path: row.path,
        transports: [...row.transports],
        auth,
        forceNew: true,
        reconnection: false,
      })
    const c = connect({ since: 1 })
    t.after(() => {
      c.close()
    })
    const got: unknown[] = []
    c.on('u', (...us: unknown[]) => got.push(...us))
    await withTimeout(new Promise<void>((r) => c.once('connect', () => r())), 'connect')
    await waitFor(() => got.length === 3, 'the backlog')
    s.source.publishTick(TS0 + 200)
    await waitFor(() => got.length === 5, 'the live tick')
    for (const u of s.source.since(0, 1)) {
      const g = got.find((x) => (x as { seq: number }).seq === u.seq)
      assert.deepEqual(g, JSON.parse(u.json.toString()))
    }
    const bad = connect({ stream: 'x' })
    t.after(() => {
      bad.close()
    })
    const err = await withTimeout(
      new Promise<Error & { data?: { field?: string } }>((r) => bad.once('connect_error', r)),
      'connect_error',
    )
    assert.equal(err.data?.field, 'stream')
    assert.match(err.message, /^stream: /)
  })
}

test('per-update policy: one event (one frame) per update', async (t) => {
  const s = await server(t, 'socketio-ws', { updatesPerTick: 3, writePolicy: 'per-update' })
  const r = await eio(s)
  r.socket.write(clientFrame(OP.text, '40'))
  assert.match(await text(r), /^40/)
  await waitFor(() => s.stats.streams === 1, 'subscribed')
  s.source.publishTick(TS0)
  for (const u of s.source.since(0, 0)) {
    assert.equal(await text(r), `42["u",${u.json.toString('latin1')}]`)
  }
})

test('close: the server disconnects every socket (41), then stops', async () => {
  const s = await startServer({ transport: 'socketio-ws', port: 0, autoStart: false })
  const r = await eio(s)
  raw.delete(r)
  r.socket.write(clientFrame(OP.text, '40'))
  assert.match(await text(r), /^40/)
  const closing = s.close()
  assert.equal(await text(r), '41')
  r.socket.destroy()
  await withTimeout(closing, 'server close')
})

/** A small real inbox for the test: the chat workload's own lives on another branch (servers/chat-inbox.ts). */
function testInbox(publish: (room: number, body: Buffer) => number): ChatInbox {
  return {
    accept(body) {
      const m = JSON.parse(body.toString()) as { room?: unknown }
      if (typeof m !== 'object' || m === null) throw new PbOptionError('body', 'must be a JSON object')
      if (m.room !== 0) throw new PbOptionError('room', `no room ${JSON.stringify(m.room)}`)
      return { stream: 0, seq: publish(0, body) }
    },
  }
}

/** A Socket.IO row's server with a chat inbox (`received` collects what it took), listening on loopback. */
async function chatServer(
  t: { after: (fn: () => Promise<void>) => void },
  transport: 'socketio-ws' | 'socketio-poll',
): Promise<{ url: string; path: string; received: Buffer[] }> {
  const options = resolveServerOptions({ transport, port: 0, autoStart: false })
  const app = createApp()
  const received: Buffer[] = []
  const chat = testInbox((_room, body) => received.push(body))
  const feed = { streams: 1, lastSeqOf: () => 0, since: () => [], onPublish: () => () => {} }
  const path = transportEntry(transport).path
  socketio(app, { feed, path, options, stats: newTransportStats(), sockets: new SocketCounters(), chat })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => app.close())
  const port = (app.server.address() as { port: number }).port
  return { url: `http://127.0.0.1:${port}`, path, received }
}

test('chat: a `send` event is acknowledged with {seq, stream}; a refusal acks {error, field}', async (t) => {
  const { url, received } = await chatServer(t, 'socketio-ws')
  const c = io(url, {
    path: '/socket.io/',
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
  })
  t.after(async () => {
    c.close()
  })
  await withTimeout(new Promise<void>((r) => c.once('connect', () => r())), 'connect')
  const msg = { room: 0, from: 3, id: 1, ts: TS0, pad: 'xx' }
  const ack = await withTimeout(c.emitWithAck('send', msg), 'the ack')
  assert.deepEqual(ack, { seq: 1, stream: 0 })
  assert.deepEqual(JSON.parse((received[0] as Buffer).toString()), msg)
  const refused = await withTimeout(c.emitWithAck('send', { ...msg, room: 9 }), 'the refusal')
  assert.equal(refused.field, 'room')
  assert.match(refused.error, /^room: /)
})

for (const row of ['socketio-ws', 'socketio-poll'] as const) {
  for (const kind of ['lean', 'library'] as const) {
    test(`chat: the ${row} ${kind} client's send() is done on the acknowledgement; a refusal is an error`, async (t) => {
      const { url, path, received } = await chatServer(t, row)
      const load = transportEntry(row).clients[kind]
      assert.ok(load)
      const Client = await load()
      const client = new Client(
        {
          base: new URL(url),
          path,
          streams: 1,
          params: DEFAULT_PARAMS,
          window: { startMs: Number.NEGATIVE_INFINITY, endMs: Number.POSITIVE_INFINITY },
          latency: newHistogram(),
          scheduleLag: newHistogram(),
          sockets: new ClientSockets(),
          pollPhase: stratifiedPhases(2, mulberry32(1)),
          verifyEvery: 1,
        },
        0,
      )
      t.after(async () => client.stop())
      await withTimeout(client.start(), 'start')
      assert.ok(client.send, `${row} ${kind} sends on its connection`)
      const send = (body: object): Promise<Error | undefined> =>
        withTimeout(
          new Promise((r) => client.send?.(Buffer.from(JSON.stringify(body)), r)),
          'the acknowledgement',
        )
      const msg = { room: 0, from: 1, id: 7, ts: TS0, pad: 'é' }
      assert.equal(await send(msg), undefined)
      assert.equal(await send({ ...msg, id: 8 }), undefined)
      assert.deepEqual(
        received.map((b) => JSON.parse(b.toString())),
        [msg, { ...msg, id: 8 }],
      )
      const err = await send({ ...msg, room: 4 })
      assert.match(String(err?.message), /^room: /)
    })
  }
}

/**
 * socket.io-client's long polling in Node (xmlhttprequest-ssl) does not notice a poll's connection cut
 * under it (no error reaches engine.io-client; its ping timeout, pingInterval + pingTimeout, is the
 * backstop): the polling row's drop is checked with the lean client only.
 */
const DROP_KINDS = { 'socketio-ws': ['lean', 'library'], 'socketio-poll': ['lean'] } as const

for (const row of ['socketio-ws', 'socketio-poll'] as const) {
  test(`${row}: after every connection is cut, the clients resume with since: nothing missed or repeated`, async (t) => {
    const s = await server(t, row, { updatesPerTick: 2 })
    const entry = transportEntry(row)
    const kinds = DROP_KINDS[row]
    const clients = await Promise.all(
      kinds.map(async (kind) => {
        const Client = await (entry.clients[kind] as NonNullable<(typeof entry.clients)['lean']>)()
        return new Client(
          {
            base: new URL(s.url),
            path: entry.path,
            streams: 1,
            params: DEFAULT_PARAMS,
            window: { startMs: Number.NEGATIVE_INFINITY, endMs: Number.POSITIVE_INFINITY },
            latency: newHistogram(),
            scheduleLag: newHistogram(),
            sockets: new ClientSockets(),
            pollPhase: stratifiedPhases(2, mulberry32(1)),
            verifyEvery: 1,
          },
          0,
        )
      }),
    )
    // the clients stop with the test (the server's close must not wait on them either way)
    t.after(async () => {
      for (const c of clients) c.stop()
    })
    await Promise.all(clients.map((c) => c.start()))
    await waitFor(() => s.stats.streams === kinds.length, 'subscribed')
    for (let i = 0; i < 5; i++) s.source.publishTick(TS0 + i * 100)
    await waitFor(() => clients.every((c) => c.delivery.maxSeq === 10), 'seq 10')
    assert.ok(s.dropAll() >= kinds.length)
    // published while the clients are away: the resume fills it from the ring
    for (let i = 5; i < 10; i++) s.source.publishTick(TS0 + i * 100)
    await waitFor(() => clients.every((c) => c.counters.reconnects >= 1), 'reconnected', 5000)
    await waitFor(() => s.stats.streams === kinds.length, 'subscribed again', 5000)
    s.source.publishTick(TS0 + 1000)
    await waitFor(() => clients.every((c) => c.delivery.maxSeq === 22), 'seq 22', 5000)
    for (const c of clients) {
      assert.equal(c.delivery.delivered, 22)
      assert.equal(c.delivery.duplicates + c.delivery.outOfOrder, 0)
    }
  })
}

test('socketio-ws: a client that stops reading is cut past maxBufferedBytes and counted', async (t) => {
  const s = await server(t, 'socketio-ws', { payloadBytes: 65_536, maxBufferedBytes: 256 * 1024 })
  const r = await eio(s)
  r.socket.write(clientFrame(OP.text, '40'))
  assert.match(await text(r), /^40/)
  await waitFor(() => s.stats.streams === 1, 'subscribed')
  r.socket.pause()
  // far more than the kernel's socket buffers on loopback hold
  for (let i = 0; i < 400 && s.stats.slowConsumerDisconnects === 0; i++) s.source.publishTick(TS0 + i)
  assert.equal(s.stats.slowConsumerDisconnects, 1)
  await waitFor(() => s.stats.streams === 0, 'the subscriber gone')
})

test('socketio-poll: a session that stops polling is cut once its queued packets pass maxBufferedBytes', async (t) => {
  const s = await server(t, 'socketio-poll', { payloadBytes: 4096, maxBufferedBytes: 64 * 1024 })
  const open = await fetch(`${s.url}/socket.io-poll/?EIO=4&transport=polling`)
  const sid = (/"sid":"([^"]+)"/.exec(await open.text()) as RegExpExecArray)[1]
  const q = `${s.url}/socket.io-poll/?EIO=4&transport=polling&sid=${sid}`
  assert.equal(await (await fetch(q, { method: 'POST', body: '40' })).text(), 'ok')
  await waitFor(() => s.stats.streams === 1, 'subscribed')
  // no poll held: every tick is queued in the session's writeBuffer
  for (let i = 0; i < 100 && s.stats.slowConsumerDisconnects === 0; i++) s.source.publishTick(TS0 + i)
  assert.equal(s.stats.slowConsumerDisconnects, 1)
  assert.equal(s.stats.streams, 0)
  // the session is gone: its next poll is refused
  assert.equal((await fetch(q)).status, 400)
})

test('origins: a page on another origin is refused unless allowOrigin names it (WebSocket upgrade and polls)', async (t) => {
  const ws = await server(t, 'socketio-ws')
  const refused = await upgrade(ws.port, '/socket.io/?EIO=4&transport=websocket', {
    Origin: 'http://evil.example',
  })
  // engine.io answers every refused upgrade 400 (not 403 as the WebSocket row); its text says why
  assert.equal(refused.head.status, 400)
  const why = (await refused.reader.end()).toString()
  assert.match(why, /origin http:\/\/evil\.example is not allowed; start the server with --allow-origin/)
  const poll = await server(t, 'socketio-poll', { allowOrigin: ['http://ok.example'] })
  const url = `${poll.url}/socket.io-poll/?EIO=4&transport=polling`
  const bad = await fetch(url, { headers: { Origin: 'http://evil.example' } })
  assert.equal(bad.status, 403)
  const ok = await fetch(url, { headers: { Origin: 'http://ok.example' } })
  assert.equal(ok.status, 200)
  assert.equal(ok.headers.get('access-control-allow-origin'), 'http://ok.example')
  assert.match(await ok.text(), /^0\{"sid":/)
  // no Origin (not a browser's cross-origin request), or the server's own: as usual
  assert.equal((await fetch(url)).status, 200)
})
