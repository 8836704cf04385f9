import assert from 'node:assert/strict'
import { test } from 'node:test'
import { chunkOverhead, SSE_HEARTBEAT, sseEvent, sseEventLength, sseRetry } from '../../servers/frames.ts'
import { type RunningServer, startServer } from '../../servers/server.ts'
import { type ByteReader, connect } from '../helpers/byte-reader.ts'
import { range, SseClient } from '../helpers/clients.ts'
import {
  httpGet,
  jsonBody,
  type ResponseHead,
  readChunk,
  readHead,
  requestBytes,
} from '../helpers/raw-http.ts'
import { waitFor } from '../helpers/wait.ts'

const TS0 = 1_764_000_000_000
const ts = (i: number) => TS0 + i * 100.125

async function server(
  t: { after: (fn: () => Promise<void>) => void },
  extra: Record<string, unknown> = {},
): Promise<RunningServer> {
  const s = await startServer({ transport: 'sse', port: 0, autoStart: false, seed: 9, ...extra })
  t.after(() => s.close())
  return s
}

const chunked = (data: Buffer) =>
  Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')])

/** Opens `GET /sse` on a raw socket and reads the response head and the `retry:` chunk that opens every stream. */
async function openRaw(
  t: { after: (fn: () => void) => void },
  s: RunningServer,
): Promise<{ r: ByteReader; head: ResponseHead }> {
  const r = await connect(s.port)
  t.after(() => r.socket.destroy())
  r.socket.write(requestBytes('/sse'))
  const head = await readHead(r)
  assert.deepEqual((await readChunk(r)).raw, chunked(sseRetry(s.options.sseRetryMs)))
  await waitFor(() => s.stats.streams === 1, 'the stream to be registered')
  return { r, head }
}

test('per-update: one event is exactly HEX CRLF "id: N\\ndata: JSON\\n\\n" CRLF on the wire', async (t) => {
  const s = await server(t, { writePolicy: 'per-update', payloadBytes: 128 })
  const { r, head } = await openRaw(t, s)
  assert.equal(head.status, 200)
  assert.equal(head.headers['content-type'], 'text/event-stream')
  assert.equal(head.headers['cache-control'], 'no-store')
  assert.equal(head.headers['transfer-encoding'], 'chunked')

  const [u] = s.source.publishTick(ts(0))
  assert.ok(u)
  const { raw } = await readChunk(r)
  const text = raw.toString('latin1')
  // 128-byte JSON + "id: 1\ndata: " (12) + "\n\n" (2) = 142 = 0x8e
  assert.equal(text, `8e\r\nid: 1\ndata: ${u.json.toString('latin1')}\n\n\r\n`)
  assert.deepEqual(raw, chunked(sseEvent(1, u.json)))
  assert.equal(raw.length, sseEventLength(1, 128) + chunkOverhead(sseEventLength(1, 128)))
  assert.equal(r.pending.length, 0)

  // per-update with three updates a tick: three chunks, one event each
  s.source.setRate(10, 3)
  const three = s.source.publishTick(ts(1))
  for (const x of three) assert.deepEqual((await readChunk(r)).raw, chunked(sseEvent(x.seq, x.json)))
})

test('per-tick with updatesPerTick 3: one chunk carries the three events', async (t) => {
  const s = await server(t, { writePolicy: 'per-tick', updatesPerTick: 3, payloadBytes: 200 })
  const { r } = await openRaw(t, s)
  for (let tick = 0; tick < 2; tick++) {
    const us = s.source.publishTick(ts(tick))
    const { raw, data } = await readChunk(r)
    const events = Buffer.concat(us.map((u) => sseEvent(u.seq, u.json)))
    assert.deepEqual(data, events)
    assert.deepEqual(raw, chunked(events))
    const dataLength = us.reduce((n, u) => n + sseEventLength(u.seq, u.json.length), 0)
    assert.equal(raw.length, dataLength + chunkOverhead(dataLength))
    assert.deepEqual(
      data.toString('latin1').match(/^id: \d+$/gm),
      us.map((u) => `id: ${u.seq}`),
    )
  }
})

