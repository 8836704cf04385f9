/** load/lean/sse-events.ts: events split at every byte, the three line ends, comments, fields; and over node:http. */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import { connect } from 'node:net'
import { test } from 'node:test'
import { HttpResponseParser } from '../../../load/lean/http-response.ts'
import { SseEventSplitter, type SseHandlers } from '../../../load/lean/sse-events.ts'

/** Each event as `ID|TYPE|DATA` (`-` for no id). */
class Events implements SseHandlers {
  readonly events: string[] = []
  views = 0
  splitter: SseEventSplitter | undefined
  constructor(private readonly read?: Buffer) {}
  onEvent(data: Buffer, start: number, end: number): void {
    if (data === this.read) this.views++
    this.events.push(
      `${this.splitter?.lastId ?? '-'}|${this.splitter?.eventType}|${data.toString('utf8', start, end)}`,
    )
  }
}

function splitter(h: Events): SseEventSplitter {
  const s = new SseEventSplitter(h)
  h.splitter = s
  return s
}

/** Feeds `parts`, each a copy scribbled over afterwards, as a socket reusing its read buffer would. */
function run(parts: Buffer[]): { events: string[]; s: SseEventSplitter } {
  const h = new Events()
  const s = splitter(h)
  for (const part of parts) {
    const b = Buffer.from(part)
    s.feed(b)
    b.fill(0x3f)
  }
  return { events: h.events, s }
}

/** The events of `wire` fed whole, in two reads at every split point, and one byte at a time: all equal. */
function everySplit(wire: Buffer): { events: string[]; s: SseEventSplitter } {
  const whole = run([wire])
  const same = (r: { events: string[]; s: SseEventSplitter }, how: string) => {
    assert.deepEqual(r.events, whole.events, how)
    assert.deepEqual(
      [r.s.comments, r.s.lastId, r.s.retry],
      [whole.s.comments, whole.s.lastId, whole.s.retry],
      how,
    )
  }
  for (let i = 0; i <= wire.length; i++) same(run([wire.subarray(0, i), wire.subarray(i)]), `split at ${i}`)
  same(run(Array.from({ length: wire.length }, (_, i) => wire.subarray(i, i + 1))), 'one byte at a time')
  return whole
}

const STREAM = [
  ': heartbeat comment\n',
  'id: 1\ndata: {"seq":1}\n\n',
  'id: 2\r\ndata: two\r\n\r\n',
  'id: 3\rdata: three\r\r',
  // a CRLF is one line end even when its two bytes come in two reads
  'data: a\r\ndata: b\r\n\r\n',
  'data: line1\ndata: line2\ndata:no-space\ndata:  two spaces\n\n',
  'event: custom\ndata: typed\n\n',
  'retry: 1500\nretry: x15\n',
  // a field name alone: the value is empty
  'id\ndata\n\n',
  ':\n\n',
  'id: 4\n\n',
  'data: after an event without data\n\n',
  'id: 5\0\ndata: an id with NUL is ignored\n\n',
  'unknown: field\ndata: é ✓\n\n',
  ':another comment\r\n',
  'data: not dispatched without a blank line\n',
].join('')

test('events split at every byte and one byte at a time; CRLF, LF and CR line ends; comments; fields', () => {
  const { events, s } = everySplit(Buffer.from(STREAM))
  assert.deepEqual(events, [
    '1||{"seq":1}',
    '2||two',
    '3||three',
    '3||a\nb',
    '3||line1\nline2\nno-space\n two spaces',
    '3|custom|typed',
    '||',
    '4||after an event without data',
    '4||an id with NUL is ignored',
    '4||é ✓',
  ])
  assert.equal(s.comments, 3)
  assert.equal(s.retry, 1500)
  assert.equal(s.lastId, '4')
  assert.equal(s.eventType, '')
})

test('one data line wholly inside the read is a view of it; several lines are joined in a copy', () => {
  const read = Buffer.from('id: 7\ndata: {"seq":7}\n\ndata: x\ndata: y\n\ndata: split')
  const h = new Events(read)
  const s = splitter(h)
  s.feed(read)
  assert.deepEqual(h.events, ['7||{"seq":7}', '7||x\ny'])
  assert.equal(h.views, 1)
  s.feed(Buffer.from(' over two reads\n\n'))
  assert.equal(h.events[2], '7||split over two reads')
})

test('feed(buf, start, end) reads only its range; reset() drops a partial event and keeps lastId', () => {
  const h = new Events()
  const s = splitter(h)
  const b = Buffer.from('junkid: 1\ndata: one\n\ndata: cut')
  s.feed(b, 4, 21)
  s.feed(b, 21, b.length - 1)
  s.reset()
  s.feed(Buffer.from('\n\ndata: two\n\n'))
  assert.deepEqual(h.events, ['1||one', '1||two'])
  assert.equal(s.lastId, '1')
})

test('over node:http: events written in pieces reach the splitter through the streaming HTTP parser', async (t) => {
  let opened: (r: ServerResponse) => void = () => {}
  const response = new Promise<ServerResponse>((resolve) => {
    opened = resolve
  })
  const server = createServer((_req, r) => {
    r.writeHead(200, { 'Content-Type': 'text/event-stream' })
    r.write(':\n\n')
    opened(r)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => server.close())
  const { port } = server.address() as { port: number }

  const got: string[] = []
  let wake: () => void = () => {}
  const sse = new SseEventSplitter({
    onEvent: (data, start, end) => {
      got.push(`${sse.lastId} ${data.toString('latin1', start, end)}`)
      wake()
    },
  })
  const http = new HttpResponseParser({
    onHead: (status) => assert.equal(status, 200),
    onData: (buf, start, end) => sse.feed(buf, start, end),
    onEnd: assert.fail,
    onError: assert.fail,
  })
  const socket = connect(port, '127.0.0.1')
  t.after(() => socket.destroy())
  socket.on('data', (b: Buffer) => http.feed(b))
  socket.write(`GET /sse HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
  const res = await response
  const big = 'x'.repeat(40_000)
  const pieces = ['id: 1\ndata: one\n\n', 'id: 2\nda', 'ta: tw', 'o\r', '\n\r\n', `id: 3\ndata: ${big}\n\n`]
  const next = () =>
    new Promise<void>((resolve) => {
      wake = resolve
    })
  for (let k = 0; k < pieces.length; k++) {
    const arrived = next()
    res.write(pieces[k])
    // an event completes with pieces 0, 4 and 5
    if (k === 0 || k >= 4) await arrived
  }
  assert.deepEqual(got, ['1 one', '2 two', `3 ${big}`])
  assert.equal(sse.comments, 1)
  res.end()
})
