/**
 * The resume contract of the four transports (README, "Resume"): a resume older than the ring buffer is
 * answered with what is held and a gap signal naming the seq resumed from and the first seq held
 * (`pb-gap` header, `event: gap`, a `{"type":"gap"}` message); a resume past the newest seq is refused
 * (400 with `pb-seq`, close 1008), so is a malformed one; the newest seq itself, and 0 on a server that
 * has published nothing, are fine. The load clients, lean and library, count a gap's seqs as lost
 * (never late, never corrupt) and start afresh after a refused resume.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { newHistogram } from '../../lib/latency.ts'
import { DEFAULT_PARAMS } from '../../lib/params.ts'
import { mulberry32 } from '../../lib/random.ts'
import { type BuiltinTransport, transport } from '../../lib/transports.ts'
import { type ClientContext, ClientSockets, type LoadClient } from '../../load/clients/common.ts'
import { stratifiedPhases } from '../../load/poll-phases.ts'
import { type PushbenchServer, startServer } from '../../servers/server.ts'
import type { ByteReader } from '../helpers/byte-reader.ts'
import { range } from '../helpers/clients.ts'
import { HttpConnection, httpGet, jsonBody, readChunk, readHead } from '../helpers/raw-http.ts'
import { waitFor } from '../helpers/wait.ts'
import { clientFrame, OP, readClose, readFrame, upgrade } from '../helpers/ws-frames.ts'

const TS0 = 1_764_000_000_000
const RING = 8
/** published before each test: 1..20, of which the ring holds 13..20 */
const PUBLISHED = 20
const FIRST_HELD = PUBLISHED - RING + 1
const TRANSPORTS: BuiltinTransport[] = ['short-poll', 'long-poll', 'sse', 'websocket']

const raw = new Set<ByteReader>()
const track = (r: ByteReader): ByteReader => {
  raw.add(r)
  return r
}

async function server(
  t: { after: (fn: () => Promise<void>) => void },
  name: BuiltinTransport,
  publish = PUBLISHED,
  extra: Record<string, unknown> = {},
): Promise<PushbenchServer> {
  const s = await startServer({ transport: name, port: 0, autoStart: false, ringSize: RING, ...extra })
  t.after(async () => {
    for (const r of raw) r.socket.destroy()
    raw.clear()
    await s.close()
  })
  for (let i = 0; i < publish; i++) s.source.publishTick(TS0 + i * 100)
  return s
}

const seqsOf = (body: Buffer): number[] =>
  (JSON.parse(body.toString()) as { seq: number }[]).map((u) => u.seq)

/** The SSE blocks (events, the retry field) of a stream until `n` data events came. */
async function sseBlocks(r: ByteReader, n: number): Promise<string[]> {
  let text = ''
  for (;;) {
    const blocks = text.split('\n\n').slice(0, -1)
    if (blocks.filter((b) => b.includes('data: ')).length >= n) return blocks
    text += (await readChunk(r)).data.toString('latin1')
  }
}

const MALFORMED = ['abc', '-1', '1.5', '1e3', '0x10', ' 1', '+1', '9'.repeat(16), 'x'.repeat(300)]

// ---- polling ------------------------------------------------------------------------------------

for (const name of ['short-poll', 'long-poll'] as const) {
  const path = transport(name).path
  test(`${name}: a since older than the ring gets what is held and pb-gap: from=N; first=M`, async (t) => {
    const s = await server(t, name)
    const gap = await httpGet(s.port, `${path}?since=2`)
    assert.equal(gap.status, 200)
    assert.equal(gap.headers['pb-gap'], `from=2; first=${FIRST_HELD}`)
    assert.deepEqual(seqsOf(gap.body), range(FIRST_HELD, PUBLISHED))
    // resuming from just before the oldest held loses nothing: no header
    const whole = await httpGet(s.port, `${path}?since=${FIRST_HELD - 1}`)
    assert.equal(whole.status, 200)
    assert.equal(whole.headers['pb-gap'], undefined)
    assert.deepEqual(seqsOf(whole.body), range(FIRST_HELD, PUBLISHED))
    // the answer is cached per since: the second client asking the same gets the same header
    assert.equal((await httpGet(s.port, `${path}?since=2`)).headers['pb-gap'], `from=2; first=${FIRST_HELD}`)
  })

  test(`${name}: a since past the newest seq is a 400 naming since and the newest, with pb-seq`, async (t) => {
    const s = await server(t, name)
    const started = performance.now()
    const res = await httpGet(s.port, `${path}?since=${PUBLISHED + 1}`)
    // answered at once, not held until the long-poll timeout
    assert.ok(performance.now() - started < 5000)
    assert.equal(res.status, 400)
    assert.equal(res.headers['pb-seq'], String(PUBLISHED))
    const body = jsonBody(res)
    assert.equal(body.field, 'since')
    assert.equal(body.code, 'PB_ERR_RESUME_AHEAD')
    assert.equal(body.newest, PUBLISHED)
    assert.match(
      String(body.message),
      new RegExp(`since: ${PUBLISHED + 1} is ahead of the newest seq, ${PUBLISHED}`),
    )
    assert.equal(s.stats.heldRequests, 0)
  })

  test(`${name}: malformed since values are a 400 naming since`, async (t) => {
    const s = await server(t, name)
    for (const bad of [...MALFORMED.map(encodeURIComponent), '1&since=2']) {
      const res = await httpGet(s.port, `${path}?since=${bad}`)
      assert.equal(res.status, 400, bad)
      const body = jsonBody(res)
      assert.equal(body.field, 'since', bad)
      assert.ok(String(body.message).length < 200, `the message quotes a long value cut short: ${bad}`)
    }
    assert.equal(s.stats.heldRequests, 0)
  })
}

