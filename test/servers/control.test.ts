/**
 * The control endpoint (`pushbench serve --control`, servers/control.ts): a real server process, read
 * over HTTP on its transport port as a generator on another host would, its counters cross-checked over
 * IPC as the orchestrator reads them.
 */
import assert from 'node:assert/strict'
import http from 'node:http'
import https from 'node:https'
import { test } from 'node:test'
import { nowMs } from '../../lib/clock.ts'
import { makeTlsCert } from '../../lib/tls-cert.ts'
import { CLOCK_PATH, CONTROL_PATH, isLoopbackHost, parseControlRequest } from '../../servers/control.ts'
import type { CounterSnapshot } from '../../servers/counters.ts'
import { type ChildServer, ipcRequest, startMain } from '../helpers/child-server.ts'
import { LongPollClient, SseClient, WsClient } from '../helpers/clients.ts'
import { HttpConnection } from '../helpers/raw-http.ts'
import { withTimeout } from '../helpers/wait.ts'

async function start(t: { after: (fn: () => Promise<void>) => void }, args: string[]): Promise<ChildServer> {
  const s = await startMain(['--port', '0', ...args], { ipc: true })
  t.after(() => s.kill())
  return s
}

async function ipcCounters(s: ChildServer): Promise<CounterSnapshot> {
  return (await ipcRequest<'counters'>(s.child, { type: 'counters' })).counters
}

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  json: Record<string, unknown>
}

/** One keep-alive connection's worth of requests to a server (http, or https trusting `ca`). */
class Control {
  private readonly agent: http.Agent
  constructor(
    private readonly base: string,
    ca?: string,
  ) {
    const o = { keepAlive: true, maxSockets: 1 }
    this.agent = base.startsWith('https:') ? new https.Agent({ ...o, ca }) : new http.Agent(o)
  }

  call(method: string, path: string, body?: string): Promise<Answer> {
    const url = new URL(path, this.base)
    const mod = url.protocol === 'https:' ? https : http
    return withTimeout(
      new Promise<Answer>((resolve, reject) => {
        const req = mod.request(url, { method, agent: this.agent }, (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (d: string) => {
            text += d
          })
          res.on('end', () => {
            try {
              resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(text) })
            } catch (err) {
              reject(new Error(`${method} ${path}: ${res.statusCode} ${text}: ${(err as Error).message}`))
            }
          })
        })
        req.on('error', reject)
        req.end(body)
      }),
      `${method} ${path}`,
      10_000,
    )
  }

  post(msg: unknown): Promise<Answer> {
    return this.call('POST', CONTROL_PATH, typeof msg === 'string' ? msg : JSON.stringify(msg))
  }

  close(): void {
    this.agent.destroy()
  }
}

test('GET /pushbench/clock: receivedMs <= sentMs, both between the local send and receive instants; no-store', async (t) => {
  const s = await start(t, ['--transport', 'sse', '--control'])
  const c = new Control(s.ready.url)
  t.after(() => c.close())
  for (let i = 0; i < 3; i++) {
    const t0 = nowMs()
    const r = await c.call('GET', CLOCK_PATH)
    const t3 = nowMs()
    assert.equal(r.status, 200)
    assert.equal(r.headers['cache-control'], 'no-store')
    assert.match(r.headers['content-type'] ?? '', /^application\/json/)
    assert.deepEqual(Object.keys(r.json).sort(), ['receivedMs', 'sentMs'])
    const { receivedMs, sentMs } = r.json as { receivedMs: number; sentMs: number }
    assert.ok(receivedMs <= sentMs, `${receivedMs} <= ${sentMs}`)
    // one host, one clock (to a few us across processes)
    assert.ok(t0 - 1 <= receivedMs && sentMs <= t3 + 1, `${t0} <= ${receivedMs} <= ${sentMs} <= ${t3}`)
  }
})

