/**
 * The Origin rule (servers/cors.ts) on real servers: CORS headers and preflights on the HTTP transports,
 * the Origin check of WebSocket upgrades, and the allowOrigin option and flag.
 */
import assert from 'node:assert/strict'
import { type IncomingHttpHeaders, request } from 'node:http'
import { test } from 'node:test'
import { PbOptionError } from '../../lib/errors.ts'
import { resolveServerOptions, type ServerOptions } from '../../servers/options.ts'
import { type RunningServer, startServer } from '../../servers/server.ts'
import { connect } from '../helpers/byte-reader.ts'
import { runMain } from '../helpers/child-server.ts'
import { readResponse } from '../helpers/raw-http.ts'
import { RFC_KEY } from '../helpers/ws-frames.ts'

const PAGE = 'http://app.example:8080'
const OTHER = 'https://evil.example'

const HTTP = [
  { transport: 'short-poll', path: '/poll', query: '?since=0' },
  { transport: 'long-poll', path: '/long-poll', query: '?since=0' },
  { transport: 'sse', path: '/sse', query: '' },
] as const

async function server(
  t: { after: (fn: () => Promise<void>) => void },
  transport: string,
  extra: Partial<ServerOptions> = {},
): Promise<RunningServer> {
  const s = await startServer({
    transport,
    port: 0,
    autoStart: false,
    longPollTimeoutMs: 50,
    allowOrigin: [PAGE],
    ...extra,
  })
  t.after(() => s.close())
  // one update, so that a poll from seq 0 is answered at once
  s.source.publishTick()
  return s
}

interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** One request as a browser's would come (Host with the port); an event stream is dropped after its head. */
function ask(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const answer = { status: res.statusCode ?? 0, headers: res.headers, body: '' }
      if (res.headers['content-type'] === 'text/event-stream') {
        res.destroy()
        resolve(answer)
        return
      }
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        answer.body += c
      })
      res.once('end', () => resolve(answer))
    })
    req.once('error', reject)
    req.end()
  })
}

const sameOrigin = (s: RunningServer) => `http://127.0.0.1:${s.port}`

function assertNoCors(a: Answer, what: string): void {
  for (const h of [
    'access-control-allow-origin',
    'access-control-expose-headers',
    'access-control-allow-methods',
  ])
    assert.equal(a.headers[h], undefined, `${what}: no ${h}`)
}

for (const { transport, path, query } of HTTP) {
  test(`${transport}: an allowed origin gets its origin echoed, Vary: Origin and pb-seq exposed`, async (t) => {
    const s = await server(t, transport)
    const a = await ask(s.port, `${path}${query}`, { origin: PAGE })
    assert.equal(a.status, 200)
    assert.equal(a.headers['access-control-allow-origin'], PAGE)
    assert.match(String(a.headers.vary), /\bOrigin\b/i)
    assert.match(String(a.headers['access-control-expose-headers']), /\bpb-seq\b/i)
    if (transport !== 'sse') {
      // the 204 (nothing newer; held until the timeout for a long poll) carries pb-seq, which the page may read
      const empty = await ask(s.port, path, { origin: PAGE })
      assert.equal(empty.status, 204)
      assert.equal(empty.headers['pb-seq'], '1')
      assert.equal(empty.headers['access-control-allow-origin'], PAGE)
      assert.match(String(empty.headers['access-control-expose-headers']), /\bpb-seq\b/i)
    }
    // an error answer is readable by the page too
    const bad = await ask(s.port, `${path}?stream=9`, { origin: PAGE })
    assert.equal(bad.status, 400)
    assert.equal(bad.headers['access-control-allow-origin'], PAGE)
  })

  test(`${transport}: an origin not listed is answered as usual, without CORS headers`, async (t) => {
    const s = await server(t, transport)
    const a = await ask(s.port, `${path}${query}`, { origin: OTHER })
    assert.equal(a.status, 200)
    assertNoCors(a, OTHER)
    // nor is one that is only almost the listed one
    assertNoCors(await ask(s.port, `${path}${query}`, { origin: `${PAGE}1` }), `${PAGE}1`)
    // no Origin (not a browser's cross-origin request): nothing added
    assertNoCors(await ask(s.port, `${path}${query}`), 'no Origin')
  })

  test(`${transport}: the server's own origin needs no list; * admits any origin, echoed`, async (t) => {
    const own = await server(t, transport, { allowOrigin: [] })
    const same = await ask(own.port, `${path}${query}`, { origin: sameOrigin(own) })
    assert.equal(same.status, 200)
    assertNoCors(same, 'same origin')
    assertNoCors(await ask(own.port, `${path}${query}`, { origin: PAGE }), 'empty list, cross origin')

    const any = await server(t, transport, { allowOrigin: ['*'] })
    const a = await ask(any.port, `${path}${query}`, { origin: OTHER })
    assert.equal(a.headers['access-control-allow-origin'], OTHER)
    assert.match(String(a.headers.vary), /\bOrigin\b/i)
  })

  test(`${transport}: preflight: 204 with the CORS headers for an allowed origin, 403 JSON otherwise`, async (t) => {
    const s = await server(t, transport)
    const preflight = {
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'last-event-id',
    }
    const ok = await ask(s.port, path, { origin: PAGE, ...preflight }, 'OPTIONS')
    assert.equal(ok.status, 204)
    assert.equal(ok.headers['access-control-allow-origin'], PAGE)
    assert.match(String(ok.headers.vary), /\bOrigin\b/i)
    assert.equal(ok.headers['access-control-allow-methods'], 'GET')
    assert.equal(ok.headers['access-control-allow-headers'], 'last-event-id')
    assert.equal(ok.headers['access-control-max-age'], '600')

    const no = await ask(s.port, path, { origin: OTHER, ...preflight }, 'OPTIONS')
    assert.equal(no.status, 403)
    assertNoCors(no, 'refused preflight')
    assert.deepEqual(JSON.parse(no.body), {
      error: 'Forbidden',
      code: 'PB_ERR_ORIGIN',
      message: `origin ${OTHER} is not allowed; start the server with --allow-origin ${OTHER}`,
    })
    // only the transport's path: elsewhere the 404 handler answers
    assert.equal((await ask(s.port, '/elsewhere', { origin: PAGE, ...preflight }, 'OPTIONS')).status, 404)
  })
}