test('long-poll: since = the newest seq is held, also 0 on a server that has published nothing', async (t) => {
  const s = await server(t, 'long-poll', 0)
  const path = transport('long-poll').path
  const c = await HttpConnection.open(s.port)
  t.after(() => c.close())
  c.send(`${path}?since=0`)
  await waitFor(() => s.stats.heldRequests === 1, 'since=0 held on a fresh server')
  s.source.publishTick(TS0)
  const first = await readResponseOf(c)
  assert.equal(first.status, 200)
  assert.deepEqual(seqsOf(first.body), [1])
  c.send(`${path}?since=1`)
  await waitFor(() => s.stats.heldRequests === 1, 'since=newest held')
  s.source.publishTick(TS0 + 100)
  assert.deepEqual(seqsOf((await readResponseOf(c)).body), [2])
  // and short polling answers the newest with a 204
  const sp = await server(t, 'short-poll', 0)
  const none = await httpGet(sp.port, '/poll?since=0')
  assert.equal(none.status, 204)
  assert.equal(none.headers['pb-seq'], '0')
})

async function readResponseOf(c: HttpConnection) {
  const { readResponse } = await import('../helpers/raw-http.ts')
  return readResponse(c.reader)
}

// ---- SSE ----------------------------------------------------------------------------------------

test('sse: a Last-Event-ID older than the ring gets event: gap (id first-1) before the events held', async (t) => {
  const s = await server(t, 'sse')
  for (const via of ['header', 'query'] as const) {
    const c = await HttpConnection.open(s.port)
    track(c.reader)
    c.send(via === 'header' ? '/sse' : '/sse?lastEventId=2', via === 'header' ? { 'Last-Event-ID': '2' } : {})
    const head = await readHead(c.reader)
    assert.equal(head.status, 200)
    const blocks = await sseBlocks(c.reader, RING + 1)
    const [retry, gap, ...events] = blocks
    assert.match(retry ?? '', /^retry: \d+$/)
    assert.equal(
      gap,
      `event: gap\nid: ${FIRST_HELD - 1}\ndata: {"type":"gap","from":2,"first":${FIRST_HELD}}`,
    )
    assert.deepEqual(
      events.map((e) => Number(/^id: (\d+)\n/.exec(e)?.[1])),
      range(FIRST_HELD, PUBLISHED),
      via,
    )
    c.close()
  }
  // no gap from just before the oldest held
  const c = await HttpConnection.open(s.port)
  track(c.reader)
  c.send('/sse', { 'Last-Event-ID': String(FIRST_HELD - 1) })
  await readHead(c.reader)
  const blocks = await sseBlocks(c.reader, RING)
  assert.equal(blocks.filter((b) => b.includes('event: gap')).length, 0)
})

