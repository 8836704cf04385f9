/**
 * A server out of file descriptors (servers/descriptors.ts): the real server of each transport, started
 * under `prlimit --nofile=128:128`, flooded with more idle TCP connections than it can hold. It must stay
 * up, keep serving the connection it already held, count the connections it turned away, answer its
 * counters (an RSS sample needs a descriptor of its own), and serve a new client once the flood is gone.
 * In-process: the pause after an accept error, a failed RSS sample, and the process's policy for errors
 * nothing caught.
 */
import assert from 'node:assert/strict'
import { existsSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Transport } from '../../lib/transports.ts'
import { newTransportStats, RssSampler } from '../../servers/counters.ts'
import { ACCEPT_PAUSE_MS, connectionCap, FD_RESERVE, guardDescriptors } from '../../servers/descriptors.ts'
import { type ChildServer, ipcRequest, startMain } from '../helpers/child-server.ts'
import { LongPollClient, ShortPollClient, SseClient, WsClient } from '../helpers/clients.ts'
import { tempDir } from '../helpers/load-cli.ts'
import { waitFor, withTimeout } from '../helpers/wait.ts'

const NOFILE = 128
/** more than a server under NOFILE can hold */
const FLOOD = 200
const hasPrlimit = existsSync('/usr/bin/prlimit')

/** A client of the transport that is being served: `served` resolves once it got something new. */
interface Held {
  served(): Promise<void>
  close(): Promise<void> | void
}

async function openClient(transport: string, port: number): Promise<Held> {
  switch (transport) {
    case 'short-poll': {
      const c = await ShortPollClient.open(port)
      await c.poll()
      return {
        // a poll on the kept-alive connection is answered (200 with updates, within a few ticks)
        served: () =>
          withTimeout(
            (async () => {
              while ((await c.poll()) === 0) await new Promise((r) => setTimeout(r, 20))
            })(),
            'a poll answered with updates',
          ),
        close: () => c.close(),
      }
    }
    case 'long-poll': {
      const c = await LongPollClient.open(port)
      return { served: () => c.waitForSeq(c.last + 2), close: () => c.close() }
    }
    case 'sse': {
      const c = await SseClient.open(port)
      return { served: () => c.waitForSeq(c.log.last + 2), close: () => c.close() }
    }
    default: {
      const c = await WsClient.open(port)
      return { served: () => c.waitForSeq(c.log.last + 2), close: () => c.close() }
    }
  }
}

async function counters(s: ChildServer) {
  const r = await ipcRequest<'counters'>(s.child, { type: 'counters' })
  assert.equal(r.type, 'counters', JSON.stringify(r))
  return r.counters
}

/** `n` raw TCP connections that never send a byte; resolves once each connected or failed */
async function flood(port: number, n: number): Promise<net.Socket[]> {
  const sockets = Array.from({ length: n }, () => net.connect({ host: '127.0.0.1', port }))
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.once('connect', () => resolve())
          s.once('error', () => resolve())
        }),
    ),
  )
  for (const s of sockets) s.on('error', () => {})
  return sockets
}

for (const transport of ['short-poll', 'long-poll', 'sse', 'websocket'] as Transport[]) {
  test(`${transport} under ulimit -n ${NOFILE}: ${FLOOD} idle connections turned away and counted, the held one served, a new one served after`, {
    skip: !hasPrlimit && 'needs prlimit (util-linux)',
  }, async (t) => {
    const s = await startMain(['--transport', transport, '--port', '0', '--tick-hz', '20'], {
      ipc: true,
      nofile: NOFILE,
    })
    t.after(() => s.kill())
    const port = s.ready.port
    const held = await openClient(transport, port)
    t.after(() => held.close())

    const sockets = await flood(port, FLOOD)
    t.after(() => {
      for (const x of sockets) x.destroy()
    })
    // the server holds what its limit allows less its reserve, and turns the rest away
    await waitFor(() => s.child.exitCode === null, 'the server to be running')
    // every one of them either held or turned away (the held client's connection is one more)
    let c = await counters(s)
    const deadline = Date.now() + 5000
    while (c.connections + c.stats.acceptErrors < FLOOD + 1 && Date.now() < deadline) c = await counters(s)
    assert.equal(c.connections + c.stats.acceptErrors, FLOOD + 1, JSON.stringify(c))
    assert.ok(c.stats.acceptErrors > 0, `acceptErrors ${c.stats.acceptErrors}`)
    assert.ok(c.connections < NOFILE - FD_RESERVE, `holds ${c.connections}`)
    // its RSS samples still find a descriptor: none skipped, the peak read
    assert.equal(c.stats.fdExhausted, 0)
    assert.ok(c.rssMaxBytes > 0)

    // a second of being full, then: still up, and the connection it held still served
    await new Promise((r) => setTimeout(r, 1000))
    assert.equal(s.child.exitCode, null, s.stderr())
    await held.served()

    // the flood gone, a new client is served
    for (const x of sockets) x.destroy()
    const deadline2 = Date.now() + 5000
    while ((await counters(s)).connections > 1 && Date.now() < deadline2)
      await new Promise((r) => setTimeout(r, 50))
    const fresh = await openClient(transport, port)
    t.after(() => fresh.close())
    await fresh.served()
    assert.equal(s.child.exitCode, null, s.stderr())
    assert.equal(s.stderr(), '')
  })
}

