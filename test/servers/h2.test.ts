/**
 * The HTTP/2 rows (lib/transports.ts `*-h2`, servers/app.ts createApp `h2`): real servers on loopback, ticks
 * published by hand. h2c and h2 by ALPN under TLS serve the three paths; SSE over HTTP/2 sends the very bytes
 * HTTP/1.1 SSE sends (node:http dechunked), and the polls the same answers, resume and gap included; the
 * library clients get the same (seq, ts) as their HTTP/1.1 twins, on one session each; both ends count the
 * same wire bytes; the frames a poll costs are what the byte model says; the close sends GOAWAY and is bounded.
 */
import assert from 'node:assert/strict'
import http from 'node:http'
import http2, { type ClientHttp2Session } from 'node:http2'
import net from 'node:net'
import { test } from 'node:test'
import tls from 'node:tls'
import { newHistogram } from '../../lib/latency.ts'
import { DEFAULT_PARAMS } from '../../lib/params.ts'
import { makeTlsCert, type TlsCert } from '../../lib/tls-cert.ts'
import { transport as transportEntry } from '../../lib/transports.ts'
import { type ClientContext, ClientSockets, type LoadClient } from '../../load/clients/common.ts'
import { H2Link } from '../../load/clients/h2.ts'
import { DATE_LITERAL_EXTRA, h2AnswerLength, h2RequestLength } from '../../load/model/h2.ts'
import { stratifiedPhases } from '../../load/poll-phases.ts'
import { createApp } from '../../servers/app.ts'
import { type RunningServer, startServer } from '../../servers/server.ts'
import { waitFor } from '../helpers/wait.ts'

const TWINS = { 'short-poll-h2': 'short-poll', 'long-poll-h2': 'long-poll', 'sse-h2': 'sse' } as const
type H2Row = keyof typeof TWINS
const ROWS = Object.keys(TWINS) as H2Row[]
const SERVER = { seed: 20_261_206, symbols: 50, updatesPerTick: 3, payloadBytes: 160, autoStart: false }
const TICKS = 12
const TS0 = 1_765_100_000_000
const ts = (i: number) => TS0 + i * 100.125

let certP: Promise<TlsCert> | undefined
/** one throwaway certificate for the file (lib/tls-cert.ts), removed with the process */
const cert = (): Promise<TlsCert> => {
  certP ??= makeTlsCert()
  return certP
}
test.after(async () => {
  if (certP) (await certP).remove()
})

/** A raw node:http2 session to `server` whose TCP socket is tallied in `sockets`. */
function session(server: RunningServer, sockets: ClientSockets, ca?: string): ClientHttp2Session {
  const s = http2.connect(server.url, {
    createConnection: () => {
      const tcp = net.connect({ host: server.host, port: server.port })
      sockets.track(tcp)
      return ca === undefined ? tcp : tls.connect({ socket: tcp, ca, ALPNProtocols: ['h2'] })
    },
  })
  s.on('error', () => {})
  return s
}

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

/** A GET on an HTTP/2 session, whole body collected; `until` ends the read early (an SSE stream). */
function h2Get(
  s: ClientHttp2Session,
  path: string,
  headers: Record<string, string> = {},
  until?: (body: Buffer) => boolean,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = s.request({ ':path': path, ...headers })
    const chunks: Buffer[] = []
    let head: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader = {}
    const done = () =>
      resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks) })
    req.once('response', (h) => {
      head = h
    })
    req.on('data', (c: Buffer) => {
      chunks.push(c)
      if (until?.(Buffer.concat(chunks))) {
        req.close()
        done()
      }
    })
    req.once('end', done)
    req.once('error', reject)
  })
}

/** The same over HTTP/1.1 (node:http, dechunked). */
function h1Get(
  server: RunningServer,
  path: string,
  headers: Record<string, string> = {},
  until?: (body: Buffer) => boolean,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: server.host, port: server.port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      const done = () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) })
      res.on('data', (c: Buffer) => {
        chunks.push(c)
        if (until?.(Buffer.concat(chunks))) {
          req.destroy()
          done()
        }
      })
      res.once('end', done)
    })
    req.once('error', reject)
  })
}

