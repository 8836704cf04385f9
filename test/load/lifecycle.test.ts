/**
 * The connection lifecycle probe (load/lifecycle-probe.ts) against in-process servers: every connection
 * gets its first update, the probe's bytes are the server's, the WebSocket figures are exactly the 101
 * exchange and the two close frames (and agree with a packet capture), the time to first update is the
 * model's round trips times the emulated RTT, and short polling's two modes open one connection or K.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { PbOptionError } from '../../lib/errors.ts'
import { expectedAccept, upgradeRequest } from '../../load/lean/ws-frames.ts'
import {
  type ConnectionRecord,
  type LifecycleOptions,
  type LifecycleReply,
  type LifecycleResult,
  runLifecycle,
  timeWaitEntries,
} from '../../load/lifecycle-probe.ts'
import { setupRoundTrips } from '../../load/model/freshness.ts'
import { wsTextFrame } from '../../servers/frames.ts'
import { type PushbenchServer, startServer } from '../../servers/server.ts'
import { withTimeout } from '../helpers/wait.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const TRANSPORTS = ['short-poll', 'long-poll', 'sse', 'websocket'] as const

async function server(transport: string, opts: { autoStart?: boolean } = {}): Promise<PushbenchServer> {
  return startServer({ transport, port: 0, tickHz: 10, ...opts })
}

/** A server that publishes only by hand: `ticks` updates now, nothing during the probe. */
async function quietServer(transport: string, ticks: number): Promise<PushbenchServer> {
  const s = await server(transport, { autoStart: false })
  for (let i = 0; i < ticks; i++) s.source.publishTick()
  return s
}

async function probe(s: PushbenchServer, o: Partial<LifecycleOptions>): Promise<LifecycleResult> {
  return runLifecycle({
    transport: s.options.transport,
    base: s.url,
    rttMs: 0,
    connections: 6,
    pollsPerConnection: 4,
    ...o,
  })
}

const sum = (a: { clientToServer: number; serverToClient: number }, b: typeof a): typeof a => ({
  clientToServer: a.clientToServer + b.clientToServer,
  serverToClient: a.serverToClient + b.serverToClient,
})

test("every connection of every transport gets its first update; the server counted the probe's bytes", async (t) => {
  for (const transport of TRANSPORTS) {
    const s = await server(transport)
    t.after(() => s.close())
    const before = s.counters()
    const r = await probe(s, {})
    const after = s.counters()
    const { lifecycle: l } = r
    assert.deepEqual(r.errors, [], transport)
    assert.equal(l.completed, 6, transport)
    for (const rec of r.records) {
      assert.ok(rec.firstUpdateMs > 0 && rec.setupUpdates >= 1, `${transport}: ${JSON.stringify(rec)}`)
      // nothing flows between the first update's read and the close start: setup + close is the whole life
      assert.deepEqual(sum(rec.setup, rec.close), rec.total, `${transport}: ${JSON.stringify(rec)}`)
    }
    // application bytes, both directions: the server's socket counters over the probe are the probe's sums
    assert.equal(
      after.bytesRead - before.bytesRead,
      r.totals.clientToServer,
      `${transport}: client to server`,
    )
    assert.equal(
      after.bytesWritten - before.bytesWritten,
      r.totals.serverToClient,
      `${transport}: server to client`,
    )
    const own = [
      ...r.records,
      ...(r.shortPoll ? [...r.shortPoll.keepAlive.records, ...r.shortPoll.noKeepAlive.records] : []),
    ]
      .map((x) => x.total)
      .reduce(sum, r.discovery)
    assert.deepEqual(own, r.totals, transport)
    // the side that sends the first FIN holds TIME_WAIT: the client, except for WebSocket (ws ends first)
    const holder = transport === 'websocket' ? 'server' : 'client'
    assert.equal(l.firstFin, holder, transport)
    assert.deepEqual(
      l.timeWait,
      { client: holder === 'client' ? 6 : 0, server: holder === 'server' ? 6 : 0 },
      `${transport}: TIME_WAIT`,
    )
    t.diagnostic(
      `${transport}: first update p50 ${l.firstUpdateMs.p50} ms, setup ${l.setup.clientToServer}/${l.setup.serverToClient} B, ` +
        `close ${l.close.clientToServer}/${l.close.serverToClient} B in ${l.closeMs.p50} ms, TIME_WAIT ${JSON.stringify(l.timeWait)}`,
    )
  }
})

