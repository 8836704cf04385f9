/** The transport registry (lib/transports.ts): the one list every part of the suite reads. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
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
  for (const p of paths) assert.match(p, /^\/[a-z-]+$/)
  assert.deepEqual(transportsOfKind('poll'), ['short-poll'])
  assert.deepEqual(transportsOfKind('push'), ['long-poll', 'sse', 'websocket'])
})

test('every entry loads its server, baseline and library client', async () => {
  for (const name of ['short-poll', 'long-poll', 'sse', 'websocket']) {
    const e = transport(name)
    assert.equal(typeof (await e.server()), 'function', name)
    assert.equal(typeof (await e.baseline?.()), 'function', name)
    assert.equal(typeof (await e.clients.library()), 'function', name)
  }
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
