/**
 * The chat's byte model against measured chat runs (`pushbench run --workload chat`, each transport, small
 * scale, lean clients): the results file validates, a chat block is there with what was sent and taken,
 * nothing is missed or duplicated, and the bytes per delivered message (POSTs and upstream frames
 * included, counted by the server's sockets) are at least the model and within FACTOR of it. The model
 * leaves out connection set-up (the POST connection's and the stream's heads), SSE heartbeats and WebSocket
 * pings, and for short polling the jitter of how many messages a poll carries: FACTOR covers them here.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { resolveParams } from '../../../lib/params.ts'
import { readResults } from '../../../lib/results-io.ts'
import { isCompleted } from '../../../lib/results-schema.ts'
import { defaultTransports } from '../../../lib/transports.ts'
import { chatBody } from '../../../load/chat/message.ts'
import { SocketIoAcks } from '../../../load/lean/socketio-acks.ts'
import {
  chatModel,
  chatPostHead,
  chatUpstreamPerSent,
  recipientsPerMessage,
} from '../../../load/model/chat.ts'
import {
  socketIoPollChatUpstream,
  socketIoPollRequestHead,
  socketIoPollResponseHead,
  socketIoWsChatUpstream,
} from '../../../load/model/socketio.ts'
import { runLoad } from '../../helpers/load-cli.ts'

/** measured over model: set-up heads, pings, heartbeats and short polling's empty polls stay under it here */
const FACTOR = 1.6

test('chat body: the published message is payloadBytes long for the seq expected', () => {
  for (const [seq, P] of [
    [1, 128],
    [57, 128],
    [12_345, 300],
  ] as const) {
    const body = chatBody(3, 41, 7, 1_764_000_000_123.456, P, seq)
    assert.equal(body.length + `"seq":${seq},`.length, P)
    assert.ok(body.toString().startsWith('{"room":3,"from":41,"id":7,"ts":1764000000123.456,"pad":"x'))
  }
  // fixed fields larger than the payload: an empty pad
  assert.match(chatBody(3, 41, 7, 1_764_000_000_123.456, 60, 1).toString(), /"pad":""}$/)
})

test('chat model: upstream per sent message (POST head + body + 204, or a masked frame) over the recipients', () => {
  const p = resolveParams({ clients: 100, rooms: 10, payloadBytes: 128 })
  assert.equal(recipientsPerMessage(p), 10)
  const ctx = { host: '127.0.0.1', port: 4000, seqFrom: 1, seqTo: 9 }
  const ws = chatUpstreamPerSent(p, 'connection', ctx)
  // body 128 - `"seq":9,`.length = 120 B; masked frame header 6 B
  assert.deepEqual(ws, { clientToServer: 126, serverToClient: 0 })
  const post = chatUpstreamPerSent(p, 'post', ctx)
  assert.equal(post.clientToServer, chatPostHead('127.0.0.1', 4000, 120).length + 120)
  assert.ok(post.serverToClient > 100)
  const m = chatModel({ clientToServer: 0, serverToClient: 134, perUpdate: 134 }, ws, 10)
  assert.deepEqual(m, { clientToServer: 12.6, serverToClient: 134, perUpdate: 146.6 })
})

