/**
 * TLS (issue 12, `--tls`): the throwaway certificate (lib/tls-cert.ts), and each transport's server over
 * https/wss read by its library client (load/clients/*, trusting that certificate alone) delivering the
 * same updates, seq and publish instant, as the plain server with the same seed does. In-process, the
 * ticks published by hand: no load, no timing.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { test } from 'node:test'
import WebSocket from 'ws'
import { PbError, PbOptionError } from '../../lib/errors.ts'
import { newHistogram } from '../../lib/latency.ts'
import { DEFAULT_PARAMS } from '../../lib/params.ts'
import { checkTlsClient, makeTlsCert, namesFor, subjectAltName } from '../../lib/tls-cert.ts'
import { type BuiltinTransport, transport as transportEntry } from '../../lib/transports.ts'
import { type ClientContext, ClientSockets, type LoadClient } from '../../load/clients/common.ts'
import { stratifiedPhases } from '../../load/poll-phases.ts'
import { startBaseline } from '../../servers/baseline/index.ts'
import { resolveServerOptions } from '../../servers/options.ts'
import { type RunningServer, startServer } from '../../servers/server.ts'
import { ROOT } from '../helpers/load-cli.ts'
import { waitFor } from '../helpers/wait.ts'

const TRANSPORTS: readonly BuiltinTransport[] = ['short-poll', 'long-poll', 'sse', 'websocket']
const SERVER = { seed: 20_261_212, symbols: 50, updatesPerTick: 3, payloadBytes: 160, autoStart: false }
const TICKS = 12
const TS0 = 1_765_000_000_000
/** the same publish instants on every server, so the JSON (and the bytes) are the same */
const ts = (i: number) => TS0 + i * 100.125

test('makeTlsCert: EC P-256, one day, CN=localhost, localhost + 127.0.0.1 + the caller addresses, key 0600; remove() removes the folder', async () => {
  const cert = await makeTlsCert({ ips: ['10.201.0.1'], dnsNames: ['pb.test'] })
  try {
    assert.match(cert.dir, /pushbench-tls-[^/]+$/)
    assert.equal(readFileSync(cert.certPath, 'utf8'), cert.certPem)
    assert.equal(statSync(cert.keyPath).mode & 0o077, 0, 'the private key is readable by its owner only')
    const x = new X509Certificate(cert.certPem)
    assert.equal(x.subject, 'CN=localhost')
    assert.equal(x.subjectAltName, 'DNS:localhost, DNS:pb.test, IP Address:127.0.0.1, IP Address:10.201.0.1')
    assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1')
    const days = (Date.parse(x.validTo) - Date.parse(x.validFrom)) / 86_400_000
    assert.ok(days > 0.99 && days < 1.01, `valid ${days} days`)
    assert.ok(x.checkIP('127.0.0.1') && x.checkIP('10.201.0.1') && x.checkHost('localhost'))
  } finally {
    cert.remove()
  }
  assert.equal(existsSync(cert.dir), false)
  cert.remove() // idempotent
})

test('the certificate folder goes with the process: an exit without remove() leaves nothing', () => {
  const code = `
    import { makeTlsCert } from './lib/tls-cert.ts'
    const c = await makeTlsCert()
    console.log(c.dir)
    process.exit(0)`
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
  })
  assert.equal(r.status, 0, r.stderr)
  const dir = r.stdout.trim()
  assert.match(dir, /pushbench-tls-/)
  assert.equal(existsSync(dir), false, `${dir} left behind`)
})

test('no openssl: a PbError that says what to do; bad names are refused', async () => {
  await assert.rejects(makeTlsCert({ openssl: 'pushbench-no-such-openssl' }), (err: unknown) => {
    assert.ok(err instanceof PbError)
    assert.equal(err.code, 'PB_ERR_TLS')
    assert.match(err.message, /openssl.*not found on PATH.*install it/)
    return true
  })
  assert.throws(() => subjectAltName({ ips: ['10.201.0.0/24'] }), /not an IP address/)
  assert.deepEqual(namesFor('10.201.0.1'), { ips: ['10.201.0.1'] })
  assert.deepEqual(namesFor('[::1]'), { ips: ['::1'] })
  assert.deepEqual(namesFor('localhost'), { dnsNames: ['localhost'] })
})

test('server options: --tls-key and --tls-cert both or neither, each a readable file, named in the error', async () => {
  const names = { tlsKey: '--tls-key', tlsCert: '--tls-cert' }
  const cert = await makeTlsCert()
  try {
    const only = (o: object, field: string) =>
      assert.throws(
        () => resolveServerOptions({ transport: 'sse', ...o }, names),
        (e: unknown) => e instanceof PbOptionError && e.field === field,
      )
    // the one missing is named
    only({ tlsKey: cert.keyPath }, '--tls-cert')
    only({ tlsCert: cert.certPath }, '--tls-key')
    only({ tlsKey: `${cert.dir}/missing.pem`, tlsCert: cert.certPath }, '--tls-key')
    only({ tlsKey: cert.keyPath, tlsCert: cert.dir }, '--tls-cert')
    const o = resolveServerOptions({ transport: 'sse', tlsKey: cert.keyPath, tlsCert: cert.certPath })
    assert.equal(o.tlsKey, cert.keyPath)
    assert.equal(resolveServerOptions({ transport: 'sse' }).tlsKey, undefined)
  } finally {
    cert.remove()
  }
  assert.throws(
    () => checkTlsClient(true, 'browser'),
    (e: unknown) => e instanceof PbOptionError && e.field === '--tls',
  )
  checkTlsClient(true, 'library')
  checkTlsClient(false, 'browser')
})

