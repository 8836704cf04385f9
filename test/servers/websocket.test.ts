import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import { constants, inflateRawSync } from 'node:zlib'
import { wsTextFrame } from '../../servers/frames.ts'
import { type RunningServer, startServer } from '../../servers/server.ts'
import type { ByteReader } from '../helpers/byte-reader.ts'
import { range, WsClient } from '../helpers/clients.ts'
import { httpGet, jsonBody } from '../helpers/raw-http.ts'
import { waitFor } from '../helpers/wait.ts'
import {
  clientFrame,
  closePayload,
  OP,
  RFC_ACCEPT,
  RFC_KEY,
  readClose,
  readFrame,
  upgrade,
  wsOpen,
} from '../helpers/ws-frames.ts'

const TS0 = 1_764_000_000_000
const ts = (i: number) => TS0 + i * 100.125

/** Raw sockets of the running test: dropped before the server closes (they would not answer its close frame). */
const raw = new Set<ByteReader>()
const track = (r: ByteReader): ByteReader => {
  raw.add(r)
  return r
}

async function server(
  t: { after: (fn: () => Promise<void>) => void },
  extra: Record<string, unknown> = {},
): Promise<RunningServer> {
  const s = await startServer({ transport: 'websocket', port: 0, autoStart: false, seed: 11, ...extra })
  t.after(async () => {
    for (const r of raw) r.socket.destroy()
    raw.clear()
    await s.close()
  })
  return s
}

/** A raw WebSocket, dropped after the test. The server registers it before it writes the 101. */
async function open(s: RunningServer, path = '/ws'): Promise<ByteReader> {
  return track(await wsOpen(s.port, path))
}

