/**
 * What HTTP clients and proxies expect of the four servers: a wrong method on a served path is a 405 with
 * `Allow`, a plain GET on the WebSocket path a 426 with `Upgrade: websocket`, `OPTIONS` a 204 with
 * `Allow`; and a request that never finishes its head (a slowloris) is dropped with a 408 after the
 * header timeout while other clients are served, held long polls and open streams included.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type BuiltinTransport, transport } from '../../lib/transports.ts'
import { HEADERS_TIMEOUT_MS } from '../../servers/http-settings.ts'
import { PAGE_PATH } from '../../servers/page.ts'
import { type PushbenchServer, startServer } from '../../servers/server.ts'
import { type ByteReader, connect } from '../helpers/byte-reader.ts'
import { SseClient, WsClient } from '../helpers/clients.ts'
import { HttpConnection, jsonBody, readResponse, requestBytes } from '../helpers/raw-http.ts'
import { waitFor } from '../helpers/wait.ts'
import { upgradeHeaders } from '../helpers/ws-frames.ts'

const TS0 = 1_764_000_000_000
const HTTP_TRANSPORTS: BuiltinTransport[] = ['short-poll', 'long-poll', 'sse']

async function server(
  t: { after: (fn: () => Promise<void>) => void },
  name: BuiltinTransport,
  extra: Record<string, unknown> = {},
): Promise<PushbenchServer> {
  const s = await startServer({ transport: name, port: 0, autoStart: false, ...extra })
  t.after(() => s.close())
  return s
}

/** One request with any method on a fresh connection (a body when `body` is given). */
async function request(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
) {
  const r = await connect(port)
  try {
    const h = body === undefined ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) }
    r.socket.write(requestBytes(path, h, method) + (body ?? ''))
    // a HEAD answer has a Content-Length and no body
    if (method === 'HEAD') {
      const { readHead } = await import('../helpers/raw-http.ts')
      return { ...(await readHead(r)), body: Buffer.alloc(0) }
    }
    return await readResponse(r)
  } finally {
    r.socket.destroy()
  }
}

for (const name of HTTP_TRANSPORTS) {
  const path = transport(name).path
  test(`${name}: a wrong method on ${path} is a 405 with Allow; OPTIONS is a 204 with Allow`, async (t) => {
    const s = await server(t, name)
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const res = await request(s.port, method, path, { 'Content-Type': 'application/json' }, '{}')
      assert.equal(res.status, 405, method)
      assert.equal(res.headers.allow, 'GET, HEAD, OPTIONS', method)
      assert.equal(jsonBody(res).code, 'PB_ERR_METHOD', method)
      assert.match(String(jsonBody(res).message), new RegExp(`${path} does not take ${method}`))
    }
    // with a query too
    assert.equal((await request(s.port, 'DELETE', `${path}?since=0`)).status, 405)
    const options = await request(s.port, 'OPTIONS', path)
    assert.equal(options.status, 204)
    assert.equal(options.headers.allow, 'GET, HEAD, OPTIONS')
    // an unknown path is still a 404, whatever the method
    assert.equal((await request(s.port, 'POST', '/nope', {}, '{}')).status, 404)
    assert.equal((await request(s.port, 'OPTIONS', '/nope')).status, 404)
  })
}

test('websocket: a plain GET /ws is a 426 with Upgrade: websocket; other methods 405 with Allow', async (t) => {
  const s = await server(t, 'websocket')
  const plain = await request(s.port, 'GET', '/ws')
  assert.equal(plain.status, 426)
  assert.equal(plain.headers.upgrade, 'websocket')
  assert.equal(plain.headers.connection, 'Upgrade')
  assert.equal(plain.headers['sec-websocket-version'], '13')
  assert.equal(jsonBody(plain).code, 'PB_ERR_UPGRADE')
  // with upgrade headers but another method: refused before the handshake, same Allow
  for (const headers of [{}, upgradeHeaders()]) {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await request(s.port, method, '/ws', headers)
      assert.equal(res.status, 405, `${method} ${JSON.stringify(headers)}`)
      assert.equal(res.headers.allow, 'GET, OPTIONS', method)
      assert.equal(jsonBody(res).code, 'PB_ERR_METHOD', method)
    }
  }
  // HEAD is not a way to open a WebSocket either
  const head = await request(s.port, 'HEAD', '/ws')
  assert.equal(head.status, 405)
  assert.equal(head.headers.allow, 'GET, OPTIONS')
  const options = await request(s.port, 'OPTIONS', '/ws')
  assert.equal(options.status, 204)
  assert.equal(options.headers.allow, 'GET, OPTIONS')
  // and the real upgrade still works
  const ws = await WsClient.open(s.port)
  t.after(() => ws.close())
  s.source.publishTick(TS0)
  await ws.waitForSeq(1)
  assert.equal(s.stats.streams, 1)
})