test('the connections a server holds: its soft limit less what it has open and the reserve; no cap when unlimited', () => {
  assert.equal(connectionCap(1024, 26), 1024 - 26 - FD_RESERVE)
  assert.equal(connectionCap(20, 26), 1)
  assert.equal(connectionCap(Number.POSITIVE_INFINITY, 26), undefined)
})

test('EMFILE from accept: counted, accepting stops for a moment while held connections are served, then resumes', async (t) => {
  const stats = newTransportStats()
  const server = net.createServer((sock) => sock.on('data', (d) => sock.write(d)))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const guard = guardDescriptors(server, stats, { soft: 1_000_000 })
  t.after(() => {
    guard.stop()
    server.close()
  })
  const { port } = server.address() as net.AddressInfo
  const heldSock = net.connect({ host: '127.0.0.1', port })
  await new Promise((r) => heldSock.once('connect', r))
  t.after(() => heldSock.destroy())

  // what libuv hands Node when its reserve-descriptor trick fails too
  server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' }))
  assert.equal(stats.acceptErrors, 1)
  const refused = await new Promise<string>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port })
    s.once('connect', () => {
      s.destroy()
      resolve('connected')
    })
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
  })
  assert.equal(refused, 'ECONNREFUSED')
  // the held connection is served meanwhile
  heldSock.write('ping')
  const echo = await withTimeout(
    new Promise<string>((r) => heldSock.once('data', (d) => r(d.toString()))),
    'the echo',
  )
  assert.equal(echo, 'ping')

  // listening again on the same port after the pause
  await new Promise((r) => setTimeout(r, ACCEPT_PAUSE_MS + 100))
  const again = net.connect({ host: '127.0.0.1', port })
  t.after(() => again.destroy())
  await withTimeout(new Promise((r) => again.once('connect', r)), 'a connection after the pause')
  // other errors are not swallowed
  assert.throws(() => server.emit('error', Object.assign(new Error('boom'), { code: 'EPERM' })), /boom/)
})

test('an RSS sample that finds no descriptor is skipped and counted; the peak stays the last one read', (t) => {
  const stats = newTransportStats()
  const real = process.memoryUsage.rss
  t.after(() => {
    process.memoryUsage.rss = real
  })
  const rss = new RssSampler(stats, 1_000_000)
  t.after(() => rss.stop())
  const peak = rss.sample()
  assert.ok(peak > 0)
  process.memoryUsage.rss = () => {
    throw Object.assign(new Error('EMFILE: too many open files, uv_resident_set_memory'), { code: 'EMFILE' })
  }
  assert.equal(rss.sample(), peak)
  rss.mark()
  assert.equal(stats.fdExhausted, 2)
})

/** A function, as source for an --import module: runs `fn` once the process has an uncaughtException handler. */
const ONCE_SERVING =
  "((fn) => { const t = setInterval(() => { if (process.listenerCount('uncaughtException') > 0) { clearInterval(t); fn() } }, 20) })"

test('the server process: an uncaught EMFILE or ENFILE is counted and it serves on; any other uncaught error ends it with exit 1', async (t) => {
  const dir = tempDir(t)
  const resource = join(dir, 'resource.mjs')
  // each throws once the server process has installed its handlers (a timer alone races a slow start)
  writeFileSync(
    resource,
    `;${ONCE_SERVING}(() => { throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' }) });\n` +
      `;${ONCE_SERVING}(() => { Promise.reject(Object.assign(new Error('ENFILE: file table overflow'), { code: 'ENFILE' })) });\n`,
  )
  const args = ['--transport', 'sse', '--port', '0', '--tick-hz', '20']
  const s = await startMain(args, { ipc: true, nodeArgs: ['--import', resource] })
  t.after(() => s.kill())
  const deadline = Date.now() + 5000
  let c = await counters(s)
  while (c.stats.fdExhausted < 2 && Date.now() < deadline) c = await counters(s)
  assert.equal(c.stats.fdExhausted, 2)
  const sse = await openClient('sse', s.ready.port)
  t.after(() => sse.close())
  await sse.served()
  assert.equal(s.child.exitCode, null)

  const bug = join(dir, 'bug.mjs')
  writeFileSync(bug, `${ONCE_SERVING}(() => { throw new Error('a bug') })\n`)
  const dying = await startMain(args, { nodeArgs: ['--import', bug] })
  t.after(() => dying.kill())
  const exit = await withTimeout(dying.exited, 'the server to exit')
  assert.equal(exit.code, 1)
  assert.match(dying.stderr(), /Error: a bug\n\s+at /)
})