test('a stream opens with `retry: 1000\\n\\n` once, before the backlog; sseRetryMs 0 writes none', async (t) => {
  assert.equal(sseRetry(2500).toString('latin1'), 'retry: 2500\n\n')
  for (const sseRetryMs of [1000, 0]) {
    const s = await server(t, { sseRetryMs })
    const [u] = s.source.publishTick(ts(0))
    assert.ok(u)
    const r = await connect(s.port)
    t.after(() => r.socket.destroy())
    r.socket.write(requestBytes('/sse', { 'Last-Event-ID': '0' }))
    assert.equal((await readHead(r)).status, 200)
    const first = (await readChunk(r)).raw
    if (sseRetryMs > 0) {
      assert.equal(first.toString('latin1'), 'd\r\nretry: 1000\n\n\r\n')
      assert.deepEqual((await readChunk(r)).raw, chunked(sseEvent(1, u.json)))
    } else assert.deepEqual(first, chunked(sseEvent(1, u.json)), 'the backlog comes first')
    s.source.publishTick(ts(1))
    assert.doesNotMatch((await readChunk(r)).data.toString('latin1'), /retry:/, 'once per stream')
  }
})

test('comment heartbeats arrive as their own chunk', async (t) => {
  const s = await server(t, { heartbeatMs: 10 })
  const { r } = await openRaw(t, s)
  assert.deepEqual((await readChunk(r)).raw, chunked(SSE_HEARTBEAT))
})

test('resume with Last-Event-ID (header) and ?lastEventId= (query): no gap, no duplicate', async (t) => {
  for (const via of ['header', 'query'] as const) {
    const s = await server(t, { updatesPerTick: 2 })
    const a = await SseClient.open(s.port, { lastEventId: 0, via })
    for (let i = 0; i < 10; i++) s.source.publishTick(ts(i))
    await a.waitForSeq(20)
    await a.close()
    await waitFor(() => s.stats.streams === 0, 'the first stream to close')
    for (let i = 10; i < 20; i++) s.source.publishTick(ts(i)) // 21..40 while away

    const b = await SseClient.open(s.port, { lastEventId: a.log.last, via })
    t.after(() => b.close())
    await b.waitForSeq(40) // the backlog
    s.source.publishTick(ts(20))
    await b.waitForSeq(42) // then live
    assert.deepEqual([...a.log.seqs, ...b.log.seqs], range(1, 42), via)
    assert.deepEqual([...a.ids, ...b.ids], range(1, 42), via)
  }
})

test('without Last-Event-ID a stream starts from now', async (t) => {
  const s = await server(t)
  for (let i = 0; i < 5; i++) s.source.publishTick(ts(i))
  const c = await SseClient.open(s.port)
  t.after(() => c.close())
  s.source.publishTick(ts(5))
  await c.waitForSeq(6)
  assert.deepEqual(c.log.seqs, [6])
  assert.deepEqual(c.retries, [1000])
})

test('bad Last-Event-ID or lastEventId is a 400 naming the field', async (t) => {
  const s = await server(t)
  for (const bad of ['abc', '-1', '7x']) {
    const h = await httpGet(s.port, '/sse', { 'Last-Event-ID': bad })
    assert.equal(h.status, 400, bad)
    assert.equal(jsonBody(h).field, 'Last-Event-ID')
    const q = await httpGet(s.port, `/sse?lastEventId=${bad}`)
    assert.equal(q.status, 400, bad)
    assert.equal(jsonBody(q).field, 'lastEventId')
  }
  assert.equal(s.stats.streams, 0)
  assert.equal((await httpGet(s.port, '/events')).status, 404)
})

test('a client that does not read is cut past maxBufferedBytes and counted; a reading client is not', async (t) => {
  const s = await server(t, { maxBufferedBytes: 64 * 1024, payloadBytes: 16 * 1024 })
  const slow = await openRaw(t, s)
  slow.r.socket.pause() // reads nothing more: the kernel buffers fill, then the server's
  const fast = await SseClient.open(s.port)
  t.after(() => fast.close())
  await waitFor(() => s.stats.streams === 2, 'both streams')

  // bounded: 64 MiB at most, far past loopback's socket buffers (about 4 MiB were needed here)
  for (let i = 0; i < 4096 && s.stats.slowConsumerDisconnects === 0; i++) {
    s.source.publishTick(ts(i))
    await fast.waitForSeq(s.source.lastSeqOf(0))
  }
  assert.equal(s.stats.slowConsumerDisconnects, 1)
  await waitFor(() => s.stats.streams === 1, 'the slow stream to be gone')
  const cutAt = s.source.lastSeqOf(0)
  s.source.publishTick(ts(9999))
  await fast.waitForSeq(cutAt + 1)
  assert.deepEqual(fast.log.seqs, range(1, cutAt + 1))
})

test('close() ends every stream with the last chunk, then the connection', async (t) => {
  const s = await server(t)
  const c = await SseClient.open(s.port)
  t.after(() => c.close())
  s.source.publishTick(ts(0))
  await c.waitForSeq(1)
  await s.close()
  await c.ended()
  assert.ok(c.finished)
  await c.reader.end()
})
