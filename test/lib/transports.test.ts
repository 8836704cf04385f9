/** The transport registry (lib/transports.ts): the one list every part of the suite reads. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  defaultTransports,
  isTransport,
  registerTransport,
  type TransportEntry,
  transport,
  transportNames,
  transportsOfKind,
} from '../../lib/transports.ts'

test('the four built-in transports, in order, each with its own path', () => {
  assert.deepEqual(transportNames().slice(0, 4), ['short-poll', 'long-poll', 'sse', 'websocket'])
  const paths = transportNames().map((n) => transport(n).path)
  assert.equal(new Set(paths).size, paths.length)
  // Socket.IO's path is a prefix with its trailing slash (engine.io matches the start of the URL); HTTP/2's are /h2/...
  for (const p of paths) assert.match(p, /^(\/[a-z0-9.-]+)+\/?$/)
  assert.deepEqual(transportsOfKind('poll'), ['short-poll'])
  assert.deepEqual(transportsOfKind('push'), ['long-poll', 'sse', 'websocket'])
})

test('the Socket.IO rows: opt-in push transports on the connection, with their own paths, no baseline or browser client', async () => {
  assert.deepEqual(defaultTransports().slice(0, 4), ['short-poll', 'long-poll', 'sse', 'websocket'])
  for (const name of ['socketio-ws', 'socketio-poll']) {
    const e = transport(name)
    assert.equal(e.optIn, true, name)
    assert.equal(e.kind, 'push', name)
    assert.equal(e.upstream, 'connection', name)
    assert.equal(e.baseline, undefined, name)
    assert.equal(e.clients.browser, undefined, name)
    assert.ok(!defaultTransports().includes(name), name)
    assert.equal(typeof (await e.server()), 'function', name)
    assert.equal(typeof (await e.clients.library()), 'function', name)
  }
  for (const name of ['socketio-ws', 'socketio-poll'])
    assert.equal(typeof (await transport(name).clients.lean?.()), 'function', name)
  assert.equal(transport('socketio-ws').path, '/socket.io/')
  assert.equal(transport('socketio-poll').path, '/socket.io-poll/')
  assert.deepEqual(transportsOfKind('push', true).slice(3, 5), ['socketio-ws', 'socketio-poll'])
})

test('every entry loads its server, baseline and library client', async () => {
  for (const name of ['short-poll', 'long-poll', 'sse', 'websocket']) {
    const e = transport(name)
    assert.equal(typeof (await e.server()), 'function', name)
    assert.equal(typeof (await e.baseline?.()), 'function', name)
    assert.equal(typeof (await e.clients.library()), 'function', name)
  }
})

test('the HTTP/2 rows: opt-in twins of the HTTP/1.1 ones, same routes and colour, a dashed line', async () => {
  const twins = { 'short-poll-h2': 'short-poll', 'long-poll-h2': 'long-poll', 'sse-h2': 'sse' } as const
  assert.deepEqual(defaultTransports(), ['short-poll', 'long-poll', 'sse', 'websocket'])
  for (const [name, twin] of Object.entries(twins)) {
    const e = transport(name)
    const t = transport(twin)
    assert.equal(e.optIn, true, name)
    assert.equal(e.protocol, 'h2', name)
    assert.equal(t.protocol ?? 'h1', 'h1', twin)
    assert.ok(e.path.startsWith('/h2/'), name)
    for (const k of ['kind', 'resume', 'color', 'freshness'] as const)
      assert.equal(e[k], t[k], `${name}.${k}`)
    assert.ok(e.dash && e.dash.length > 0 && t.dash === undefined, `${name}: dashed, ${twin} solid`)
    // the HTTP/1.1 rows' own routes: the same plugin serves both
    assert.equal(await e.server(), await t.server(), name)
    assert.equal(e.upstream, 'connection', `${name}: chat sends on its own session`)
    const Client = await e.clients.library()
    assert.equal(typeof Client.prototype.send, 'function', `${name}: the client sends on its session`)
    assert.equal(e.clients.browser, undefined, `${name}: the page has no HTTP/2 client`)
  }
  assert.deepEqual(transportsOfKind('push', true).slice(-2), ['long-poll-h2', 'sse-h2'])
})

test('an unknown name is refused naming the registered ones', () => {
  assert.equal(isTransport('carrier-pigeon'), false)
  assert.throws(
    () => transport('carrier-pigeon'),
    /no transport "carrier-pigeon"; registered: short-poll, long-poll/,
  )
})

test('registering checks the name, refuses a taken name and a taken path', () => {
  const base = transport('sse')
  const entry: TransportEntry = { ...base, label: 'toy', path: '/toy-registry-test' }
  assert.throws(() => registerTransport('Bad Name', entry), /must match/)
  assert.throws(() => registerTransport('sse', entry), /registered already/)
  assert.throws(() => registerTransport('toy-b', { ...entry, path: '/sse' }), /path \/sse is sse's/)
  registerTransport('toy-registry-test', entry)
  assert.ok(isTransport('toy-registry-test'))
  assert.equal(transport('toy-registry-test').path, '/toy-registry-test')
  assert.equal(transportNames().at(-1), 'toy-registry-test')
})
