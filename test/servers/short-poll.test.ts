import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pollBody } from '../../servers/frames.ts'
import { startServer } from '../../servers/server.ts'
import { connect } from '../helpers/byte-reader.ts'
import { range, ShortPollClient } from '../helpers/clients.ts'
import { HttpConnection, httpGet, jsonBody, readResponse, requestBytes } from '../helpers/raw-http.ts'
import { waitFor } from '../helpers/wait.ts'

const TS0 = 1_764_000_000_000
const ts = (i: number) => TS0 + i * 100.125

async function server(t: { after: (fn: () => Promise<void>) => void }, extra = {}) {
  const s = await startServer({ transport: 'short-poll', port: 0, autoStart: false, seed: 3, ...extra })
  t.after(() => s.close())
  return s
}

test('GET /poll?since=SEQ answers the stored update buffers as one JSON array, or 204', async (t) => {
  const s = await server(t, { updatesPerTick: 2 })
  for (let i = 0; i < 3; i++) s.source.publishTick(ts(i)) // seqs 1..6
  const c = await HttpConnection.open(s.port)
  t.after(() => c.close())

  const all = await c.get('/poll?since=0')
  assert.equal(all.status, 200)
  assert.match(all.headers['content-type'] ?? '', /^application\/json/)
  assert.deepEqual(all.body, pollBody(s.source.since(0, 0).map((u) => u.json)))
  assert.deepEqual(
    (JSON.parse(all.body.toString()) as { seq: number }[]).map((u) => u.seq),
    range(1, 6),
  )

  const tail = await c.get('/poll?since=4')
  assert.deepEqual(tail.body, pollBody(s.source.since(0, 4).map((u) => u.json)))

  // nothing newer: 204, and pb-seq says where to resume (also without since: "from now"); a since past
  // the newest is refused (test/servers/resume-contract.test.ts)
  for (const path of ['/poll?since=6', '/poll']) {
    const none = await c.get(path)
    assert.equal(none.status, 204, path)
    assert.equal(none.headers['pb-seq'], '6', path)
    assert.equal(none.body.length, 0)
  }
})

test('resume: a new connection polling from the last seq seen misses nothing and repeats nothing', async (t) => {
  const s = await server(t)
  for (let i = 0; i < 10; i++) s.source.publishTick(ts(i))
  const a = await ShortPollClient.open(s.port)
  await a.pollUntil(10)
  a.close()
  for (let i = 10; i < 25; i++) s.source.publishTick(ts(i))

  const b = await ShortPollClient.open(s.port, a.last)
  t.after(() => b.close())
  await b.pollUntil(25)
  assert.deepEqual([...a.log.seqs, ...b.log.seqs], range(1, 25))
})

test('bad since is a 400 naming the field; unknown path is a 404; the server keeps serving', async (t) => {
  const s = await server(t)
  s.source.publishTick(ts(0))
  for (const bad of ['abc', '-1', '1.5', '1e3', '%20']) {
    const res = await httpGet(s.port, `/poll?since=${bad}`)
    assert.equal(res.status, 400, bad)
    assert.match(res.headers['content-type'] ?? '', /^application\/json/)
    const body = jsonBody(res)
    assert.equal(body.field, 'since', bad)
    assert.match(String(body.message), /since/)
  }
  const missing = await httpGet(s.port, '/nope')
  assert.equal(missing.status, 404)
  assert.equal(jsonBody(missing).code, 'PB_ERR_NOT_FOUND')
  assert.equal((await httpGet(s.port, '/poll?since=0')).status, 200)
})

test('socket byte counters equal what the client sockets wrote and read, closed sockets included', async (t) => {
  const s = await server(t, { updatesPerTick: 3 })
  s.source.publishTick(ts(0))
  assert.deepEqual([s.counters().bytesRead, s.counters().bytesWritten], [0, 0])

  // one exchange, then the client closes
  const a = await connect(s.port)
  a.socket.write(requestBytes('/poll?since=0', { 'User-Agent': 'pushbench-test' }))
  assert.equal((await readResponse(a)).status, 200)
  await waitFor(() => s.counters().bytesRead === a.socket.bytesWritten, 'server bytesRead to match')
  assert.equal(s.counters().bytesWritten, a.socket.bytesRead)
  a.socket.end()
  await a.closed
  await waitFor(() => s.counters().connections === 0, 'the server socket to close')
  assert.equal(s.counters().bytesRead, a.socket.bytesWritten)
  assert.equal(s.counters().bytesWritten, a.socket.bytesRead)

  // a second socket, still open (a 204 this time): the sum covers the closed one and the live one
  const b = await connect(s.port)
  t.after(() => b.socket.destroy())
  b.socket.write(requestBytes('/poll?since=3'))
  assert.equal((await readResponse(b)).status, 204)
  const wrote = a.socket.bytesWritten + b.socket.bytesWritten
  await waitFor(() => s.counters().bytesRead === wrote, 'server bytesRead to match both sockets')
  const c = s.counters()
  assert.equal(c.bytesWritten, a.socket.bytesRead + b.socket.bytesRead)
  assert.equal(c.connections, 1)
  assert.equal(c.connectionsTotal, 2)
})