async function publish(servers: RunningServer[], from: number, to: number): Promise<void> {
  for (let tick = from; tick < to; tick++) for (const s of servers) s.source.publishTick(ts(tick))
}

test('h2c and h2 by ALPN under TLS serve the three paths; HTTP/1.1 is still taken under TLS', async (t) => {
  const c = await cert()
  for (const row of ROWS) {
    const path = transportEntry(row).path
    for (const secure of [false, true]) {
      const server = await startServer({
        transport: row,
        ...SERVER,
        ...(secure ? { tlsKey: c.keyPath, tlsCert: c.certPath } : {}),
      })
      t.after(() => server.close())
      const alpn: (string | false | null)[] = []
      server.httpServer.on('secureConnection', (sock: tls.TLSSocket) => alpn.push(sock.alpnProtocol))
      await publish([server], 0, 1)
      const s = session(server, new ClientSockets(), secure ? c.certPem : undefined)
      // from seq 0: a poll answers with seqs 1..3, the stream sends them as its backlog
      const a = await h2Get(s, `${path}?since=0`, { 'last-event-id': '0' }, (b) => b.includes('"seq":3'))
      assert.equal(a.status, 200, `${row} ${secure ? 'h2' : 'h2c'}`)
      assert.match(a.body.toString(), /"seq":1,/)
      // HTTP/2 forbids connection-specific headers: none reaches the client
      for (const h of ['connection', 'keep-alive', 'transfer-encoding'])
        assert.equal(a.headers[h], undefined, `${row}: ${h}`)
      s.close()
      if (secure) {
        assert.deepEqual(alpn, ['h2'], `${row}: ALPN chose h2`)
        // a client that offers only http/1.1 is served HTTP/1.1 on the same port (allowHTTP1)
        const h1 = await new Promise<tls.TLSSocket>((resolve, reject) => {
          const sock = tls.connect({
            host: server.host,
            port: server.port,
            ca: c.certPem,
            ALPNProtocols: ['http/1.1'],
          })
          sock.once('secureConnect', () => resolve(sock))
          sock.once('error', reject)
        })
        assert.equal(h1.alpnProtocol, 'http/1.1')
        h1.write(`GET ${path}?since=0 HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: 0\r\n\r\n`)
        const head = await new Promise<string>((resolve) =>
          h1.once('data', (d: Buffer) => resolve(d.toString())),
        )
        assert.match(head, /^HTTP\/1\.1 200 OK\r\n/)
        h1.destroy()
      }
      await server.close()
    }
  }
})

test('SSE over HTTP/2 sends the bytes HTTP/1.1 SSE sends: retry, events, the gap event of a resume past the ring', async (t) => {
  const ring = { ...SERVER, ringSize: 12 }
  const h1 = await startServer({ transport: 'sse', ...ring })
  const h2 = await startServer({ transport: 'sse-h2', ...ring })
  t.after(() => Promise.all([h1.close(), h2.close()]))
  const s = session(h2, new ClientSockets())
  t.after(() => s.close())
  await publish([h1, h2], 0, 8) // seqs 1..24, the ring holds 13..24
  const last = '"seq":24,'
  const upTo = (b: Buffer) => b.includes(last)
  for (const resume of [{ 'last-event-id': '20' }, { 'last-event-id': '2' }, { 'last-event-id': '0' }]) {
    const [a, b] = await Promise.all([h1Get(h1, '/sse', resume, upTo), h2Get(s, '/h2/sse', resume, upTo)])
    assert.equal(a?.status, 200)
    assert.equal(b?.status, 200)
    assert.equal(b?.headers['content-type'], 'text/event-stream')
    assert.ok(a?.body.equals(b?.body as Buffer), `${JSON.stringify(resume)}:\n${a?.body}\n!=\n${b?.body}`)
    if (resume['last-event-id'] !== '20')
      assert.match(b?.body.toString() ?? '', /^retry: 1000\n\nevent: gap\n/)
  }
  // a resume past the newest seq: 400 naming it, on both
  const [a, b] = await Promise.all([
    h1Get(h1, '/sse', { 'last-event-id': '99' }),
    h2Get(s, '/h2/sse', { 'last-event-id': '99' }),
  ])
  assert.equal(a.status, 400)
  assert.equal(b.status, 400)
  assert.equal(b.headers['pb-seq'], a.headers['pb-seq'])
  assert.deepEqual(JSON.parse(b.body.toString()), JSON.parse(a.body.toString()))
})