test('RFC 6455 handshake: the sample key gets 101 and the sample accept value', async (t) => {
  const s = await server(t)
  assert.equal(
    createHash('sha1').update(`${RFC_KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64'),
    RFC_ACCEPT,
  )
  const { reader, head } = await upgrade(s.port)
  track(reader)
  assert.equal(head.status, 101)
  assert.match(head.raw.toString('latin1'), /^HTTP\/1\.1 101 Switching Protocols\r\n/)
  assert.equal(head.headers.upgrade?.toLowerCase(), 'websocket')
  assert.equal(head.headers.connection?.toLowerCase(), 'upgrade')
  assert.equal(head.headers['sec-websocket-accept'], RFC_ACCEPT)
  // permessage-deflate is off by default: no extension negotiated even when offered
  const offered = await upgrade(s.port, '/ws', { 'Sec-WebSocket-Extensions': 'permessage-deflate' })
  track(offered.reader)
  assert.equal(offered.head.status, 101)
  assert.equal(offered.head.headers['sec-websocket-extensions'], undefined)
})

test('a missing key or an unsupported version gets a 4xx, and the server keeps serving', async (t) => {
  const s = await server(t)
  const cases: [string, Record<string, string | undefined>, number][] = [
    ['missing key', { 'Sec-WebSocket-Key': undefined }, 400],
    ['malformed key', { 'Sec-WebSocket-Key': 'not-a-key' }, 400],
    ['version 8 (a pre-RFC draft)', { 'Sec-WebSocket-Version': '8' }, 426],
    ['version 14', { 'Sec-WebSocket-Version': '14' }, 426],
    ['missing version', { 'Sec-WebSocket-Version': undefined }, 400],
  ]
  for (const [name, headers, status] of cases) {
    const { reader, head } = await upgrade(s.port, '/ws', headers)
    assert.equal(head.status, status, name)
    if (status === 426) assert.equal(head.headers['sec-websocket-version'], '13', name)
    await reader.end(`the server to close after a ${head.status}`)
  }
  assert.equal(s.stats.streams, 0)
  const r = await open(s)
  s.source.publishTick(ts(0))
  assert.equal((await readFrame(r)).opcode, OP.text)
})

test('an upgrade on a wrong path is a 404; a bad since is a close 1008 naming the field', async (t) => {
  const s = await server(t)
  const wrong = await upgrade(s.port, '/socket')
  assert.equal(wrong.head.status, 404)
  await wrong.reader.end()
  // refused after the handshake: a page's WebSocket can read a close reason, not a refused handshake's status
  const bad = await upgrade(s.port, '/ws?since=abc')
  track(bad.reader)
  assert.equal(bad.head.status, 101)
  const close = await readClose(bad.reader)
  assert.equal(close.code, 1008)
  assert.match(close.reason, /^since: /)
  assert.equal(jsonBody(await httpGet(s.port, '/nope')).code, 'PB_ERR_NOT_FOUND')
  assert.equal(s.stats.streams, 0)
})

test('server text frames: 2-byte header under 126 bytes, 4-byte from 126, unmasked, the shared frame', async (t) => {
  for (const [payloadBytes, headerLength] of [
    [100, 2],
    [1024, 4],
  ] as const) {
    const s = await server(t, { payloadBytes })
    const r = await open(s)
    const [u] = s.source.publishTick(ts(0))
    assert.ok(u)
    const f = await readFrame(r)
    assert.equal(f.raw[0], 0x81, 'FIN + text')
    assert.equal(f.masked, false)
    assert.equal((f.raw[1] as number) & 0x80, 0, 'mask bit 0')
    assert.equal(f.headerLength, headerLength)
    if (headerLength === 2) assert.equal(f.raw[1], payloadBytes)
    else {
      assert.equal(f.raw[1], 126)
      assert.equal(f.raw.readUInt16BE(2), payloadBytes)
    }
    assert.equal(f.raw.length, headerLength + payloadBytes)
    assert.deepEqual(f.payload, u.json)
    assert.deepEqual(f.raw, wsTextFrame(u.json))
  }
})

test('a client ping gets a pong with the same payload', async (t) => {
  const s = await server(t)
  const r = await open(s)
  r.socket.write(clientFrame(OP.ping, 'are you there?'))
  const f = await readFrame(r)
  assert.equal(f.opcode, OP.pong)
  assert.equal(f.fin, true)
  assert.equal(f.masked, false)
  assert.equal(f.payload.toString(), 'are you there?')
})

test('a client close frame gets a close frame back, then the TCP connection ends', async (t) => {
  const s = await server(t)
  const r = await open(s)
  r.socket.write(clientFrame(OP.close, closePayload(1000, 'bye')))
  const f = await readFrame(r)
  assert.equal(f.opcode, OP.close)
  assert.equal(f.masked, false)
  assert.equal(f.payload.readUInt16BE(0), 1000)
  assert.equal((await r.end()).length, 0)
  await waitFor(() => s.stats.streams === 0, 'the server to drop the stream')
})

test('invalid UTF-8 in a text frame closes with 1007', async (t) => {
  const s = await server(t)
  const r = await open(s)
  r.socket.write(clientFrame(OP.text, Buffer.from([0x7b, 0xc3, 0x28, 0x7d])))
  assert.equal((await readClose(r)).code, 1007)
  await r.end()
})

test('a client message over maxClientMessageBytes closes with 1009', async (t) => {
  const s = await server(t, { maxClientMessageBytes: 64 })
  const r = await open(s)
  r.socket.write(clientFrame(OP.text, JSON.stringify({ resume: 1, pad: 'x'.repeat(64) })))
  assert.equal((await readClose(r)).code, 1009)
  await r.end()
  // a message of exactly the limit is fine (a resume with padding; nothing to fill)
  const ok = await open(s)
  const resume = JSON.stringify({ resume: 0, pad: '' })
  ok.socket.write(clientFrame(OP.text, resume.replace('""', `"${'x'.repeat(64 - resume.length)}"`)))
  ok.socket.write(clientFrame(OP.ping, 'still open'))
  assert.equal((await readFrame(ok)).opcode, OP.pong)
})

test('resume with ?since=SEQ at connect: no gap, no duplicate', async (t) => {
  const s = await server(t, { updatesPerTick: 2 })
  const a = await WsClient.open(s.port, 0)
  for (let i = 0; i < 10; i++) s.source.publishTick(ts(i))
  await a.waitForSeq(20)
  await a.close()
  await waitFor(() => s.stats.streams === 0, 'the first socket to close')
  for (let i = 10; i < 20; i++) s.source.publishTick(ts(i)) // 21..40 while away

  const b = await WsClient.open(s.port, a.log.last)
  t.after(() => b.close())
  await b.waitForSeq(40)
  s.source.publishTick(ts(20))
  await b.waitForSeq(42)
  assert.deepEqual([...a.log.seqs, ...b.log.seqs], range(1, 42))
})

test('resume with a {"resume":SEQ} message: fills only what this connection has not had', async (t) => {
  const s = await server(t, { updatesPerTick: 2 })
  const a = await WsClient.open(s.port)
  for (let i = 0; i < 10; i++) s.source.publishTick(ts(i))
  await a.waitForSeq(20)
  await a.close()
  await waitFor(() => s.stats.streams === 0, 'the first socket to close')
  for (let i = 10; i < 20; i++) s.source.publishTick(ts(i)) // 21..40 while away

  const b = await WsClient.open(s.port) // from now: 41 on
  t.after(() => b.close())
  b.resume(a.log.last)
  await b.waitForSeq(40)
  s.source.publishTick(ts(20))
  await b.waitForSeq(42)
  // asking again for what it already has sends nothing twice
  b.resume(a.log.last)
  b.resume(30)
  s.source.publishTick(ts(21))
  await b.waitForSeq(44)
  assert.deepEqual([...a.log.seqs, ...b.log.seqs], range(1, 44))
})

test('a client that does not read is cut past maxBufferedBytes and counted; a reading client is not', async (t) => {
  const s = await server(t, { maxBufferedBytes: 64 * 1024, payloadBytes: 16 * 1024 })
  const slow = await open(s)
  slow.socket.pause()
  const fast = await WsClient.open(s.port)
  t.after(() => fast.close())
  await waitFor(() => s.stats.streams === 2, 'both sockets')

  // bounded: 64 MiB at most, far past loopback's socket buffers (about 4 MiB were needed here)
  for (let i = 0; i < 4096 && s.stats.slowConsumerDisconnects === 0; i++) {
    s.source.publishTick(ts(i))
    await fast.waitForSeq(s.source.lastSeqOf(0))
  }
  assert.equal(s.stats.slowConsumerDisconnects, 1)
  await waitFor(() => s.stats.streams === 1, 'the slow socket to be gone')
  const cutAt = s.source.lastSeqOf(0)
  s.source.publishTick(ts(9999))
  await fast.waitForSeq(cutAt + 1)
  assert.deepEqual(fast.log.seqs, range(1, cutAt + 1))
})

test('ping/pong keep-alive: a peer that answers stays, a peer that does not is terminated', async (t) => {
  const s = await server(t, { pingIntervalMs: 10 })
  const live = await WsClient.open(s.port)
  t.after(() => live.close())
  const dead = await open(s)
  const ping = await readFrame(dead)
  assert.equal(ping.opcode, OP.ping)
  assert.equal(ping.masked, false)
  await dead.end('the server to terminate the peer that did not answer its ping')
  await waitFor(() => s.stats.streams === 1, 'the dead peer to be dropped')
  await waitFor(() => live.pings >= 5, 'five pings answered')
  assert.equal(live.closeCode, undefined)
  assert.equal(live.reader.ended, false)
  s.source.publishTick(ts(0))
  await live.waitForSeq(1)
})

test('permessage-deflate (an option, off by default): negotiated, and frames are compressed (RSV1)', async (t) => {
  const s = await server(t, { perMessageDeflate: true, payloadBytes: 512 })
  const { reader, head } = await upgrade(s.port, '/ws', { 'Sec-WebSocket-Extensions': 'permessage-deflate' })
  track(reader)
  assert.equal(head.status, 101)
  assert.match(head.headers['sec-websocket-extensions'] ?? '', /^permessage-deflate/)
  const [u] = s.source.publishTick(ts(0))
  assert.ok(u)
  const f = await readFrame(reader)
  assert.equal((f.raw[0] as number) & 0x40, 0x40, 'RSV1: compressed')
  assert.ok(f.payload.length < u.json.length)
  // RFC 7692 7.2.2: the sender strips the 00 00 ff ff a sync flush ends with
  const inflated = inflateRawSync(Buffer.concat([f.payload, Buffer.from([0x00, 0x00, 0xff, 0xff])]), {
    finishFlush: constants.Z_SYNC_FLUSH,
  })
  assert.deepEqual(inflated, u.json)
})

test('close() sends close 1001 to every socket, then the connection ends', async (t) => {
  const s = await server(t)
  const clients = await Promise.all([WsClient.open(s.port), WsClient.open(s.port)])
  t.after(() => Promise.all(clients.map((c) => c.close())).then(() => undefined))
  s.source.publishTick(ts(0))
  await Promise.all(clients.map((c) => c.waitForSeq(1)))
  await s.close()
  for (const c of clients) assert.equal(await c.closedByServer(), 1001)
})

test('socket byte counters equal what a raw WebSocket client wrote and read, closed sockets included', async (t) => {
  const s = await server(t, { payloadBytes: 300 })
  const r = track(await wsOpen(s.port))
  for (let i = 0; i < 5; i++) s.source.publishTick(ts(i))
  for (let i = 0; i < 5; i++) assert.equal((await readFrame(r)).opcode, OP.text)
  r.socket.write(clientFrame(OP.ping, 'p'))
  assert.equal((await readFrame(r)).opcode, OP.pong)
  r.socket.write(clientFrame(OP.text, JSON.stringify({ resume: 5 }))) // client bytes; nothing to fill
  await waitFor(() => s.counters().bytesRead === r.socket.bytesWritten, 'server bytesRead (live socket)')
  assert.equal(s.counters().bytesWritten, r.socket.bytesRead)

  r.socket.write(clientFrame(OP.close, closePayload(1000)))
  assert.equal((await readClose(r)).code, 1000)
  await r.end()
  await r.closed
  await waitFor(() => s.counters().connections === 0, 'the server socket to close')
  const c = s.counters()
  assert.equal(c.bytesRead, r.socket.bytesWritten)
  assert.equal(c.bytesWritten, r.socket.bytesRead)
})
