/**
 * RemoteServer (load/remote-server.ts): a real `pushbench serve --control` reached over HTTP, as a run
 * with --target reaches a server on another host.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { test } from 'node:test'
import { nowMs } from '../../lib/clock.ts'
import { PbError, PbOptionError } from '../../lib/errors.ts'
import { makeTlsCert } from '../../lib/tls-cert.ts'
import { parseTarget, RemoteServer } from '../../load/remote-server.ts'
import type { ServerReply } from '../../servers/ipc.ts'
import { type ChildServer, startMain } from '../helpers/child-server.ts'
import { HttpConnection } from '../helpers/raw-http.ts'

async function start(t: { after: (fn: () => Promise<void>) => void }, args: string[]): Promise<ChildServer> {
  const s = await startMain(['--port', '0', ...args])
  t.after(() => s.kill())
  return s
}

async function connect(t: { after: (fn: () => Promise<void>) => void }, target: string, ca?: string) {
  const r = await RemoteServer.connect(target, ca === undefined ? {} : { ca })
  t.after(() => r.stop())
  return r
}

test('connect: the ready line, with the url as reached from here; the transport answers at that url', async (t) => {
  const s = await start(t, ['--transport', 'short-poll', '--control'])
  // reached by name rather than the address it printed
  const r = await connect(t, `http://localhost:${s.ready.port}`)
  assert.deepEqual(r.printed, s.ready)
  assert.equal(r.ready.url, `http://localhost:${s.ready.port}`)
  assert.equal(r.ready.host, 'localhost')
  assert.equal(r.ready.port, s.ready.port)
  assert.equal(r.ready.transport, 'short-poll')
  assert.equal(r.ready.pid, s.ready.pid)
  const url = new URL(r.ready.url)
  const c = await HttpConnection.open(Number(url.port))
  t.after(async () => c.close())
  assert.ok([200, 204].includes((await c.get('/poll')).status))
})

test('request: counters (now and on a tick), mark, published, memory as over IPC; set-rate rejected', async (t) => {
  const s = await start(t, ['--transport', 'sse', '--control', '--tick-hz', '50'])
  const r = await connect(t, s.ready.url)
  const now = await r.request<ServerReply>({ type: 'counters' })
  assert.equal(now.type, 'counters')
  assert.ok(now.type === 'counters' && now.counters.bytesRead === 0 && now.counters.connectionsTotal === 0)

  // both edges of a window asked for at once, as a run does, and then (an interrupted window) an edge due
  // before the second: neither waits behind a request held on the server
  const t0 = nowMs()
  const edge0 = r.request<ServerReply>({ type: 'mark', atMs: t0 + 100 })
  const edge1 = r.request<ServerReply>({ type: 'counters', atMs: t0 + 500 })
  const a = await edge0
  const cut = await r.request<ServerReply>({ type: 'counters', atMs: t0 + 250 })
  const b = await edge1
  assert.ok(a.type === 'counters' && b.type === 'counters' && cut.type === 'counters')
  assert.ok(a.counters.atMs >= t0 + 99 && a.counters.atMs < t0 + 250, `${a.counters.atMs - t0}`)
  // held behind the second edge it would have been taken at t0 + 500 or later
  assert.ok(cut.counters.atMs >= t0 + 249 && cut.counters.atMs < t0 + 450, `${cut.counters.atMs - t0}`)
  assert.ok(b.counters.atMs >= t0 + 499 && b.counters.atMs < t0 + 650, `${b.counters.atMs - t0}`)

  const pub = await r.request<ServerReply>({
    type: 'published',
    fromMs: a.counters.atMs,
    toMs: b.counters.atMs,
  })
  assert.equal(pub.type, 'published')
  assert.ok(pub.type === 'published' && (pub.perStream[0] ?? 0) >= 12, JSON.stringify(pub))

  const mem = await r.request<ServerReply>({ type: 'memory' })
  assert.ok(mem.type === 'memory' && mem.connections === 0 && mem.rssBytes > 0)

  await assert.rejects(r.request({ type: 'set-rate', tickHz: 1, updatesPerTick: 1 }), (e: unknown) => {
    assert.ok(e instanceof PbError)
    assert.match(e.message, /answered 403 to set-rate: set-rate is not allowed over HTTP/)
    return true
  })
  await assert.rejects(r.request({ type: 'published' }), /answered 400 to published: fromMs: is missing/)
  // the control connections were none of the transport's
  const after = await r.request<ServerReply>({ type: 'counters' })
  assert.ok(
    after.type === 'counters' && after.counters.bytesWritten === 0 && after.counters.connections === 0,
  )
})

test('request: a timeout rejects with a PbError, and the next request still goes through', async (t) => {
  const s = await start(t, ['--transport', 'websocket', '--control', '--tick-hz', '20'])
  const r = await connect(t, s.ready.url)
  await assert.rejects(
    r.request({ type: 'counters', atMs: nowMs() + 2000 }, 100),
    (e: unknown) =>
      e instanceof PbError && /did not answer POST \/pushbench\/control in 100 ms/.test(e.message),
  )
  const ok = await r.request<ServerReply>({ type: 'counters' })
  assert.equal(ok.type, 'counters')
})

test('https: trusting the server’s certificate', async (t) => {
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
  const r = await connect(t, s.ready.url, cert.certPem)
  assert.equal(r.ready.url, s.ready.url)
  const c = await r.request<ServerReply>({ type: 'counters' })
  assert.ok(c.type === 'counters' && c.counters.bytesRead === 0)
  // without the certificate: a clear error, not a hang
  await assert.rejects(RemoteServer.connect(s.ready.url), (e: unknown) => {
    assert.ok(e instanceof PbError)
    assert.match(
      e.message,
      /^https:\/\/127\.0\.0\.1:\d+: TLS: .*self-signed.*: trust the server's certificate/,
    )
    return true
  })
})

test('connect: without --control, not answering, or not http(s): errors that say so', async (t) => {
  const plain = await start(t, ['--transport', 'sse'])
  await assert.rejects(RemoteServer.connect(plain.ready.url), (e: unknown) => {
    assert.ok(e instanceof PbError)
    assert.equal(
      e.message.split(' (')[0],
      `${plain.ready.url} has no control endpoint: start it with \`pushbench serve --control\``,
    )
    return true
  })
  const base = await start(t, ['--transport', 'websocket', '--server', 'baseline'])
  await assert.rejects(RemoteServer.connect(base.ready.url), /has no control endpoint/)

  // a port nothing listens on
  const free = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })
  await assert.rejects(RemoteServer.connect(`http://127.0.0.1:${free}`), (e: unknown) => {
    assert.ok(e instanceof PbError)
    assert.match(e.message, /^http:\/\/127\.0\.0\.1:\d+ does not answer: .*ECONNREFUSED/)
    return true
  })

  for (const bad of [
    'ws://127.0.0.1:8080',
    'ftp://h:1',
    '127.0.0.1:8080',
    'http://h:1/path',
    'http://h:1/?q=1',
    'nonsense',
  ]) {
    await assert.rejects(RemoteServer.connect(bad), (e: unknown) => {
      assert.ok(e instanceof PbOptionError, bad)
      assert.equal(e.field, '--target')
      return true
    })
  }
  assert.equal(parseTarget('https://[::1]:8443/').origin, 'https://[::1]:8443')
})