test('SSE over HTTP/2 from now: the next ticks arrive as the same bytes as over HTTP/1.1', async (t) => {
  const h1 = await startServer({ transport: 'sse', ...SERVER })
  const h2 = await startServer({ transport: 'sse-h2', ...SERVER })
  t.after(() => Promise.all([h1.close(), h2.close()]))
  const s = session(h2, new ClientSockets())
  t.after(() => s.close())
  const last = `"seq":${TICKS * SERVER.updatesPerTick},`
  const reads = [
    h1Get(h1, '/sse', {}, (b) => b.includes(last)),
    h2Get(s, '/h2/sse', {}, (b) => b.includes(last)),
  ]
  await waitFor(() => h1.stats.streams === 1 && h2.stats.streams === 1, 'both streams open')
  await publish([h1, h2], 0, TICKS)
  const [a, b] = await Promise.all(reads)
  assert.ok(a && b && a.body.length > TICKS * SERVER.payloadBytes)
  assert.ok(a.body.equals(b.body), `\n${a.body}\n!=\n${b.body}`)
})

test('polls over HTTP/2 give the answers HTTP/1.1 gives: batches, 204 with pb-seq, pb-gap, 400 past the newest', async (t) => {
  for (const row of ['short-poll-h2', 'long-poll-h2'] as const) {
    const ring = { ...SERVER, ringSize: 12 }
    const h1 = await startServer({ transport: TWINS[row], ...ring })
    const h2 = await startServer({ transport: row, ...ring })
    t.after(() => Promise.all([h1.close(), h2.close()]))
    const s = session(h2, new ClientSockets())
    t.after(() => s.close())
    await publish([h1, h2], 0, 8)
    const p1 = transportEntry(TWINS[row]).path
    const p2 = transportEntry(row).path
    const queries = ['since=0', 'since=12', 'since=20', 'since=23', 'since=99']
    if (row === 'short-poll-h2') queries.push('since=24', '')
    for (const q of queries) {
      const [a, b] = await Promise.all([h1Get(h1, `${p1}?${q}`), h2Get(s, `${p2}?${q}`)])
      const what = `${row} ?${q}`
      assert.equal(b.status, a.status, what)
      assert.ok(b.body.equals(a.body), `${what}: ${b.body} != ${a.body}`)
      for (const h of ['pb-seq', 'pb-gap', 'content-type'])
        assert.equal(b.headers[h], a.headers[h], `${what}: ${h}`)
    }
    // a long poll at the newest seq is held on both, then answered with the next tick
    if (row === 'long-poll-h2') {
      const held = [h1Get(h1, `${p1}?since=24`), h2Get(s, `${p2}?since=24`)]
      await waitFor(() => h1.stats.heldRequests === 1 && h2.stats.heldRequests === 1, 'both held')
      await publish([h1, h2], 8, 9)
      const [a, b] = await Promise.all(held)
      assert.equal(b?.status, 200)
      assert.ok(b?.body.equals(a?.body as Buffer))
    }
    // every request a stream of one session: one connection, each request counted
    assert.equal(h2.counters().connectionsTotal, 1)
    assert.equal(h2.stats.requests, h1.stats.requests)
  }
})

