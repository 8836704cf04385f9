/**
 * The byte model, per transport, against the bytes the suite's own framing functions and the HTTP
 * heads produce: each model is the least a delivered update must cost, so it is computed here from the
 * protocol independently and compared to the registry's model.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEFAULT_PARAMS, type ScenarioParams } from '../../../lib/params.ts'
import { transport, transportNames } from '../../../lib/transports.ts'
import { DATE_LITERAL_EXTRA, hpackIntLength, hpackStringLength, huffmanBits } from '../../../load/model/h2.ts'
import { meanDigits, pollRequestHead, pollResponseHead } from '../../../load/model/http.ts'
import type { ModelContext } from '../../../load/model/types.ts'
import { sseEvent, wsTextFrame } from '../../../servers/frames.ts'

const ctx = (path: string, seqFrom = 1, seqTo = 9): ModelContext => ({
  host: '127.0.0.1',
  port: 40123,
  path,
  seqFrom,
  seqTo,
})
const params = (p: Partial<ScenarioParams> = {}): ScenarioParams => ({ ...DEFAULT_PARAMS, ...p })
const model = (name: string, p: Partial<ScenarioParams> = {}, seqTo = 9) =>
  transport(name).model(params(p), ctx(transport(name).path, 1, seqTo))
const json = (n: number) => Buffer.alloc(n, 0x78)

test('every registered transport has a model that gives finite, non-negative bytes', () => {
  for (const name of transportNames()) {
    const m = model(name)
    for (const v of [m.clientToServer, m.serverToClient, m.perUpdate]) {
      assert.ok(Number.isFinite(v) && v >= 0, `${name}: ${JSON.stringify(m)}`)
    }
    assert.ok(m.perUpdate > DEFAULT_PARAMS.payloadBytes, `${name} costs more than the payload`)
  }
})

test('mean digits of a seq range are exact', () => {
  assert.equal(meanDigits(1, 9), 1)
  assert.equal(meanDigits(9, 10), 1.5)
  assert.equal(meanDigits(1, 100), (9 * 1 + 90 * 2 + 3) / 100)
  assert.equal(meanDigits(5, 4), 1)
  assert.equal(meanDigits(0, 9), 1) // 0 is one digit
  assert.equal(meanDigits(0, 10), 12 / 11)
})

test('WebSocket: one real text frame per update (2, 4 and 10-byte headers)', () => {
  for (const P of [76, 125, 126, 65_535, 65_536]) {
    const m = model('websocket', { payloadBytes: P })
    assert.equal(m.serverToClient, wsTextFrame(json(P)).length, `payload ${P}`)
    assert.equal(m.clientToServer, 0)
  }
})

test('SSE: the real event plus its chunk framing, per update or shared by a tick', () => {
  const P = 128
  const ev = sseEvent(5, json(P)).length // a 1-digit seq, as the window 1..9 has
  const chunk = (n: number) => n.toString(16).length + 4
  assert.equal(model('sse', { payloadBytes: P, writePolicy: 'per-update' }).perUpdate, ev + chunk(ev))
  const k = 10
  const perTick = model('sse', { payloadBytes: P, updatesPerTick: k, writePolicy: 'per-tick' }).perUpdate
  assert.equal(perTick, Math.round((ev + chunk(ev * k) / k) * 100) / 100)
  // seqs of 10 to 99 have one more digit in `id:`
  const wide = transport('sse').model(
    params({ payloadBytes: P, writePolicy: 'per-update' }),
    ctx('/sse', 10, 99),
  )
  assert.equal(wide.perUpdate, ev + 1 + chunk(ev + 1))
})

test('long polling: a request and a response head for every answer, shared by the updates of a tick', () => {
  const P = 128
  for (const k of [1, 4]) {
    const body = k * P + (k - 1) + 2
    const up = pollRequestHead('/long-poll?since=1', '127.0.0.1', 40123).length
    const down = pollResponseHead(body).length + body
    const m = model('long-poll', { payloadBytes: P, updatesPerTick: k })
    assert.equal(m.clientToServer, Math.round((up / k) * 100) / 100)
    assert.equal(m.serverToClient, Math.round((down / k) * 100) / 100)
  }
  // the heads are the real ones: `Connection: keep-alive` both ways, fastify's four response headers
  assert.match(
    pollRequestHead('/x', 'h', 1),
    /^GET \/x HTTP\/1\.1\r\nHost: h:1\r\nConnection: keep-alive\r\n\r\n$/,
  )
  assert.equal(pollResponseHead(130).split('\r\n').length, 8)
})

test('short polling: cost follows the poll rate, not the updates', () => {
  const slow = model('short-poll', { tickHz: 1, pollIntervalMs: 250 })
  const fast = model('short-poll', { tickHz: 100, pollIntervalMs: 250 })
  // 4 polls a second: at 1 update/s, four request heads and three 204s pay for one update
  assert.ok(slow.perUpdate > 4 * fast.perUpdate, `${slow.perUpdate} vs ${fast.perUpdate}`)
  const up = pollRequestHead('/poll?since=1', '127.0.0.1', 40123).length
  assert.equal(slow.clientToServer, 4 * up)
})

test('a transport path is in the model: the same transport on a longer path costs more per poll', () => {
  const p = params()
  const short = transport('long-poll').model(p, ctx('/lp'))
  const long = transport('long-poll').model(p, ctx('/a-much-longer-path'))
  assert.equal(Math.round((long.clientToServer - short.clientToServer) * 100) / 100, 16)
})

const sioEvent = (k: number, P: number): Buffer =>
  Buffer.from(`42["u",${Array.from({ length: k }, () => json(P).toString()).join(',')}]`)

test('Socket.IO over WebSocket: 42["u",JSON] in one text frame; per-tick, one event carries the tick', () => {
  for (const P of [76, 117, 118, 128, 65_527, 65_528]) {
    const m = model('socketio-ws', { payloadBytes: P, writePolicy: 'per-update' })
    assert.equal(m.serverToClient, wsTextFrame(sioEvent(1, P)).length, `payload ${P}`)
    assert.equal(m.clientToServer, 0)
  }
  const k = 5
  const perTick = model('socketio-ws', { payloadBytes: 128, updatesPerTick: k, writePolicy: 'per-tick' })
  assert.equal(perTick.serverToClient, Math.round((wsTextFrame(sioEvent(k, 128)).length / k) * 100) / 100)
  const perUpdate = model('socketio-ws', { payloadBytes: 128, updatesPerTick: k, writePolicy: 'per-update' })
  assert.equal(perUpdate.serverToClient, wsTextFrame(sioEvent(1, 128)).length)
  // 8 bytes of Socket.IO framing beyond the bare WebSocket row; 2 more where they push the frame header up
  assert.equal(model('socketio-ws').perUpdate - model('websocket').perUpdate, 8)
  const at = (name: string) => model(name, { payloadBytes: 118 }).perUpdate
  assert.equal(at('socketio-ws') - at('websocket'), 8 + 2)
})

test('Socket.IO long polling: the request and answer heads socket.io-client and engine.io write, per tick', () => {
  // as captured on loopback (socket.io-client 4.8 in Node, engine.io 6.6 behind fastify's keep-alive)
  const c = ctx('/socket.io-poll/')
  const get =
    `GET /socket.io-poll/?EIO=4&transport=polling&t=dty0kkci&sid=2FJLz07IhKxLnkMdAAAA HTTP/1.1\r\n` +
    `User-Agent: node-XMLHttpRequest\r\nAccept: */*\r\nHost: ${c.host}:${c.port}\r\nConnection: keep-alive\r\n\r\n`
  const answer = (len: number) =>
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: ${len}\r\n` +
    `cache-control: no-store\r\nDate: Sun, 06 Dec 2026 05:09:47 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=72\r\n\r\n`
  for (const k of [1, 3]) {
    const tick = model('socketio-poll', { payloadBytes: 128, updatesPerTick: k, writePolicy: 'per-tick' })
    const body = sioEvent(k, 128).length
    assert.equal(tick.clientToServer, Math.round((get.length / k) * 100) / 100)
    assert.equal(tick.serverToClient, Math.round(((answer(body).length + body) / k) * 100) / 100)
    // per update: k packets joined by \x1e in the one answer
    const each = model('socketio-poll', { payloadBytes: 128, updatesPerTick: k, writePolicy: 'per-update' })
    const joined = k * sioEvent(1, 128).length + (k - 1)
    assert.equal(each.serverToClient, Math.round(((answer(joined).length + joined) / k) * 100) / 100)
  }
})

