import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pollBody } from '../../servers/frames.ts'
import { type RunningServer, startServer } from '../../servers/server.ts'
import { LongPollClient, range } from '../helpers/clients.ts'
import { HttpConnection, httpGet, jsonBody, readResponse } from '../helpers/raw-http.ts'
import { waitFor } from '../helpers/wait.ts'

const TS0 = 1_764_000_000_000
const ts = (i: number) => TS0 + i * 100.125

async function server(
  t: { after: (fn: () => Promise<void>) => void },
  extra: Record<string, unknown> = {},
): Promise<RunningServer> {
  const s = await startServer({ transport: 'long-poll', port: 0, autoStart: false, seed: 5, ...extra })
  t.after(() => s.close())
  return s
}

const held = (s: RunningServer, n: number) =>
  waitFor(() => s.stats.heldRequests === n, `heldRequests to be ${n} (is ${s.stats.heldRequests})`)

test('answers at once when newer updates exist', async (t) => {
  const s = await server(t, { updatesPerTick: 2 })
  for (let i = 0; i < 3; i++) s.source.publishTick(ts(i))
  const res = await httpGet(s.port, '/long-poll?since=1')
  assert.equal(res.status, 200)
  assert.match(res.headers['content-type'] ?? '', /^application\/json/)
  assert.deepEqual(res.body, pollBody(s.source.since(0, 1).map((u) => u.json)))
  assert.equal(s.stats.heldRequests, 0)
})

test('a held request is answered by the next publish', async (t) => {
  const s = await server(t, { updatesPerTick: 3 })
  s.source.publishTick(ts(0)) // 1..3
  const c = await HttpConnection.open(s.port)
  t.after(() => c.close())
  c.send('/long-poll?since=3')
  await held(s, 1)
  const published = s.source.publishTick(ts(1)) // 4..6
  const res = await readResponse(c.reader)
  assert.equal(res.status, 200)
  assert.deepEqual(res.body, pollBody(published.map((u) => u.json)))
  assert.equal(s.stats.heldRequests, 0)
  assert.equal(s.stats.heldRequestsMax, 1)

  // "from now": no since holds too, and the same keep-alive connection asks again
  c.send('/long-poll')
  await held(s, 1)
  s.source.publishTick(ts(2))
  assert.deepEqual(
    (JSON.parse((await readResponse(c.reader)).body.toString()) as { seq: number }[]).map((u) => u.seq),
    [7, 8, 9],
  )
})

test('a held request gets 204 with pb-seq after longPollTimeoutMs', async (t) => {
  const s = await server(t, { longPollTimeoutMs: 200 })
  s.source.publishTick(ts(0))
  const c = await HttpConnection.open(s.port)
  t.after(() => c.close())
  c.send('/long-poll?since=1')
  await held(s, 1)
  const res = await readResponse(c.reader)
  assert.equal(res.status, 204)
  assert.equal(res.headers['pb-seq'], '1')
  assert.equal(s.stats.heldRequests, 0)
})

test('a held request whose client disconnects is released at once', async (t) => {
  const s = await server(t) // default timeout 30 s: only the disconnect can release it
  const clients = await Promise.all([1, 2, 3].map(() => HttpConnection.open(s.port)))
  t.after(() => {
    for (const c of clients) c.close()
  })
  for (const c of clients) c.send('/long-poll?since=0')
  await held(s, 3)
  clients[0]?.close()
  await held(s, 2)
  clients[1]?.socket.end() // a half-close (FIN) instead of a reset
  await held(s, 1)
  // the one left is still answered, and nothing is written to the ones gone
  s.source.publishTick(ts(0))
  const res = await readResponse((clients[2] as HttpConnection).reader)
  assert.equal(res.status, 200)
  assert.equal(s.stats.heldRequests, 0)
  assert.equal(s.stats.heldRequestsMax, 3)
})

test('resume: asking again from the last seq seen after a disconnect misses nothing and repeats nothing', async (t) => {
  const s = await server(t, { updatesPerTick: 2 })
  const a = await LongPollClient.open(s.port)
  for (let i = 0; i < 10; i++) {
    await held(s, 1)
    s.source.publishTick(ts(i))
    await a.waitForSeq(2 * (i + 1))
  }
  await held(s, 1)
  await a.close() // drops the held request
  await held(s, 0)
  for (let i = 10; i < 20; i++) s.source.publishTick(ts(i)) // 21..40 while away

  const b = await LongPollClient.open(s.port, a.last)
  t.after(() => b.close())
  await b.waitForSeq(40)
  await held(s, 1)
  s.source.publishTick(ts(20))
  await b.waitForSeq(42)
  assert.deepEqual([...a.log.seqs, ...b.log.seqs], range(1, 42))
})

test('bad since is a 400 naming the field; nothing is held', async (t) => {
  const s = await server(t)
  for (const query of ['since=abc', 'since=-1', 'since=1&since=2']) {
    const res = await httpGet(s.port, `/long-poll?${query}`)
    assert.equal(res.status, 400, query)
    assert.equal(jsonBody(res).field, 'since')
  }
  assert.equal(s.stats.heldRequests, 0)
  assert.equal((await httpGet(s.port, '/poll')).status, 404)
})