test('POST /pushbench/control answers the read-only requests as the IPC does', async (t) => {
  const s = await start(t, ['--transport', 'short-poll', '--control', '--tick-hz', '50'])
  const c = new Control(s.ready.url)
  t.after(() => c.close())

  const counters = await c.post({ type: 'counters', id: 7 })
  assert.equal(counters.status, 200)
  assert.equal(counters.json.id, 7)
  assert.equal(counters.json.type, 'counters')
  const snap = counters.json.counters as CounterSnapshot
  const viaIpc = await ipcCounters(s)
  assert.deepEqual(Object.keys(snap).sort(), Object.keys(viaIpc).sort())
  for (const k of ['atMs', 'bytesRead', 'bytesWritten', 'cpuUserUs', 'rssMaxBytes', 'lastSeq'] as const)
    assert.equal(typeof snap[k], 'number', k)
  assert.ok(snap.atMs <= viaIpc.atMs)

  // id is optional (0)
  assert.equal((await c.post({ type: 'mark' })).json.id, 0)

  // on a tick boundary: the answer waits for the first tick at or after atMs
  const atMs = nowMs() + 300
  const edge = await c.post({ type: 'counters', atMs })
  assert.equal(edge.status, 200)
  const at = (edge.json.counters as CounterSnapshot).atMs
  assert.ok(at >= atMs - 1 && at < atMs + 100, `taken at ${at}, asked for ${atMs}`)
  assert.ok(nowMs() >= atMs - 1)

  const published = await c.post({ type: 'published', fromMs: atMs - 300, toMs: atMs })
  assert.equal(published.status, 200)
  assert.equal(published.json.type, 'published')
  const perStream = published.json.perStream as number[]
  // 50 Hz, one update a tick: about 15 in the 300 ms before atMs; the same count as over IPC
  assert.ok((perStream[0] ?? 0) >= 10 && (perStream[0] ?? 0) <= 16, `${perStream[0]} published`)
  const viaIpc2 = await ipcRequest<'published'>(s.child, {
    type: 'published',
    fromMs: atMs - 300,
    toMs: atMs,
  })
  assert.deepEqual(perStream, viaIpc2.perStream)
  assert.equal(typeof published.json.lastSeq, 'number')

  const memory = await c.post({ type: 'memory' })
  assert.equal(memory.json.type, 'memory')
  assert.equal(memory.json.connections, 0, 'the control connection is not one of the transport')
  assert.ok((memory.json.rssBytes as number) > 0)

  const ready = await c.post({ type: 'ready', id: 3 })
  assert.deepEqual(ready.json, { id: 3, type: 'ready', ready: s.ready })
})