/** What `ws` answers an upgrade with (no extension, no subprotocol): its head, blank line included. */
function expected101Head(): number {
  const accept = expectedAccept('x'.repeat(24))
  return Buffer.byteLength(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  )
}

/** The WebSocket record of one connection that resumed from `since` on a server that published 3 updates. */
function checkWebSocketRecord(rec: ConnectionRecord, port: number, frameBytes: number): void {
  const ws = rec.ws
  assert.ok(ws !== undefined)
  // the upgrade request, byte for byte the length of what upgradeRequest makes (a key is always 24 characters)
  const request = upgradeRequest('127.0.0.1', port, `/ws?since=${rec.since}`, 'x'.repeat(24))
  assert.equal(ws.requestBytes, Buffer.byteLength(request))
  assert.equal(rec.setup.clientToServer, ws.requestBytes)
  // the 101 head, then the one update the resume asked for, as one frame
  assert.equal(ws.responseHeadBytes, expected101Head())
  assert.equal(ws.setupFrameBytes, frameBytes)
  assert.equal(rec.setup.serverToClient, ws.responseHeadBytes + frameBytes)
  // the close: a masked close frame with code 1000 (2 + 4 mask + 2), the server's echo (2 + 2)
  assert.deepEqual(rec.close, { clientToServer: 8, serverToClient: 4 })
  assert.deepEqual(ws.closeFrames, { clientToServer: 8, serverToClient: 4 })
  assert.equal(ws.closeCode, 1000)
}

test('WebSocket: setup is the upgrade request and the 101 (plus the resumed frame), close is two close frames', async (t) => {
  const s = await quietServer('websocket', 3)
  t.after(() => s.close())
  const frameBytes = wsTextFrame((s.source.since(0, 2)[0] ?? assert.fail('no seq 3')).json).length
  const before = s.counters()
  const r = await probe(s, { connections: 5, latestSeq: 3 })
  const after = s.counters()
  assert.deepEqual(r.errors, [])
  assert.equal(r.records.length, 5)
  for (const rec of r.records) {
    assert.equal(rec.since, 2)
    assert.equal(rec.setupUpdates, 1)
    checkWebSocketRecord(rec, s.port, frameBytes)
  }
  // and that is what ws itself read and wrote, as the server's sockets counted it
  const request = r.records[0]?.ws?.requestBytes ?? 0
  assert.equal(after.bytesRead - before.bytesRead, 5 * (request + 8))
  assert.equal(after.bytesWritten - before.bytesWritten, 5 * (expected101Head() + frameBytes + 4))
  assert.equal(r.lifecycle.firstFin, 'server')
  assert.deepEqual(r.lifecycle.timeWait, { client: 0, server: 5 })
})

// ---- one captured connection ----

interface Segment {
  fromClient: boolean
  flags: number
  payload: Buffer
  /** bytes on the link: the captured frame (Ethernet header included) */
  frameBytes: number
}

const FIN = 0x01
const SYN = 0x02

/** The TCP segments to or from `serverPort` in a classic pcap file of `-i lo` (Ethernet framing, IPv4). */
function readPcap(file: string, serverPort: number): Segment[] {
  const b = readFileSync(file)
  const magic = b.readUInt32LE(0)
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o))
  assert.equal(u32(20), 1, 'link type Ethernet')
  const out: Segment[] = []
  for (let o = 24; o + 16 <= b.length; ) {
    const incl = u32(o + 8)
    const orig = u32(o + 12)
    const f = b.subarray(o + 16, o + 16 + incl)
    o += 16 + incl
    if (f.readUInt16BE(12) !== 0x0800) continue
    const ip = f.subarray(14)
    if (ip[9] !== 6) continue
    const ihl = ((ip[0] as number) & 0x0f) * 4
    const total = ip.readUInt16BE(2)
    const tcp = ip.subarray(ihl, total)
    const src = tcp.readUInt16BE(0)
    if (src !== serverPort && tcp.readUInt16BE(2) !== serverPort) continue
    const off = ((tcp[12] as number) >> 4) * 4
    out.push({
      fromClient: src !== serverPort,
      flags: tcp[13] as number,
      payload: tcp.subarray(off),
      frameBytes: orig,
    })
  }
  return out
}