/** A WebSocket upgrade as a browser sends it (Host with the port), on a raw socket: the answer's head and body. */
async function upgradeFrom(s: RunningServer, origin: string | undefined) {
  const r = await connect(s.port)
  const lines = [
    'GET /ws HTTP/1.1',
    `Host: 127.0.0.1:${s.port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${RFC_KEY}`,
    'Sec-WebSocket-Version: 13',
    ...(origin === undefined ? [] : [`Origin: ${origin}`]),
  ]
  r.socket.write(`${lines.join('\r\n')}\r\n\r\n`)
  try {
    return await readResponse(r)
  } finally {
    // a 101 is an open WebSocket: drop it (a raw socket would not answer the server's close frame)
    r.socket.destroy()
  }
}

test('websocket: an upgrade from an origin not listed is refused 403; listed, same or no origin gets 101', async (t) => {
  const s = await server(t, 'websocket')
  const refused = await upgradeFrom(s, OTHER)
  assert.match(refused.raw.toString('latin1'), /^HTTP\/1\.1 403 Forbidden\r\n/)
  assert.deepEqual(JSON.parse(refused.body.toString()), {
    error: 'Forbidden',
    code: 'PB_ERR_ORIGIN',
    message: `origin ${OTHER} is not allowed; start the server with --allow-origin ${OTHER}`,
  })
  assert.equal(s.stats.errors, 1)
  assert.equal(s.stats.streams, 0)

  for (const origin of [PAGE, sameOrigin(s), undefined]) {
    const ok = await upgradeFrom(s, origin)
    assert.equal(ok.status, 101, String(origin))
  }
  assert.equal(s.stats.errors, 1)

  // the default list admits the server's own origin only
  const own = await server(t, 'websocket', { allowOrigin: [] })
  assert.equal((await upgradeFrom(own, PAGE)).status, 403)
  assert.equal((await upgradeFrom(own, sameOrigin(own))).status, 101)
  // a sandboxed page's `null` can only be admitted by *
  assert.match(JSON.parse((await upgradeFrom(own, 'null')).body.toString()).message, /--allow-origin '\*'/)
  const any = await server(t, 'websocket', { allowOrigin: ['*'] })
  assert.equal((await upgradeFrom(any, OTHER)).status, 101)
})

test('allowOrigin: each entry an origin or *; a bad one is an option error naming the field and the form', () => {
  const ok = resolveServerOptions({
    transport: 'sse',
    allowOrigin: ['http://a.example', 'https://b.example:8443', 'http://127.0.0.1:3000', '*'],
  })
  assert.deepEqual(ok.allowOrigin, [
    'http://a.example',
    'https://b.example:8443',
    'http://127.0.0.1:3000',
    '*',
  ])
  assert.ok(Object.isFrozen(ok.allowOrigin))
  const dflt = resolveServerOptions({ transport: 'sse' }).allowOrigin
  assert.deepEqual(dflt, [])
  assert.ok(Object.isFrozen(dflt))

  const bad = [
    'http://x/path',
    'ftp:/x',
    'x',
    'http://a.example/',
    'http://a.example?q',
    'HTTP://A.example',
    '',
  ]
  for (const entry of bad) {
    for (const [names, field] of [
      [{}, 'allowOrigin'],
      [{ allowOrigin: '--allow-origin' }, '--allow-origin'],
    ] as const) {
      assert.throws(
        () => resolveServerOptions({ transport: 'sse', allowOrigin: ['http://fine.example', entry] }, names),
        (e: unknown) =>
          e instanceof PbOptionError &&
          e.field === field &&
          e.message.includes(JSON.stringify(entry)) &&
          e.message.includes('http(s)://host[:port]'),
        `${JSON.stringify(entry)} refused naming ${field}`,
      )
    }
  }
  assert.throws(
    () => resolveServerOptions({ transport: 'sse', allowOrigin: 'http://a.example' as unknown as string[] }),
    (e: unknown) => e instanceof PbOptionError && e.field === 'allowOrigin',
  )
})

test('pushbench serve --allow-origin: a bad origin exits 2 naming the flag', async () => {
  const run = await runMain(['--transport', 'sse', '--allow-origin', 'nope'])
  assert.equal(run.code, 2, run.stderr)
  assert.match(run.stderr, /--allow-origin: "nope" is not an origin/)
  assert.equal(run.stdout, '')
  const second = await runMain([
    '--transport',
    'sse',
    '--allow-origin',
    'http://a.example, http://b.example/',
  ])
  assert.equal(second.code, 2, second.stderr)
  assert.match(
    second.stderr,
    /--allow-origin: "http:\/\/b\.example\/" is not an origin \(did you mean http:\/\/b\.example\?\)/,
  )
})
