import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { CounterSnapshot } from '../../servers/counters.ts'
import { MIN_PAYLOAD_BYTES } from '../../servers/update.ts'
import { connect } from '../helpers/byte-reader.ts'
import { type ChildServer, ipcRequest, runMain, startMain } from '../helpers/child-server.ts'
import { SseClient, WsClient } from '../helpers/clients.ts'
import { HttpConnection, readResponse } from '../helpers/raw-http.ts'
import { waitFor, withTimeout } from '../helpers/wait.ts'

/** Starts scripts/serve.ts with IPC as the orchestrator does (to read its counters); kills it after the test if still up. */
async function start(t: { after: (fn: () => Promise<void>) => void }, args: string[]): Promise<ChildServer> {
  const s = await startMain(['--port', '0', ...args], { ipc: true })
  t.after(() => s.kill())
  return s
}

async function counters(s: ChildServer): Promise<CounterSnapshot> {
  return (await ipcRequest<'counters'>(s.child, { type: 'counters' })).counters
}

/** Polls the child's counters over IPC until `cond` holds. */
async function until(s: ChildServer, cond: (c: CounterSnapshot) => boolean, what: string): Promise<void> {
  let last: CounterSnapshot | undefined
  const deadline = performance.now() + 5000
  for (;;) {
    last = await counters(s)
    if (cond(last)) return
    if (performance.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** SIGTERM, then the exit: 0, by itself (not by a signal), with nothing on stderr. */
async function terminate(s: ChildServer): Promise<void> {
  s.child.kill('SIGTERM')
  const exit = await withTimeout(s.exited, 'the server to exit after SIGTERM', 10_000)
  assert.deepEqual(exit, { code: 0, signal: null }, s.stderr())
  assert.equal(s.stderr(), '')
  assert.throws(() => process.kill(s.ready.pid, 0), { code: 'ESRCH' })
}

test('bad flags and config values exit 2 with stderr naming the flag', async () => {
  const cases: [string[], RegExp][] = [
    [['--transport', 'sse', '--tick-hz', 'abc'], /--tick-hz.*'abc'.*not a number \(allowed: 0\.1\.\.1000\)/],
    [['--transport', 'sse', '--port', '99999'], /--port: must be an integer from 0 to 65535, got 99999/],
    [['--transport', 'sse', '--port', 'http'], /--port.*not a number \(allowed: 0\.\.65535\)/],
    [['--transport', 'sse', '--payload-bytes', '10'], new RegExp(`--payload-bytes.*${MIN_PAYLOAD_BYTES}`)],
    [['--transport', 'carrier-pigeon'], /--transport.*carrier-pigeon/],
    [['--transport', 'sse', '--carrier-pigeon'], /--carrier-pigeon/],
    [['--tick-hz', '10'], /--transport/],
    [['--transport', 'websocket', '--write-policy', 'sometimes'], /--write-policy/],
    [['--transport', 'long-poll', '--max-buffered-bytes', '10'], /--max-buffered-bytes/],
  ]
  const runs = await Promise.all(cases.map(([args]) => runMain(args)))
  cases.forEach(([args, flag], i) => {
    const run = runs[i]
    assert.ok(run)
    assert.equal(run.code, 2, `${args.join(' ')}: exit ${run.code}, stderr ${run.stderr}`)
    assert.match(run.stderr, flag, args.join(' '))
    assert.equal(run.stdout, '', `${args.join(' ')} printed no ready line`)
  })
})

test('pushbench serve in a terminal (no IPC): a JSON ready line, then exit 0 on SIGTERM', async (t) => {
  const s = await startMain(['--transport', 'sse', '--port', '0'], { cli: true })
  t.after(() => s.kill())
  assert.equal(s.ready.event, 'ready')
  assert.equal(s.ready.transport, 'sse')
  assert.ok(s.ready.port > 0)
  // one process: the CLI runs the server in itself, so the signal reaches the server directly
  assert.equal(s.ready.pid, s.child.pid)
  const c = await SseClient.open(s.ready.port)
  t.after(() => c.close())
  await c.waitForSeq(1)
  await terminate(s)
  await c.ended()
})

test('prints one JSON ready line and answers counters over IPC', async (t) => {
  const s = await start(t, ['--transport', 'short-poll', '--seed', '7', '--tick-hz', '50'])
  assert.equal(s.ready.event, 'ready')
  assert.equal(s.ready.transport, 'short-poll')
  assert.equal(s.ready.host, '127.0.0.1')
  assert.ok(s.ready.port > 0)
  assert.equal(s.ready.url, `http://127.0.0.1:${s.ready.port}`)
  assert.equal(s.ready.pid, s.child.pid)
  await until(s, (c) => c.lastSeq >= 2, 'the ticker to tick')
  const c = await counters(s)
  assert.equal(c.connections, 0)
  assert.ok(c.cpuUserUs > 0)
  assert.ok(c.rssMaxBytes > 0)
  await terminate(s)
})

test('SIGTERM with a WebSocket open: the client gets close 1001, then the end; exit 0', async (t) => {
  const s = await start(t, ['--transport', 'websocket', '--tick-hz', '50'])
  const c = await WsClient.open(s.ready.port)
  t.after(() => c.close())
  await c.waitForSeq(1)
  const closed = c.closedByServer()
  await terminate(s)
  assert.equal(await closed, 1001)
})

test('SIGTERM with an SSE stream open: the stream ends with its last chunk, then the connection; exit 0', async (t) => {
  const s = await start(t, ['--transport', 'sse', '--tick-hz', '50'])
  const c = await SseClient.open(s.ready.port)
  t.after(() => c.close())
  await c.waitForSeq(1)
  await terminate(s)
  await c.ended()
  assert.ok(c.finished, 'the chunked stream was terminated (0\\r\\n\\r\\n)')
  await c.reader.end()
})

test('SIGTERM with a long poll held: it is answered (204), then the connection ends; exit 0', async (t) => {
  // one tick every 10 s: nothing answers the held request but the shutdown
  const s = await start(t, ['--transport', 'long-poll', '--tick-hz', '0.1'])
  const c = await HttpConnection.open(s.ready.port)
  t.after(async () => c.close())
  c.send('/long-poll')
  await until(s, (x) => x.stats.heldRequests === 1, 'the request to be held')
  s.child.kill('SIGTERM')
  const res = await readResponse(c.reader)
  assert.equal(res.status, 204)
  assert.equal(res.headers.connection, 'close')
  await c.reader.end()
  const exit = await withTimeout(s.exited, 'exit after SIGTERM')
  assert.deepEqual(exit, { code: 0, signal: null }, s.stderr())
})

test('SIGTERM with an idle keep-alive poll connection: the connection ends; exit 0', async (t) => {
  const s = await start(t, ['--transport', 'short-poll'])
  const c = await HttpConnection.open(s.ready.port)
  t.after(async () => c.close())
  assert.ok([200, 204].includes((await c.get('/poll?since=0')).status))
  await terminate(s)
  await c.reader.end()
})

test('SIGTERM the moment the ready line is read: exit 0 (the handlers are in place first); the port is closed', async (t) => {
  // a race, so a check that catches a regression often, not always: with the handlers installed
  // after the line, about one run in two of this test failed here
  for (const transport of ['short-poll', 'long-poll', 'sse', 'websocket', 'sse'] as const) {
    const s = await startMain(['--transport', transport, '--port', '0'])
    t.after(() => s.kill())
    await terminate(s)
    await assert.rejects(connect(s.ready.port), /ECONNREFUSED/)
  }
})

test('the process exits 0 when its IPC parent disconnects', async (t) => {
  const s = await start(t, ['--transport', 'websocket'])
  const c = await WsClient.open(s.ready.port)
  t.after(() => c.close())
  await until(s, (x) => x.stats.streams === 1, 'the WebSocket to be counted')
  s.child.disconnect()
  const exit = await withTimeout(s.exited, 'exit after the IPC disconnect', 10_000)
  assert.deepEqual(exit, { code: 0, signal: null }, s.stderr())
  assert.equal(await c.closedByServer(), 1001)
  await waitFor(() => c.reader.ended, 'the socket to end')
})