/**
 * tcpdump on lo, every packet written as it is captured (--immediate-mode: else packets wait in the kernel's
 * ring for a block to fill or time out, and a capture stopped within a second loses them; -U: no buffering
 * in the file). No capture filter: on this machine a kernel filter (`tcp port N`) let no packet through, so
 * readPcap picks the connection's segments by port. -Z root: stay root, so the file in the 0700 temporary
 * folder can be written.
 */
function startCapture(file: string): Promise<ChildProcess | undefined> {
  return new Promise((resolve) => {
    const p = spawn('tcpdump', ['-i', 'lo', '-n', '-U', '--immediate-mode', '-Z', 'root', '-w', file], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let err = ''
    p.stderr?.on('data', (d: Buffer) => {
      err += d.toString()
      if (err.includes('listening on')) resolve(p)
    })
    p.on('error', () => resolve(undefined))
    p.on('exit', () => resolve(undefined))
  })
}

const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0

test('WebSocket: one captured connection shows the 101 exchange and the close frames the probe counted', {
  skip: !hasTcpdump && !process.env.CI ? 'tcpdump is not installed (and CI is not set)' : false,
}, async (t) => {
  const s = await quietServer('websocket', 3)
  t.after(() => s.close())
  const dir = mkdtempSync(join(tmpdir(), 'pushbench-lifecycle-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'ws.pcap')
  const dump = await withTimeout(startCapture(file), 'tcpdump to start', 10_000)
  if (dump === undefined) {
    if (process.env.CI) assert.fail('tcpdump could not capture on lo')
    t.skip('tcpdump could not capture on lo (not root?)')
    return
  }
  let r: LifecycleResult
  try {
    r = await probe(s, { connections: 1, latestSeq: 3 })
    await new Promise((res) => setTimeout(res, 100))
  } finally {
    const exited = new Promise((res) => dump.once('exit', res))
    dump.kill('SIGINT')
    await withTimeout(exited, 'tcpdump to exit', 5000)
  }
  const rec = r.records[0] ?? assert.fail('no record')
  const ws = rec.ws ?? assert.fail('no WebSocket figures')
  const segs = readPcap(file, s.port)
  // the TCP 3-way handshake opens it
  assert.deepEqual(
    segs.slice(0, 3).map((x) => [x.fromClient, x.flags & (SYN | FIN)]),
    [
      [true, SYN],
      [false, SYN],
      [true, 0],
    ],
  )
  const c2s = Buffer.concat(segs.filter((x) => x.fromClient).map((x) => x.payload))
  const s2c = Buffer.concat(segs.filter((x) => !x.fromClient).map((x) => x.payload))
  // client to server: the upgrade request, then the masked close frame (FIN + close, MASK + 2, key, code)
  assert.equal(c2s.length, ws.requestBytes + 8)
  assert.match(
    c2s.toString('latin1', 0, ws.requestBytes),
    /^GET \/ws\?since=2 HTTP\/1\.1\r\n[\s\S]*\r\n\r\n$/,
  )
  const close = c2s.subarray(ws.requestBytes)
  assert.deepEqual([close[0], close[1]], [0x88, 0x82])
  assert.equal(
    (((close[6] as number) ^ (close[2] as number)) << 8) | ((close[7] as number) ^ (close[3] as number)),
    1000,
  )
  // server to client: the 101 head, the resumed frame, the close frame echoing 1000
  assert.equal(s2c.length, ws.responseHeadBytes + ws.setupFrameBytes + 4)
  assert.match(
    s2c.toString('latin1', 0, ws.responseHeadBytes),
    /^HTTP\/1\.1 101 Switching Protocols\r\n[\s\S]*\r\n\r\n$/,
  )
  assert.equal(s2c[ws.responseHeadBytes], 0x81, 'a text frame follows the 101')
  assert.deepEqual([...s2c.subarray(s2c.length - 4)], [0x88, 0x02, 0x03, 0xe8])
  // the probe's counts are the capture's payload, each way
  assert.deepEqual(rec.total, { clientToServer: c2s.length, serverToClient: s2c.length })
  assert.deepEqual(sum(rec.setup, rec.close), rec.total)
  // the server's FIN comes first (so the server holds TIME_WAIT), then the client's
  const fins = segs.filter((x) => x.flags & FIN).map((x) => (x.fromClient ? 'client' : 'server'))
  assert.deepEqual(fins, ['server', 'client'])
  assert.equal(rec.firstFin, 'server')
  // link level on lo: each packet adds Ethernet 14 + IP 20 + TCP with timestamps 32 = 66 bytes (DESIGN.md),
  // a SYN 8 more (its MSS, SACK-permitted and window-scale options)
  for (const x of segs) assert.equal(x.frameBytes - x.payload.length, x.flags & SYN ? 74 : 66)
  const link = (fromClient: boolean) => {
    const d = segs.filter((x) => x.fromClient === fromClient)
    return `${d.length} packets, ${d.reduce((a, x) => a + x.frameBytes, 0)} B`
  }
  t.diagnostic(
    `link level (lo, Ethernet framing): client to server ${link(true)}; server to client ${link(false)}`,
  )
})

// ---- round-trip time ----

test("with an emulated RTT of 40 ms the first update comes after the model's round trips (2 x 40 ms) plus loopback", async (t) => {
  // Tolerance: p50 at RTT 40 may exceed 80 ms + the loopback p50 at RTT 0 by up to TOL_MS. The delay line hands
  // a read over at its exact emulated instant, but the request leaves when the process's one timer fires:
  // setTimeout rounds up to a whole ms and fires up to about a ms late, 0 to ~2 ms (measured here: 0.8 to
  // 1.5 ms over 24 runs); the rest is the loopback time's own spread between two samples of 6 connections.
  // Inside a full test run a poll on an open connection once took 3.5 ms past its round trip.
  // One connection at a time: the server shares the test's event loop, and connections in parallel there
  // make the loopback figure noisy (up to 5 ms apart between runs). No slack below: the emulation lets nothing
  // arrive before 2 RTT, so the minimum must be at least 80 ms.
  const rtt = 40
  // a full test run beside it made one poll 3.5 ms late once, and two fresh-clone CI runs (2026-12-06) put
  // every transport's p50 4 to 6 ms past, and a reused poll 7 ms past, with each timer of the path late on a
  // busy host: 10 ms leaves room for that. The bound below (nothing before 2 RTT) is what the emulation owes.
  const TOL_MS = 10
  const model = setupRoundTrips(false) * rtt
  assert.equal(model, 80)
  // one subtest per transport, each about 1.5 s
  for (const transport of TRANSPORTS) {
    await t.test(transport, async (st) => {
      const s = await server(transport)
      st.after(() => s.close())
      const o = { connections: 6, pollsPerConnection: 2 }
      const base = await probe(s, { ...o, rttMs: 0 })
      const far = await probe(s, { ...o, rttMs: rtt })
      assert.deepEqual(far.errors, [], transport)
      assert.equal(far.model.firstUpdateMs, model)
      const loopback = base.lifecycle.firstUpdateMs.p50
      const p50 = far.lifecycle.firstUpdateMs.p50
      st.diagnostic(
        `${transport}: first update p50 ${loopback} ms at RTT 0, ${p50} ms at RTT ${rtt}; close p50 ${base.lifecycle.closeMs.p50} / ${far.lifecycle.closeMs.p50} ms`,
      )
      assert.ok(
        far.lifecycle.firstUpdateMs.min >= model,
        `${transport}: an update before 2 RTT (${far.lifecycle.firstUpdateMs.min} ms)`,
      )
      assert.ok(
        p50 <= model + loopback + TOL_MS,
        `${transport}: p50 ${p50} ms, model ${model} + loopback ${loopback} + ${TOL_MS}`,
      )
      // a close the client starts takes one round trip (its FIN or close frame out, the answer back)
      const close = far.lifecycle.closeMs.p50
      assert.ok(
        close >= rtt && close <= rtt + base.lifecycle.closeMs.p50 + TOL_MS,
        `${transport}: close p50 ${close} ms`,
      )
      if (far.shortPoll) {
        // a poll on an open keep-alive connection: one round trip
        const reused = far.shortPoll.keepAlive.reusedPollMs.p50
        assert.ok(
          reused >= rtt && reused <= rtt + TOL_MS + (base.shortPoll?.keepAlive.reusedPollMs.p50 ?? 0),
          `reused poll ${reused} ms`,
        )
      }
    })
  }
})

// ---- short polling's two modes ----

test('short polling: with keep-alive K polls use one connection, without it K connections', async (t) => {
  const s = await quietServer('short-poll', 3)
  t.after(() => s.close())
  const K = 5
  const before = s.counters()
  const r = await probe(s, { connections: 2, pollsPerConnection: K, latestSeq: 3 })
  const after = s.counters()
  const sp = r.shortPoll ?? assert.fail('no short-poll modes')
  assert.deepEqual(r.errors, [])
  const { keepAlive: ka, noKeepAlive: nka } = sp
  assert.equal(ka.connections, 1)
  assert.equal(ka.records.length, 1)
  assert.equal(ka.polls, K)
  assert.equal(ka.connectPollMs.count, 1)
  assert.equal(ka.reusedPollMs.count, K - 1)
  assert.equal(nka.connections, K)
  assert.equal(nka.records.length, K)
  assert.equal(nka.polls, K)
  assert.equal(nka.reusedPollMs.count, 0)
  // what the server saw (no discovery: latestSeq was given): the lifecycle's 2 connections, then 1 and K
  assert.equal(after.connectionsTotal - before.connectionsTotal, 2 + 1 + K)
  // every poll was answered with the one update it asked for (nothing is published during the probe)
  for (const rec of [...ka.records, ...nka.records])
    for (const p of rec.polls ?? []) assert.equal(p.updates, 1)
  // keep-alive: the client closes its one connection; Connection: close: the server closes each
  assert.equal(ka.firstFin, 'client')
  assert.deepEqual(ka.timeWait, { client: 1, server: 0 })
  assert.equal(nka.firstFin, 'server')
  assert.deepEqual(nka.timeWait, { client: 0, server: K })
  t.diagnostic(
    `K=${K}: keep-alive ${ka.total.clientToServer}/${ka.total.serverToClient} B in ${ka.totalMs} ms; ` +
      `without ${nka.total.clientToServer}/${nka.total.serverToClient} B in ${nka.totalMs} ms`,
  )
})

// ---- the parts ----

test("TIME_WAIT entries are told apart by which side has the server's port", () => {
  const table = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0',
    '   1: 0100007F:1F90 0100007F:9C40 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0',
    '   2: 0100007F:9C41 0100007F:1F90 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0',
    '   3: 0100007F:9C42 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0',
    '   4: 0100007F:9C43 0100007F:1F91 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0',
  ].join('\n')
  const e = timeWaitEntries(table, 0x1f90)
  assert.deepEqual(e.server, ['0100007F:1F90>0100007F:9C40'])
  assert.deepEqual(e.client, ['0100007F:9C41>0100007F:1F90'])
})

test('options are checked, naming the field', async () => {
  const base = { base: 'http://127.0.0.1:1', rttMs: 0, connections: 1, pollsPerConnection: 1 }
  const field = (f: string) => (e: unknown) => e instanceof PbOptionError && e.field === f
  await assert.rejects(runLifecycle({ ...base, transport: 'carrier-pigeon' }), field('transport'))
  await assert.rejects(runLifecycle({ ...base, transport: 'sse', connections: 0 }), field('connections'))
  await assert.rejects(runLifecycle({ ...base, transport: 'sse', base: 'https://127.0.0.1:1' }), field('ca'))
})

test('as a process: one request over IPC, one result, then it exits', async (t) => {
  const s = await server('sse')
  t.after(() => s.close())
  const child = spawn(process.execPath, ['--import', 'tsx', 'load/lifecycle-process.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  const reply = new Promise<LifecycleReply>((res) => child.once('message', (m) => res(m as LifecycleReply)))
  const exit = new Promise<number | null>((res) => child.once('exit', (code) => res(code)))
  child.send({
    type: 'lifecycle',
    transport: 'sse',
    base: s.url,
    rttMs: 0,
    connections: 3,
    pollsPerConnection: 2,
  })
  const m = await withTimeout(reply, 'the lifecycle result', 20_000)
  assert.equal(m.type, 'lifecycle-result', JSON.stringify(m))
  if (m.type === 'lifecycle-result') {
    assert.equal(m.transport, 'sse')
    assert.equal(m.lifecycle.completed, 3)
  }
  assert.equal(await withTimeout(exit, 'the process to exit', 5000), 0)
})