/** A library client of `transport` against `server`, with every (seq, ts) it accounts recorded. */
async function libraryClient(
  transport: BuiltinTransport,
  server: RunningServer,
  ca: string | undefined,
  stops: (() => void)[],
): Promise<{ client: LoadClient; got: [number, number][]; sockets: ClientSockets }> {
  const entry = transportEntry(transport)
  const sockets = new ClientSockets()
  const ctx: ClientContext = {
    base: new URL(server.url),
    path: entry.path,
    streams: 1,
    params: { ...DEFAULT_PARAMS, pollIntervalMs: 20 },
    // no window: nothing is counted as measured, every update still reaches onUpdate
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
  // a long poll without `since` is held until the next update: it subscribes by being held
  if (transport === 'long-poll')
    await waitFor(() => server.stats.heldRequests === 1, `${transport}: the first poll to be held`)
  else await waitFor(() => client.subscribed, `${transport}: the client to subscribe`)
  return { client, got, sockets }
}

for (const transport of TRANSPORTS) {
  test(`${transport}: over TLS the library client gets the same updates as over plain http, pushbench and baseline servers; the wire bytes agree at both ends`, async (t) => {
    const cert = await makeTlsCert()
    const tls = { tlsKey: cert.keyPath, tlsCert: cert.certPath }
    const servers = {
      plain: await startServer({ transport, ...SERVER }),
      tls: await startServer({ transport, ...SERVER, ...tls }),
      'tls-baseline': await startBaseline({ transport, ...SERVER, ...tls }),
    }
    const stops: (() => void)[] = []
    t.after(async () => {
      for (const stop of stops) stop()
      await Promise.all(Object.values(servers).map((s) => s.close()))
      cert.remove()
    })
    assert.match(servers.plain.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.match(servers.tls.url, /^https:\/\/127\.0\.0\.1:\d+$/)
    assert.match(servers['tls-baseline'].url, /^https:/)

    const clients = {
      plain: await libraryClient(transport, servers.plain, undefined, stops),
      tls: await libraryClient(transport, servers.tls, cert.certPem, stops),
      'tls-baseline': await libraryClient(transport, servers['tls-baseline'], cert.certPem, stops),
    }
    // ticks published by hand, in three batches, the clients caught up in between
    const total = TICKS * SERVER.updatesPerTick
    for (let tick = 0; tick < TICKS; ) {
      for (const end = tick + TICKS / 3; tick < end; tick++)
        for (const s of Object.values(servers)) s.source.publishTick(ts(tick))
      const last = tick * SERVER.updatesPerTick
      for (const [kind, c] of Object.entries(clients))
        await waitFor(() => c.client.delivery.maxSeq >= last, `${transport} ${kind}: seq ${last}`)
    }
    const plain = clients.plain.got
    assert.deepEqual(
      plain.map(([seq]) => seq),
      Array.from({ length: total }, (_, i) => i + 1),
      'plain: every seq once, in order',
    )
    assert.deepEqual(clients.tls.got, plain, 'TLS: the same (seq, ts) as plain')
    assert.deepEqual(clients['tls-baseline'].got, plain, 'TLS baseline: the same (seq, ts) as plain')
    for (const c of Object.values(clients))
      assert.equal(c.client.counters.errors, 0, c.client.counters.lastError)

    // the server counts its TCP sockets (TLS records included) and the client its own TCP sockets
    // (load/clients/tls.ts): once quiet, both ends agree to the byte, and TLS costs more than plain
    const wire = (kind: keyof typeof servers) => {
      const s = servers[kind].counters()
      const c = clients[kind].sockets.bytes()
      return { server: [s.bytesRead, s.bytesWritten], client: [c.written, c.read] }
    }
    for (const kind of Object.keys(servers) as (keyof typeof servers)[]) {
      await waitFor(
        () => JSON.stringify(wire(kind).server) === JSON.stringify(wire(kind).client),
        `${transport} ${kind}: server and client byte counts to agree (${JSON.stringify(wire(kind))})`,
      )
    }
    const plainOut = wire('plain').server[1] as number
    const tlsOut = wire('tls').server[1] as number
    // a certificate (~600 B) and the handshake, then 22 B per TLS record (5 header, 16 tag, 1 type)
    assert.ok(tlsOut > plainOut + 600, `${transport}: ${tlsOut} B over TLS vs ${plainOut} B plain`)
  })
}

test("over TLS the server's own https origin is same origin: its page may open the wss socket, another origin may not", async (t) => {
  const cert = await makeTlsCert()
  const server = await startServer({
    transport: 'websocket',
    ...SERVER,
    tlsKey: cert.keyPath,
    tlsCert: cert.certPath,
  })
  t.after(async () => {
    await server.close()
    cert.remove()
  })
  const open = (origin: string) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`wss://127.0.0.1:${server.port}/ws`, { ca: cert.certPem, origin })
      // terminating a socket the server refused is an error to ws: the status is what is asserted
      ws.on('error', () => {})
      ws.once('open', () => {
        ws.terminate()
        resolve(101)
      })
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0)
        ws.terminate()
      })
    })
  assert.equal(await open(`https://127.0.0.1:${server.port}`), 101)
  assert.equal(await open(`http://127.0.0.1:${server.port}`), 403)
  assert.equal(await open('https://elsewhere.example'), 403)
})
