import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { Agent, get, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { test } from 'node:test'
import { WebSocket } from 'ws'
import type { WritePolicy } from '../../lib/params.ts'
import { startBaseline } from '../../servers/baseline/index.ts'
import type { ServerOptions } from '../../servers/options.ts'
import { type RunningServer, SERVER_KINDS, type ServerKind, startServer } from '../../servers/server.ts'

const T0 = 1_700_000_000_000
const UPDATES_PER_TICK = 3

/** Publishes ticks with fixed instants so both servers produce the same bytes. */
function publish(server: RunningServer, from: number, n: number): void {
  for (let i = from; i < from + n; i++) server.source.publishTick(T0 + i * 100.125)
}

function start(kind: ServerKind, options: Partial<ServerOptions> & { transport: string }) {
  const input = { seed: 42, updatesPerTick: UPDATES_PER_TICK, autoStart: false, ...options }
  return kind === 'baseline' ? startBaseline(input) : startServer(input)
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** What a client saw and what both ends counted on the wire. */
interface Seen {
  /** update JSON texts, or `STATUS pb-seq BODY` lines for polls */
  received: string[]
  client: { read: number; written: number }
  server: { read: number; written: number }
}

function sum(sockets: Iterable<Socket>): { read: number; written: number } {
  let read = 0
  let written = 0
  for (const s of sockets) {
    read += s.bytesRead
    written += s.bytesWritten
  }
  return { read, written }
}

function serverBytes(server: RunningServer): { read: number; written: number } {
  const c = server.counters()
  return { read: c.bytesRead, written: c.bytesWritten }
}

async function wsRun(server: RunningServer): Promise<Seen> {
  publish(server, 0, 2)
  const received: string[] = []
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?since=2`, { perMessageDeflate: false })
  let socket: Socket | undefined
  ws.on('upgrade', (res: IncomingMessage) => {
    socket = res.socket as Socket
  })
  ws.on('message', (data, isBinary) => {
    assert.equal(isBinary, false, 'updates are text frames')
    received.push(String(data))
  })
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  publish(server, 2, 2)
  await until(() => received.length === 10, 'ten updates')
  const s = socket as Socket
  await until(() => serverBytes(server).written === s.bytesRead, 'the client to read what the server wrote')
  const seen = { received, client: sum([s]), server: serverBytes(server) }
  ws.terminate()
  return seen
}

async function sseRun(server: RunningServer): Promise<Seen> {
  publish(server, 0, 2)
  const received: string[] = []
  let buf = ''
  const agent = new Agent({ keepAlive: false })
  const res = await new Promise<IncomingMessage>((resolve, reject) =>
    get(`${server.url}/sse`, { agent, headers: { 'last-event-id': '2' } }, resolve).once('error', reject),
  )
  assert.equal(res.statusCode, 200)
  assert.equal(res.headers['content-type'], 'text/event-stream')
  res.setEncoding('latin1')
  res.on('data', (chunk: string) => {
    buf += chunk
    for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
      const event = buf.slice(0, end)
      buf = buf.slice(end + 2)
      const id = /^id: (\d+)$/m.exec(event)?.[1]
      const data = /^data: (.*)$/m.exec(event)?.[1]
      if (data === undefined) continue
      assert.equal(Number(id), JSON.parse(data).seq, 'id: is the seq')
      received.push(data)
    }
  })
  publish(server, 2, 2)
  await until(() => received.length === 10, 'ten events')
  const s = res.socket as Socket
  await until(() => serverBytes(server).written === s.bytesRead, 'the client to read what the server wrote')
  const seen = { received, client: sum([s]), server: serverBytes(server) }
  res.destroy()
  return seen
}

/** GET on one keep-alive connection; resolves with `STATUS pb-seq BODY`. */
function poll(server: RunningServer, agent: Agent, sockets: Set<Socket>, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(`${server.url}${path}`, { agent }, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (c: string) => {
        body += c
      })
      res.on('end', () => resolve(`${res.statusCode} ${res.headers['pb-seq'] ?? '-'} ${body}`))
    })
    req.on('socket', (s) => sockets.add(s as Socket))
    req.once('error', reject)
  })
}

async function pollRun(server: RunningServer, path: '/poll' | '/long-poll'): Promise<Seen> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const sockets = new Set<Socket>()
  const ask = (q: string) => poll(server, agent, sockets, `${path}${q}`)
  const received: string[] = []
  publish(server, 0, 2)
  received.push(await ask('?since=0'), await ask('?since=4'), await ask('?since=x'))
  if (path === '/poll') {
    received.push(await ask('?since=6'), await ask(''))
    publish(server, 2, 1)
    received.push(await ask('?since=6'))
  } else {
    // held until the next tick, then answered with it
    const held = ask('?since=6')
    await until(() => server.stats.heldRequests === 1, 'the request to be held')
    publish(server, 2, 1)
    received.push(await held)
    // held until the timeout: 204 with the newest seq
    received.push(await ask('?since=9'), await ask(''))
  }
  await until(() => serverBytes(server).written === sum(sockets).read, 'the client to read it all')
  const seen = { received, client: sum(sockets), server: serverBytes(server) }
  agent.destroy()
  return seen
}

const RUNS = {
  websocket: wsRun,
  sse: sseRun,
  'short-poll': (s: RunningServer) => pollRun(s, '/poll'),
  'long-poll': (s: RunningServer) => pollRun(s, '/long-poll'),
} as const

const CASES: { transport: keyof typeof RUNS; writePolicy: WritePolicy }[] = [
  { transport: 'websocket', writePolicy: 'per-tick' },
  { transport: 'websocket', writePolicy: 'per-update' },
  { transport: 'sse', writePolicy: 'per-tick' },
  { transport: 'sse', writePolicy: 'per-update' },
  { transport: 'short-poll', writePolicy: 'per-tick' },
  { transport: 'long-poll', writePolicy: 'per-tick' },
]

for (const { transport, writePolicy } of CASES) {
  test(`${transport} (${writePolicy}): the baseline sends what the suite's server sends, byte for byte`, async () => {
    const seen = new Map<ServerKind, Seen>()
    for (const kind of SERVER_KINDS) {
      // the baseline writes no `retry:` field at the head of an SSE stream
      const server = await start(kind, { transport, writePolicy, longPollTimeoutMs: 50, sseRetryMs: 0 })
      try {
        assert.equal(server.kind, kind)
        seen.set(kind, await RUNS[transport](server))
      } finally {
        await server.close()
      }
    }
    const suite = seen.get('pushbench') as Seen
    const base = seen.get('baseline') as Seen
    if (transport === 'websocket' || transport === 'sse') {
      assert.deepEqual(
        suite.received.map((j) => JSON.parse(j).seq),
        [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
      )
    }
    assert.deepEqual(base.received, suite.received, 'same answers, same update JSON')
    for (const [kind, s] of seen) {
      assert.deepEqual(
        s.server,
        { read: s.client.written, written: s.client.read },
        `${kind}: socket counters`,
      )
    }
    // same headers, same framing: the load generators cannot tell the two apart on the wire
    assert.deepEqual(base.client, suite.client, 'same bytes on the wire')
  })
}

test('websocket baseline: a bad since is a 400 at the upgrade, and the per-socket bound cuts a slow consumer', async () => {
  const server = await startBaseline({
    transport: 'websocket',
    autoStart: false,
    payloadBytes: 65_536,
    maxBufferedBytes: 1024 * 1024,
  })
  try {
    const status = await new Promise<number | undefined>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?since=x`)
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode))
      ws.on('error', () => {})
    })
    assert.equal(status, 400)
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`)
    await new Promise((resolve) => ws.once('open', resolve))
    ws.pause()
    const closed = new Promise((resolve) => ws.once('close', resolve))
    // a paused client stops reading: the kernel buffers fill, then the server's queue passes the bound
    for (let i = 0; i < 2_000 && server.stats.slowConsumerDisconnects === 0; i++) server.source.publishTick()
    assert.equal(server.stats.slowConsumerDisconnects, 1)
    ws.resume()
    await closed
  } finally {
    await server.close()
  }
})

test('main.ts --server baseline: ready line, then SIGTERM closes an open WebSocket and exits 0', async () => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'scripts/serve.ts',
      '--server',
      'baseline',
      '--transport',
      'websocket',
      '--port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (c: Buffer) => {
        out += c
        if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')))
      })
      child.once('exit', (code) => reject(new Error(`exited ${code} before its ready line`)))
    })
    const ready = JSON.parse(line)
    assert.equal(ready.event, 'ready')
    assert.equal(ready.transport, 'websocket')
    const ws = new WebSocket(`ws://127.0.0.1:${ready.port}/ws`)
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    const closeCode = new Promise<number>((resolve) => ws.once('close', resolve))
    const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (code, signal) => resolve([code, signal])),
    )
    child.kill('SIGTERM')
    assert.equal(await closeCode, 1001)
    assert.deepEqual(await exit, [0, null])
  } finally {
    clearTimeout(killer)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
})