test('chat model over Socket.IO: the send event and its ack, as the lean client and the server write them', () => {
  // 100 clients in 10 rooms sending once a second: in an 8 s window after 2 s of warm-up a client's ack
  // ids run 2..9 (one digit), its room is 0..9 and the room's seqs 10..90 (two digits)
  const p = resolveParams({ clients: 100, rooms: 10, payloadBytes: 128, sendHz: 1, durationS: 8, warmupS: 2 })
  const ctx = { host: '127.0.0.1', port: 4000, path: '/socket.io-ws/', seqFrom: 10, seqTo: 90 }
  const body = chatBody(3, 41, 7, 1_764_000_000_123.456, 128, 90)
  const acks = new SocketIoAcks()
  acks.sendPacket(body, () => {})
  acks.sendPacket(body, () => {})
  const send = acks.sendPacket(body, () => {}).length // `42` + `2` + `["send",` + body + `]`
  assert.equal(send, 2 + 1 + 8 + body.length + 1)
  // the server's ack as servers/socketio.ts answers it: ChatAccepted's keys in their order
  const ack = `432${JSON.stringify([{ stream: 3, seq: 50 }])}`.length
  const ws = socketIoWsChatUpstream(p, ctx)
  // 131 B is past 125: a 2-byte extended length before the 4-byte mask key
  assert.deepEqual(ws, { clientToServer: 2 + 2 + 4 + send, serverToClient: 2 + ack })
  const poll = socketIoPollChatUpstream(p, { ...ctx, path: '/socket.io-poll/' })
  const post = socketIoPollRequestHead('/socket.io-poll/', '127.0.0.1', 4000, { contentLength: send })
  // the POST and its `ok`, then the ack joined to a poll's answer by the record separator
  const ok = socketIoPollResponseHead(2, 'text/html').length + 2
  assert.deepEqual(poll, { clientToServer: post.length + send, serverToClient: ok + 1 + ack })
})

test('measured chat runs: results validate, nothing missed, bytes per message >= model and within the factor', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pushbench-chat-model-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  // one after another: a busy host moves what is counted at the window's edges
  // and the Socket.IO rows, whose sends the model frames as their own events and acks
  for (const transport of [...defaultTransports(), 'socketio-ws', 'socketio-poll']) {
    const out = join(dir, `${transport}.json`)
    const args = [
      ...['--transport', transport, '--workload', 'chat', '--clients', '12', '--rooms', '3'],
      ...['--send-hz', '5', '--duration-s', '3', '--warmup-s', '0.5', '--out', out, '--quiet'],
    ]
    const ran = await runLoad(args, 90_000)
    assert.equal(ran.code, 0, `${transport}: ${ran.stderr}`)
    const file = readResults(out)
    const r = file.scenarios[0]?.results[0]
    assert.ok(r && isCompleted(r), transport)
    assert.equal(r.workload, 'chat')
    assert.ok(r.chat, `${transport}: chat block`)
    assert.equal(r.chat.rooms, 3)
    assert.ok(
      r.chat.sent > 0 && r.chat.accepted === r.chat.sent,
      `${transport}: sent ${r.chat.sent}, accepted ${r.chat.accepted}`,
    )
    assert.equal(r.chat.refused, 0)
    assert.equal(r.chat.recipientsPerMessage, 4)
    assert.ok(r.chat.senderRttMs.count > 0, `${transport}: sender round trips`)
    assert.equal(r.updates.missed, 0, transport)
    assert.equal(r.updates.duplicates, 0, transport)
    assert.equal(r.updates.delivered, r.updates.expected, transport)
    const measured = r.bytes.perDeliveredUpdate
    const model = r.bytes.modelPerUpdate
    // a message belongs to the window by its send instant, its bytes by when they crossed the server's
    // sockets (counters snapshotted on the window's edges): one sent just before an edge is counted on
    // one side and its bytes on the other. On a busy host (a fresh-clone CI run measured 2.7% below with
    // two) a few messages either way: four is what it can move here.
    const edge = 4 / Math.max(1, r.updates.published)
    // long polling: the model has one answer per message, but a message that arrives while a client is
    // between polls waits for its next poll and shares that answer, which saves a request and an answer
    // head (a run measured 2.5% below the model so). The requests counted tell how many: one poll per
    // answer and one POST per message sent, so delivered + sent - requests answers were saved
    const shared =
      transport === 'long-poll'
        ? Math.max(0, r.updates.delivered + r.chat.sent - r.requests) / Math.max(1, r.updates.delivered)
        : 0
    assert.ok(
      measured >= model * (1 - edge - shared),
      `${transport}: measured ${measured} B/msg below the model ${model}`,
    )
    assert.ok(
      measured <= model * FACTOR,
      `${transport}: measured ${measured} B/msg past ${FACTOR} x the model ${model}`,
    )
  }
})