/** A library client of `row` against `server`, every (seq, ts) it accounts recorded (as test/load/tls.test.ts). */
async function libraryClient(
  row: string,
  server: RunningServer,
  ca: string | undefined,
  stops: (() => void)[],
): Promise<{ client: LoadClient; got: [number, number][]; sockets: ClientSockets }> {
  const entry = transportEntry(row)
  const sockets = new ClientSockets()
  const ctx: ClientContext = {
    base: new URL(server.url),
    path: entry.path,
    streams: 1,
    params: { ...DEFAULT_PARAMS, pollIntervalMs: 20 },
    window: { startMs: Number.POSITIVE_INFINITY, endMs: Number.POSITIVE_INFINITY },
    latency: newHistogram(),
    scheduleLag: newHistogram(),
    sockets,
    pollPhase: stratifiedPhases(1, () => 0.5),
    verifyEvery: 1,
    ca,
  }
  const Client = await entry.clients.library()
  const client = new Client(ctx, 0)
  stops.push(() => client.stop())
  const got: [number, number][] = []
  const onUpdate = client.delivery.onUpdate.bind(client.delivery)
  client.delivery.onUpdate = (seq, t, now) => {
    got.push([seq, t])
    return onUpdate(seq, t, now)
  }
  await client.start()
  if (entry.kind === 'push' && entry.resume === 'query')
    await waitFor(() => server.stats.heldRequests === 1, `${row}: the first poll to be held`)
  else await waitFor(() => client.subscribed, `${row}: the client to subscribe`)
  return { client, got, sockets }
}

for (const row of ROWS) {
  test(`${row}: the library client gets what ${TWINS[row]}'s does, over h2c and h2 with TLS, on one session; both ends count the same bytes`, async (t) => {
    const c = await cert()
    const servers = {
      h1: await startServer({ transport: TWINS[row], ...SERVER }),
      h2c: await startServer({ transport: row, ...SERVER }),
      h2: await startServer({ transport: row, ...SERVER, tlsKey: c.keyPath, tlsCert: c.certPath }),
    }
    const stops: (() => void)[] = []
    t.after(async () => {
      for (const stop of stops) stop()
      await Promise.all(Object.values(servers).map((s) => s.close()))
    })
    const clients = {
      h1: await libraryClient(TWINS[row], servers.h1, undefined, stops),
      h2c: await libraryClient(row, servers.h2c, undefined, stops),
      h2: await libraryClient(row, servers.h2, c.certPem, stops),
    }
    const total = TICKS * SERVER.updatesPerTick
    for (let tick = 0; tick < TICKS; ) {
      const end = tick + TICKS / 3
      await publish(Object.values(servers), tick, end)
      tick = end
      const last = tick * SERVER.updatesPerTick
      for (const [kind, x] of Object.entries(clients))
        await waitFor(() => x.client.delivery.maxSeq >= last, `${row} ${kind}: seq ${last}`)
    }
    const ref = clients.h1.got
    assert.deepEqual(
      ref.map(([seq]) => seq),
      Array.from({ length: total }, (_, i) => i + 1),
    )
    assert.deepEqual(clients.h2c.got, ref, 'h2c: the same (seq, ts) as HTTP/1.1')
    assert.deepEqual(clients.h2.got, ref, 'h2 + TLS: the same (seq, ts) as HTTP/1.1')
    for (const [kind, x] of Object.entries(clients)) {
      assert.equal(x.client.counters.errors, 0, `${kind}: ${x.client.counters.lastError}`)
      assert.equal(x.client.counters.reconnects, 0, kind)
    }
    for (const kind of ['h2c', 'h2'] as const) {
      assert.equal(servers[kind].counters().connectionsTotal, 1, `${kind}: one session for all its requests`)
      // once quiet, both ends agree to the byte (TLS records included under TLS)
      const wire = () => {
        const sv = servers[kind].counters()
        const cl = clients[kind].sockets.bytes()
        return { server: [sv.bytesRead, sv.bytesWritten], client: [cl.written, cl.read] }
      }
      await waitFor(
        () => {
          const w = wire()
          return w.server[0] === w.client[0] && w.server[1] === w.client[1]
        },
        `${kind}: server and client count the same bytes ${JSON.stringify(wire())}`,
      )
    }
    // HPACK: the same delivery over HTTP/2 costs fewer bytes than HTTP/1.1 for the polls, about the same for SSE
    const bytes = (k: keyof typeof servers) =>
      servers[k].counters().bytesWritten + servers[k].counters().bytesRead
    t.diagnostic(`bytes for ${total} updates: h1 ${bytes('h1')}, h2c ${bytes('h2c')}, h2+TLS ${bytes('h2')}`)
    if (row !== 'sse-h2') assert.ok(bytes('h2c') < bytes('h1'), 'HPACK makes the polls cheaper')
  })
}