test('sse: a Last-Event-ID (or lastEventId) past the newest or malformed is a 400 naming it', async (t) => {
  const s = await server(t, 'sse')
  const ahead = await httpGet(s.port, '/sse', { 'Last-Event-ID': String(PUBLISHED + 5) })
  assert.equal(ahead.status, 400)
  assert.equal(ahead.headers['pb-seq'], String(PUBLISHED))
  assert.equal(jsonBody(ahead).field, 'Last-Event-ID')
  assert.equal(jsonBody(ahead).newest, PUBLISHED)
  const q = await httpGet(s.port, `/sse?lastEventId=${PUBLISHED + 1}`)
  assert.equal(q.status, 400)
  assert.equal(jsonBody(q).field, 'lastEventId')
  for (const bad of MALFORMED) {
    // a header value's surrounding spaces are not part of it (RFC 9110 5.5): ' 1' is a good header
    const h = await httpGet(s.port, '/sse', { 'Last-Event-ID': bad === ' 1' ? '1 1' : bad })
    assert.equal(h.status, 400, bad)
    assert.equal(jsonBody(h).field, 'Last-Event-ID', bad)
    const qq = await httpGet(s.port, `/sse?lastEventId=${encodeURIComponent(bad)}`)
    assert.equal(qq.status, 400, bad)
    assert.equal(jsonBody(qq).field, 'lastEventId', bad)
  }
  // the newest itself is fine
  const ok = await HttpConnection.open(s.port)
  track(ok.reader)
  ok.send('/sse', { 'Last-Event-ID': String(PUBLISHED) })
  assert.equal((await readHead(ok.reader)).status, 200)
  assert.equal(s.stats.streams, 1)
})

// ---- WebSocket ----------------------------------------------------------------------------------

/** Text payloads of the frames read until `n` came. */
async function texts(r: ByteReader, n: number): Promise<string[]> {
  const out: string[] = []
  while (out.length < n) {
    const f = await readFrame(r)
    if (f.opcode === OP.text) out.push(f.payload.toString('latin1'))
  }
  return out
}

const seqOf = (text: string): number => (JSON.parse(text) as { seq: number }).seq

test('websocket: ?since= older than the ring gets a gap message before the updates held', async (t) => {
  const s = await server(t, 'websocket')
  const { reader, head } = await upgrade(s.port, '/ws?since=2')
  track(reader)
  assert.equal(head.status, 101)
  const [gap, ...updates] = await texts(reader, RING + 1)
  assert.deepEqual(JSON.parse(gap ?? ''), { type: 'gap', from: 2, first: FIRST_HELD })
  assert.deepEqual(updates.map(seqOf), range(FIRST_HELD, PUBLISHED))
})

test('websocket: a {"resume":SEQ} older than the ring gets a gap message, then what this connection lacks', async (t) => {
  const s = await server(t, 'websocket')
  const { reader } = await upgrade(s.port, '/ws') // from now: 21 on
  track(reader)
  reader.socket.write(clientFrame(OP.text, JSON.stringify({ resume: 3 })))
  const [gap, ...updates] = await texts(reader, RING + 1)
  assert.deepEqual(JSON.parse(gap ?? ''), { type: 'gap', from: 3, first: FIRST_HELD })
  assert.deepEqual(updates.map(seqOf), range(FIRST_HELD, PUBLISHED))
  // what the connection already had is not sent again, and a resume within what it had sends nothing
  reader.socket.write(clientFrame(OP.text, JSON.stringify({ resume: 15 })))
  s.source.publishTick(TS0 + 99_000)
  assert.deepEqual((await texts(reader, 1)).map(seqOf), [PUBLISHED + 1])
})

test('websocket: a since past the newest, or malformed, is a close 1008 whose reason names it', async (t) => {
  const s = await server(t, 'websocket')
  const ahead = await upgrade(s.port, `/ws?since=${PUBLISHED + 1}`)
  track(ahead.reader)
  assert.equal(ahead.head.status, 101)
  const close = await readClose(ahead.reader)
  assert.equal(close.code, 1008)
  assert.match(close.reason, new RegExp(`^since: ${PUBLISHED + 1} is ahead of the newest seq, ${PUBLISHED}`))
  for (const bad of MALFORMED) {
    const r = await upgrade(s.port, `/ws?since=${encodeURIComponent(bad)}`)
    track(r.reader)
    const c = await readClose(r.reader)
    assert.equal(c.code, 1008, bad)
    assert.match(c.reason, /^since: must be a non-negative integer seq/, bad)
    assert.ok(Buffer.byteLength(c.reason) <= 123, bad)
  }
  // the newest is fine: open, and the next publish arrives
  const ok = await upgrade(s.port, `/ws?since=${PUBLISHED}`)
  track(ok.reader)
  s.source.publishTick(TS0 + 99_000)
  assert.deepEqual((await texts(ok.reader, 1)).map(seqOf), [PUBLISHED + 1])
  await waitFor(() => s.stats.streams === 1, 'only the good socket held')
})