test('set-rate is 403; malformed requests are 400 naming the field; other methods 405', async (t) => {
  const s = await start(t, ['--transport', 'sse', '--control', '--tick-hz', '50'])
  const c = new Control(s.ready.url)
  t.after(() => c.close())

  const setRate = await c.post({ type: 'set-rate', tickHz: 1, updatesPerTick: 1 })
  assert.equal(setRate.status, 403)
  assert.equal(setRate.json.message, 'set-rate is not allowed over HTTP')
  assert.equal(setRate.json.field, 'type')

  const bad: [string | object, string, RegExp][] = [
    ['{"type":', 'body', /^body: is not JSON/],
    ['', 'body', /^body: is not JSON/],
    ['[1,2]', 'body', /must be a JSON object/],
    ['null', 'body', /must be a JSON object/],
    [{}, 'type', /^type: is missing; one of counters, mark, published, memory, ready$/],
    [{ type: 'reboot' }, 'type', /must be one of .*, got "reboot"/],
    [{ type: 7 }, 'type', /got 7/],
    [{ type: 'counters', atMs: 'soon' }, 'atMs', /epoch milliseconds/],
    [{ type: 'mark', atMs: -5 }, 'atMs', /epoch milliseconds/],
    [{ type: 'counters', atMs: 1e18 }, 'atMs', /ahead of the server's clock/],
    [{ type: 'published', toMs: 5 }, 'fromMs', /^fromMs: is missing/],
    [{ type: 'published', fromMs: 5 }, 'toMs', /^toMs: is missing/],
    [{ type: 'published', fromMs: 9, toMs: 5 }, 'toMs', /must not be before fromMs/],
    [{ type: 'memory', id: 'x' }, 'id', /non-negative integer/],
  ]
  for (const [body, field, message] of bad) {
    const r = await c.post(body)
    const what = JSON.stringify(body)
    assert.equal(r.status, 400, what)
    assert.equal(r.json.field, field, what)
    assert.equal(r.json.error, 'Bad Request', what)
    assert.match(r.json.message as string, message, what)
  }

  const get = await c.call('GET', CONTROL_PATH)
  assert.equal(get.status, 405)
  assert.equal(get.headers.allow, 'POST')
  assert.equal((await c.call('POST', CLOCK_PATH, '{}')).status, 405)

  // still ticking at 50 Hz: set-rate was refused, not applied
  const a = (await c.post({ type: 'counters' })).json.counters as CounterSnapshot
  await new Promise((r) => setTimeout(r, 200))
  const b = (await c.post({ type: 'counters' })).json.counters as CounterSnapshot
  assert.ok(b.lastSeq - a.lastSeq >= 5, `${b.lastSeq - a.lastSeq} ticks in 200 ms`)
})

test('without --control both paths are the server’s usual 404, for either server kind', async (t) => {
  for (const args of [
    ['--transport', 'long-poll'],
    ['--transport', 'sse', '--server', 'baseline'],
  ]) {
    const s = await start(t, args)
    const c = new Control(s.ready.url)
    t.after(() => c.close())
    const clock = await c.call('GET', CLOCK_PATH)
    assert.equal(clock.status, 404, args.join(' '))
    assert.equal(clock.json.code, 'PB_ERR_NOT_FOUND')
    assert.equal((await c.post({ type: 'counters' })).status, 404, args.join(' '))
  }
})

test('control connections are not counted: bytes, connections and requests stay as the transport left them', async (t) => {
  const s = await start(t, ['--transport', 'short-poll', '--control', '--tick-hz', '50'])
  const before = await ipcCounters(s)
  assert.equal(before.bytesRead, 0)
  assert.equal(before.connectionsTotal, 0)

  // over one keep-alive connection, closed in the middle (the closed socket must not add its bytes either)
  let c = new Control(s.ready.url)
  for (let i = 0; i < 3; i++) await c.call('GET', CLOCK_PATH)
  await c.post({ type: 'counters' })
  c.close()
  c = new Control(s.ready.url)
  t.after(() => c.close())
  const seen = (await c.post({ type: 'counters' })).json.counters as CounterSnapshot
  await c.post('not json')

  const after = await ipcCounters(s)
  for (const x of [seen, after]) {
    assert.equal(x.bytesRead, 0)
    assert.equal(x.bytesWritten, 0)
    assert.equal(x.connections, 0)
    assert.equal(x.connectionsTotal, 0)
    assert.equal(x.stats.requests, 0)
    assert.equal(x.stats.errors, 0)
  }

  // the transport's own traffic is counted as before, the control connection still open beside it
  const poll = await HttpConnection.open(s.ready.port)
  t.after(async () => poll.close())
  const res = await poll.get('/poll?since=0')
  assert.equal(res.status, 200)
  const sent = Buffer.byteLength('GET /poll?since=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  const polled = (await c.post({ type: 'counters' })).json.counters as CounterSnapshot
  assert.equal(polled.bytesRead, sent)
  assert.equal(polled.bytesWritten, res.raw.length + res.body.length)
  assert.equal(polled.connections, 1)
  assert.equal(polled.connectionsTotal, 1)
  assert.equal(polled.stats.requests, 1)
})

test('with --control every transport serves as before, its connections counted and the control one not', async (t) => {
  const open = {
    'long-poll': (port: number) => LongPollClient.open(port),
    sse: (port: number) => SseClient.open(port),
    websocket: (port: number) => WsClient.open(port),
  }
  for (const [transport, connect] of Object.entries(open)) {
    for (const kind of ['pushbench', 'baseline']) {
      const s = await start(t, ['--transport', transport, '--server', kind, '--control', '--tick-hz', '50'])
      const c = new Control(s.ready.url)
      t.after(() => c.close())
      assert.equal((await c.call('GET', CLOCK_PATH)).status, 200)
      const client = await connect(s.ready.port)
      t.after(() => client.close())
      await client.waitForSeq(2)
      const snap = (await c.post({ type: 'counters' })).json.counters as CounterSnapshot
      const what = `${transport} ${kind}`
      assert.equal(snap.connections, 1, what)
      assert.equal(snap.connectionsTotal, 1, what)
      assert.ok(snap.bytesWritten > 0, what)
      await client.close()
    }
  }
})

test('SIGTERM with a control connection open: exit 0 at once, nothing on stderr', async (t) => {
  const s = await start(t, ['--transport', 'sse', '--control'])
  const c = new Control(s.ready.url)
  t.after(() => c.close())
  await c.post({ type: 'counters' })
  const t0 = performance.now()
  s.child.kill('SIGTERM')
  assert.deepEqual(await withTimeout(s.exited, 'exit after SIGTERM', 10_000), { code: 0, signal: null })
  assert.ok(performance.now() - t0 < 3000, 'not the 5 s forced exit')
  assert.equal(s.stderr(), '')
})

test('the baseline server serves the control endpoint too, and does not count it', async (t) => {
  const s = await start(t, ['--transport', 'websocket', '--server', 'baseline', '--control'])
  const c = new Control(s.ready.url)
  t.after(() => c.close())
  const clock = await c.call('GET', CLOCK_PATH)
  assert.equal(clock.status, 200)
  const r = await c.post({ type: 'counters' })
  assert.equal(r.status, 200)
  const snap = r.json.counters as CounterSnapshot
  assert.equal(snap.bytesRead, 0)
  assert.equal(snap.stats.requests, 0)
  // the baseline's own answer to anything else
  const other = await c.call('GET', '/elsewhere')
  assert.equal(other.status, 404)
  assert.equal(other.json.code, 'PB_ERR_NOT_FOUND')
})

test('under TLS: https on the same port, and the TCP socket under it (handshake included) is not counted', async (t) => {
  const cert = await makeTlsCert()
  t.after(() => cert.remove())
  const s = await start(t, [
    '--transport',
    'sse',
    '--control',
    '--tls-key',
    cert.keyPath,
    '--tls-cert',
    cert.certPath,
  ])
  assert.match(s.ready.url, /^https:/)
  const c = new Control(s.ready.url, cert.certPem)
  t.after(() => c.close())
  assert.equal((await c.call('GET', CLOCK_PATH)).status, 200)
  const snap = (await c.post({ type: 'counters' })).json.counters as CounterSnapshot
  assert.equal(snap.bytesRead, 0)
  assert.equal(snap.bytesWritten, 0)
  assert.equal(snap.connectionsTotal, 0)
  assert.equal((await ipcCounters(s)).bytesWritten, 0)
})

test('--control on an address other than loopback warns, in one line, that anyone who reaches the port can read it', async (t) => {
  const s = await startMain(['--transport', 'sse', '--port', '0', '--host', '0.0.0.0', '--control'])
  t.after(() => s.kill())
  const lines = s.stderr().trim().split('\n')
  assert.equal(lines.length, 1, s.stderr())
  assert.match(
    lines[0] ?? '',
    /^pushbench serve: warning: --control on 0\.0\.0\.0: the control endpoint .* is readable by anyone who can reach port \d+ \(read-only\)$/,
  )
  s.child.kill('SIGTERM')
  assert.deepEqual(await withTimeout(s.exited, 'exit'), { code: 0, signal: null })

  // on loopback: nothing
  const quiet = await startMain(['--transport', 'sse', '--port', '0', '--control'])
  t.after(() => quiet.kill())
  assert.equal(quiet.stderr(), '')
})

test('isLoopbackHost and parseControlRequest', () => {
  for (const h of ['127.0.0.1', '127.3.2.1', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'])
    assert.equal(isLoopbackHost(h), true, h)
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '127.0.0.1.example.com'])
    assert.equal(isLoopbackHost(h), false, h)
  assert.deepEqual(parseControlRequest('{"type":"counters","atMs":5,"id":2}'), {
    id: 2,
    type: 'counters',
    atMs: 5,
  })
  assert.deepEqual(parseControlRequest('{"type":"published","fromMs":1,"toMs":2,"extra":true}'), {
    id: 0,
    type: 'published',
    fromMs: 1,
    toMs: 2,
  })
  assert.throws(() => parseControlRequest('{"type":"set-rate"}'), { status: 403, field: 'type' })
})