test('the frames of a poll on a warm session are the byte model: request HEADERS; answer HEADERS, DATA, empty DATA', async (t) => {
  const server = await startServer({ transport: 'long-poll-h2', ...SERVER, updatesPerTick: 1 })
  t.after(() => server.close())
  const sockets = new ClientSockets()
  const s = session(server, sockets)
  t.after(() => s.close())
  const path = transportEntry('long-poll-h2').path
  await publish([server], 0, 12)
  // warm: the first answers put :authority, content-type and the date in the tables
  await h2Get(s, `${path}?since=0`)
  await h2Get(s, `${path}?since=1`)
  let checked = 0
  for (let since = 2; since < 11; since++) {
    const before = sockets.bytes()
    const a = await h2Get(s, `${path}?since=${since}`)
    const after = sockets.bytes()
    assert.equal(a.status, 200)
    const up = after.written - before.written
    const down = after.read - before.read
    assert.equal(up, h2RequestLength(`${path}?since=${since}`, 0), `request since=${since}`)
    // a new second's date comes as a literal once
    const model = h2AnswerLength(a.body.length)
    assert.ok(down === model || down === model + DATE_LITERAL_EXTRA, `answer: ${down} B, model ${model}`)
    if (down === model) checked++
  }
  assert.ok(checked > 0)
})

test('the close sends every session a GOAWAY, ends the streams and held polls, and is bounded', async (t) => {
  for (const row of ['sse-h2', 'long-poll-h2'] as const) {
    const server = await startServer({ transport: row, ...SERVER })
    const path = transportEntry(row).path
    const sessions = [0, 1, 2].map(() => session(server, new ClientSockets()))
    t.after(() => {
      for (const s of sessions) s.destroy()
    })
    const goaways = sessions.map((s) => new Promise<void>((resolve) => s.once('goaway', () => resolve())))
    const reads = sessions.map((s) => h2Get(s, path))
    await waitFor(
      () => (row === 'sse-h2' ? server.stats.streams : server.stats.heldRequests) === 3,
      `${row}: three open`,
    )
    const t0 = performance.now()
    await server.close()
    assert.ok(performance.now() - t0 < 2000, `${row}: closed in ${performance.now() - t0} ms`)
    await Promise.all(goaways)
    const answers = await Promise.all(reads)
    for (const a of answers) assert.equal(a.status, row === 'sse-h2' ? 200 : 204)
    await waitFor(() => server.counters().connections === 0, `${row}: every socket closed`)
  }
})

test('chat upstream: send() POSTs /send as JSON on the client session, done on the 204, an error otherwise', async (t) => {
  // the chat branch registers POST /send on every chat server; here a stand-in on an h2c app answers as it does
  const app = createApp(undefined, undefined, 'h2')
  const got: { body: string; type: string | undefined }[] = []
  let connections = 0
  app.server.on('connection', () => connections++)
  app.post('/send', (req, reply) => {
    got.push({ body: JSON.stringify(req.body), type: req.headers['content-type'] })
    if ((req.body as { id?: number }).id === 0) return reply.code(400).send({ error: 'Bad Request' })
    reply.code(204).header('pb-seq', got.length).send()
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => app.close())
  const port = (app.server.address() as net.AddressInfo).port
  const link = new H2Link(new URL(`http://127.0.0.1:${port}`), new ClientSockets(), undefined)
  t.after(() => link.close())
  const send = (body: object) =>
    new Promise<Error | undefined>((resolve) => link.send(Buffer.from(JSON.stringify(body)), resolve))
  const msg = { room: 0, from: 1, id: 1, ts: 1, pad: 'x' }
  assert.equal(await send(msg), undefined)
  assert.equal(await send({ ...msg, id: 2 }), undefined)
  assert.match(String(await send({ ...msg, id: 0 })), /HTTP 400/)
  assert.deepEqual(
    got.map((g) => [JSON.parse(g.body).id, g.type]),
    [
      [1, 'application/json'],
      [2, 'application/json'],
      [0, 'application/json'],
    ],
  )
  // all three on one session: one TCP connection
  assert.equal(connections, 1)
})
