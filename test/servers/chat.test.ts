/** The chat workload's upstream on a real server: POST /send on every transport, a WebSocket text message. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defaultTransports } from '../../lib/transports.ts'
import { type RunningServer, startServer } from '../../servers/server.ts'
import { clientFrame, OP, readFrame, wsOpen } from '../helpers/ws-frames.ts'

const TS = 1_764_000_000_123.456

async function chatServer(
  t: { after: (fn: () => Promise<void>) => void },
  transport: string,
): Promise<RunningServer> {
  const s = await startServer({ transport, workload: 'chat', rooms: 3, port: 0, autoStart: false })
  t.after(() => s.close())
  return s
}

const body = (o: Record<string, unknown>): string => JSON.stringify(o)

async function post(s: RunningServer, text: string | Buffer): Promise<Response> {
  return fetch(`${s.url}/send`, {
    method: 'POST',
    body: text,
    headers: { 'content-type': 'application/json' },
  })
}

for (const transport of defaultTransports()) {
  test(`${transport}: POST /send takes a chat message: 204, pb-seq and pb-stream, the room's next seq`, async (t) => {
    const s = await chatServer(t, transport)
    const seen: string[] = []
    s.source.onPublish((stream, ms) => {
      for (const m of ms) seen.push(`${stream}:${m.json.toString()}`)
    })
    for (const id of [1, 2]) {
      const res = await post(s, body({ room: 2, from: 5, id, ts: TS, pad: 'xx' }))
      assert.equal(res.status, 204)
      assert.equal(res.headers.get('pb-seq'), String(id))
      assert.equal(res.headers.get('pb-stream'), '2')
    }
    assert.deepEqual(seen, [
      `2:{"seq":1,"room":2,"from":5,"id":1,"ts":${TS},"pad":"xx"}`,
      `2:{"seq":2,"room":2,"from":5,"id":2,"ts":${TS},"pad":"xx"}`,
    ])
    assert.equal(s.source.lastSeqOf(2), 2)
    assert.equal(s.source.lastSeqOf(0), 0)
  })
}

test('POST /send: a bad body is a 400 naming the field; a body past the bound, 413', async (t) => {
  const s = await chatServer(t, 'long-poll')
  const cases: [string, string][] = [
    ['not json', 'body'],
    ['[1,2]', 'body'],
    [body({ room: 3, from: 1, id: 1, ts: TS }), 'room'],
    [body({ room: -1, from: 1, id: 1, ts: TS }), 'room'],
    [body({ from: 1, id: 1, ts: TS }), 'room'],
    [body({ room: 0, id: 1, ts: TS }), 'from'],
    [body({ room: 0, from: 1, id: 1.5, ts: TS }), 'id'],
    [body({ room: 0, from: 1, id: 1 }), 'ts'],
    [body({ room: 0, from: 1, id: 1, ts: TS, pad: 7 }), 'pad'],
    [body({ room: 0, from: 1, id: 1, ts: TS, seq: 9 }), 'body'],
    ['', 'body'],
  ]
  for (const [text, field] of cases) {
    const res = await post(s, text)
    assert.equal(res.status, 400, text)
    const j = (await res.json()) as { field: string }
    assert.equal(j.field, field, text)
  }
  const big = await post(s, body({ room: 0, from: 1, id: 1, ts: TS, pad: 'x'.repeat(100_000) }))
  assert.equal(big.status, 413)
  // and the server still takes good ones
  assert.equal((await post(s, body({ room: 0, from: 1, id: 1, ts: TS }))).status, 204)
})

test('WebSocket: a chat text message is published to the room, the sender included; a refusal keeps the connection', async (t) => {
  const s = await chatServer(t, 'websocket')
  const r = await wsOpen(s.port, '/ws?stream=1')
  t.after(() => r.socket.destroy())
  r.socket.write(clientFrame(OP.text, body({ room: 1, from: 0, id: 7, ts: TS, pad: '' })))
  const f1 = await readFrame(r)
  assert.equal(f1.payload.toString(), `{"seq":1,"room":1,"from":0,"id":7,"ts":${TS},"pad":""}`)
  r.socket.write(clientFrame(OP.text, body({ room: 9, from: 0, id: 8, ts: TS })))
  const f2 = JSON.parse((await readFrame(r)).payload.toString()) as { type: string; field: string }
  assert.equal(f2.type, 'refused')
  assert.equal(f2.field, 'room')
  // still open: the next message goes through
  r.socket.write(clientFrame(OP.text, body({ room: 1, from: 0, id: 9, ts: TS })))
  const f3 = JSON.parse((await readFrame(r)).payload.toString()) as { seq: number; id: number }
  assert.deepEqual([f3.seq, f3.id], [2, 9])
  // {"resume":SEQ} is as it was (nothing owed here: the connection had every seq), the socket stays
  r.socket.write(clientFrame(OP.text, '{"resume":0}'))
  r.socket.write(clientFrame(OP.text, body({ room: 1, from: 0, id: 10, ts: TS })))
  const f4 = JSON.parse((await readFrame(r)).payload.toString()) as { seq: number }
  assert.equal(f4.seq, 3)
})