test('websocket: a resume message past the newest, malformed, or binary closes 1008 (binary 1003)', async (t) => {
  const s = await server(t, 'websocket')
  const cases: [string | Buffer, number, RegExp][] = [
    [JSON.stringify({ resume: PUBLISHED + 1 }), 1008, /^resume: 21 is ahead of the newest seq, 20/],
    [JSON.stringify({ resume: -1 }), 1008, /^resume: must be a non-negative integer seq/],
    [JSON.stringify({ resume: 1.5 }), 1008, /^resume: must be a non-negative integer seq/],
    [JSON.stringify({ resume: '3' }), 1008, /^resume: must be a non-negative integer seq/],
    [JSON.stringify({ resume: 'x'.repeat(500) }), 1008, /^resume: must be a non-negative integer seq/],
    [JSON.stringify({ since: 3 }), 1008, /^resume: a client message must be \{"resume":SEQ\}/],
    ['hello', 1008, /^resume: a client message must be/],
    ['[]', 1008, /^resume: a client message must be/],
    [Buffer.from([1, 2, 3]), 1003, /binary/],
  ]
  for (const [msg, code, reason] of cases) {
    const { reader } = await upgrade(s.port, '/ws')
    track(reader)
    reader.socket.write(clientFrame(typeof msg === 'string' ? OP.text : OP.binary, msg))
    const c = await readClose(reader)
    assert.equal(c.code, code, String(msg))
    assert.match(c.reason, reason, String(msg))
  }
})

// ---- the load clients -------------------------------------------------------------------------

function contextFor(s: PushbenchServer, path: string): ClientContext {
  return {
    base: new URL(s.url),
    path,
    streams: 1,
    params: { ...DEFAULT_PARAMS, pollIntervalMs: 20, clients: 1 },
    window: { startMs: Number.NEGATIVE_INFINITY, endMs: Number.POSITIVE_INFINITY },
    latency: newHistogram(),
    scheduleLag: newHistogram(),
    sockets: new ClientSockets(),
    pollPhase: stratifiedPhases(1, mulberry32(1)),
    verifyEvery: 1,
  }
}

/** A client that has seen up to `seq` (what it resumes from): poll clients keep their own `since`. */
function resumeFrom(c: LoadClient, seq: number): void {
  c.delivery.maxSeq = seq
  if ('since' in c) (c as unknown as { since: number }).since = seq
}

for (const name of TRANSPORTS) {
  for (const kind of ['lean', 'library'] as const) {
    test(`${name} ${kind} client: a gap is counted as lost seqs, never late, corrupt or an error`, async (t) => {
      const s = await server(t, name)
      const entry = transport(name)
      const load = entry.clients[kind]
      assert.ok(load)
      const c = new (await load())(contextFor(s, entry.path), 0)
      t.after(() => c.stop())
      resumeFrom(c, 2)
      await c.start()
      await waitFor(() => c.delivery.maxSeq === PUBLISHED, 'the updates held', 5000)
      for (let i = 0; i < 3; i++) s.source.publishTick(TS0 + (PUBLISHED + i) * 100)
      await waitFor(() => c.delivery.maxSeq === PUBLISHED + 3, 'the live updates', 5000)
      const d = c.delivery
      assert.equal(d.gapSignals, 1)
      assert.equal(d.gapSeqs, FIRST_HELD - 3, 'seqs 3..12 lost')
      assert.equal(d.delivered, RING + 3)
      assert.equal(d.outOfOrder, 0)
      assert.equal(d.duplicates, 0)
      assert.equal(c.counters.corrupt, 0)
      assert.equal(c.counters.errors, 0, c.counters.lastError)
    })

    test(`${name} ${kind} client: a resume past the newest is refused, counted, and the client starts afresh`, async (t) => {
      const s = await server(t, name)
      const entry = transport(name)
      const load = entry.clients[kind]
      assert.ok(load)
      const c = new (await load())(contextFor(s, entry.path), 0)
      t.after(() => c.stop())
      // what a client of a server that restarted holds: seqs past everything this one published
      resumeFrom(c, PUBLISHED + 100)
      await c.start().catch(() => {}) // a push client's first open is the refused one
      await waitFor(() => c.delivery.resumeRefused === 1, 'the refusal', 5000)
      // afresh: subscribed from now, then the next updates count as delivered, not as duplicates
      if (name === 'long-poll')
        await waitFor(() => s.stats.heldRequests === 1, 'a fresh long poll held', 5000)
      else if (name !== 'short-poll') await waitFor(() => s.stats.streams === 1, 'a fresh stream', 5000)
      else await waitFor(() => c.subscribed, 'a fresh poll answered', 5000)
      for (let i = 0; i < 2; i++) s.source.publishTick(TS0 + (PUBLISHED + i) * 100)
      await waitFor(() => c.delivery.maxSeq === PUBLISHED + 2, 'the updates after the refusal', 5000)
      assert.equal(c.delivery.resumeRefused, 1)
      assert.equal(c.delivery.duplicates, 0)
      assert.ok(c.delivery.delivered >= 1)
    })
  }
}