test('HPACK Huffman lengths: the RFC 7541 Appendix C strings', () => {
  // C.4 and C.6: each string's Huffman-coded length in bytes, as printed in the RFC
  const vectors: [string, number][] = [
    ['www.example.com', 12],
    ['no-cache', 6],
    ['custom-key', 8],
    ['custom-value', 9],
    ['302', 2],
    ['307', 3],
    ['private', 5],
    ['gzip', 3],
    ['Mon, 21 Oct 2013 20:13:21 GMT', 22],
    ['https://www.example.com', 17],
    ['foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1', 45],
  ]
  for (const [s, n] of vectors) assert.equal(Math.ceil(huffmanBits(s) / 8), n, s)
  // a literal is raw when Huffman is not shorter (nghttp2's choice): a one-digit pb-seq is 1 + 1
  assert.equal(hpackStringLength('7'), 2)
  assert.equal(hpackStringLength('130'), 1 + 2)
  assert.equal(hpackIntLength(28, 4), 2)
  assert.equal(hpackIntLength(4, 4), 1)
  assert.equal(hpackIntLength(1337, 5), 3) // RFC 7541 C.1.2
})

test('HTTP/2 rows: the frames a session carries per update (as read off a live session, test/servers/h2.test.ts)', () => {
  const P = 128
  const ev = sseEvent(5, json(P)).length
  // SSE: one DATA frame (9 bytes of header) per write instead of a chunk's hex size and CRLFs
  assert.equal(model('sse-h2', { payloadBytes: P, writePolicy: 'per-update' }).perUpdate, ev + 9)
  const k = 10
  const perTick = model('sse-h2', { payloadBytes: P, updatesPerTick: k }).perUpdate
  assert.equal(perTick, Math.round((ev + 9 / k) * 100) / 100)
  // long polling, 1-digit seqs: request HEADERS 9 + GET, :scheme, :authority (1 each) + `:path` literal
  // (`/h2/long-poll?since=1`: 1 + 1 + 16 Huffman) = 30; answer HEADERS 9 + :status, content-type, date (1 each)
  // + content-length literal (2 + 1 + 2) = 17, DATA 9 + 130, an empty DATA ending the stream 9; a new date
  // literal (+23) once a second, at 10 answers a second
  const lp = model('long-poll-h2')
  assert.equal(lp.clientToServer, 30)
  assert.equal(lp.serverToClient, 17 + 9 + 130 + 9 + 2.3)
  assert.equal(DATE_LITERAL_EXTRA, 23)
  // HPACK takes the heads from ~150 bytes each way to ~30: HTTP/2 costs less per poll answer than HTTP/1.1
  assert.ok(lp.perUpdate < model('long-poll').perUpdate - 150, `${lp.perUpdate}`)
  const sp = model('short-poll-h2')
  assert.ok(sp.perUpdate < model('short-poll').perUpdate, `${sp.perUpdate}`)
  // 4 polls a second at 1 tick a second: three 204s of 12 bytes, one of them with a new pb-seq (+2)
  const slow = model('short-poll-h2', { tickHz: 1, pollIntervalMs: 250 })
  const up = 9 + 3 + 1 + 1 + Math.ceil(huffmanBits('/h2/poll?since=1') / 8)
  assert.equal(slow.clientToServer, 4 * up)
  assert.equal(slow.serverToClient, 17 + 9 + 130 + 9 + 3 * 12 + 2 + 23)
})