test("the page's path: 405 with Allow, OPTIONS 204", async (t) => {
  const s = await server(t, 'sse')
  const post = await request(s.port, 'POST', PAGE_PATH, {}, 'x')
  assert.equal(post.status, 405)
  assert.equal(post.headers.allow, 'GET, HEAD, OPTIONS')
  const options = await request(s.port, 'OPTIONS', PAGE_PATH)
  assert.equal(options.status, 204)
  assert.equal(options.headers.allow, 'GET, HEAD, OPTIONS')
})

test('the header timeout is a stated setting: 15 s by default, checked on the node server', async (t) => {
  assert.equal(HEADERS_TIMEOUT_MS, 15_000)
  const s = await server(t, 'short-poll')
  assert.equal(s.httpServer.headersTimeout, 15_000)
  assert.equal(s.httpServer.requestTimeout, 0, 'no request timer: held polls and streams are never cut')
  const custom = await server(t, 'short-poll', { headersTimeoutMs: 1500 })
  assert.equal(custom.httpServer.headersTimeout, 1500)
})

/** A slowloris: a request head that never ends, one header byte a second. */
function slowloris(r: ByteReader, everyMs = 1000): { stop: () => void } {
  r.socket.write('GET /poll HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')
  const timer = setInterval(() => {
    if (!r.socket.destroyed && r.socket.writable) r.socket.write('a')
  }, everyMs)
  return { stop: () => clearInterval(timer) }
}

for (const name of ['short-poll', 'long-poll', 'sse', 'websocket'] as const) {
  test(`${name}: a slowloris is dropped with 408 after the header timeout; others are served, held ones kept`, async (t) => {
    const timeoutMs = 1500
    const s = await server(t, name, { headersTimeoutMs: timeoutMs, longPollTimeoutMs: 60_000 })
    const path = transport(name).path
    // a long-lived client opened first: it must outlive the header timeout
    let check: () => Promise<void>
    if (name === 'long-poll') {
      const held = await HttpConnection.open(s.port)
      t.after(() => held.close())
      held.send(`${path}?since=0`)
      await waitFor(() => s.stats.heldRequests === 1, 'the long poll held')
      check = async () => {
        assert.equal(s.stats.heldRequests, 1, 'still held past the header timeout')
        s.source.publishTick(TS0)
        const res = await readResponse(held.reader)
        assert.equal(res.status, 200)
      }
    } else if (name === 'sse') {
      const sse = await SseClient.open(s.port)
      t.after(() => sse.close())
      check = async () => {
        s.source.publishTick(TS0)
        await sse.waitForSeq(1)
      }
    } else if (name === 'websocket') {
      const ws = await WsClient.open(s.port)
      t.after(() => ws.close())
      check = async () => {
        s.source.publishTick(TS0)
        await ws.waitForSeq(1)
        assert.equal(ws.closeCode, undefined)
      }
    } else {
      check = async () => {
        s.source.publishTick(TS0)
      }
    }
    const loris = await connect(s.port)
    t.after(() => loris.socket.destroy())
    const silent = await connect(s.port) // connects and says nothing
    t.after(() => silent.socket.destroy())
    const started = performance.now()
    const drip = slowloris(loris)
    t.after(() => drip.stop())
    // meanwhile a normal client is served (a short poll: answered at once)
    const normal = await HttpConnection.open(s.port)
    t.after(() => normal.close())
    if (name === 'short-poll') assert.equal((await normal.get(`${path}?since=0`)).status, 204)
    else assert.equal((await normal.get('/pushbench-page.js')).status, 200)

    const answer = await loris.end('the server to drop the slowloris', 10_000)
    const elapsed = performance.now() - started
    drip.stop()
    assert.match(answer.toString('latin1'), /^HTTP\/1\.1 408 Request Timeout\r\n/)
    assert.ok(elapsed >= timeoutMs - 100, `not before the timeout (${elapsed.toFixed(0)} ms)`)
    assert.ok(elapsed < timeoutMs + 5000, `within seconds of it (${elapsed.toFixed(0)} ms)`)
    // the silent connection too
    const silentAnswer = await silent.end('the server to drop the silent connection', 10_000)
    assert.match(silentAnswer.toString('latin1'), /^(HTTP\/1\.1 408 |$)/)
    await check()
    // and the server keeps serving
    if (name === 'short-poll') assert.equal((await normal.get(`${path}?since=0`)).status, 200)
    else assert.equal((await normal.get('/pushbench-page.js')).status, 200)
  })
}
