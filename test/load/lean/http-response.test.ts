/** load/lean/http-response.ts: responses split at every byte, several per read, errors, and a real node:http server. */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { connect, type Socket } from 'node:net'
import { test } from 'node:test'
import {
  type HttpBodyHandlers,
  HttpResponseParser,
  type HttpStreamHandlers,
  MAX_HEAD_BYTES,
} from '../../../load/lean/http-response.ts'

/** Whole-body mode, each response as `STATUS PBSEQ BODY`. */
class Bodies implements HttpBodyHandlers {
  readonly events: string[] = []
  onResponse(status: number, body: Buffer, pbSeq: number | undefined): void {
    this.events.push(`${status} ${pbSeq ?? '-'} ${body.toString('latin1')}`)
  }
  onError(err: Error): void {
    this.events.push(`error: ${err.message}`)
  }
}

/** Streaming mode: `head S`, the data between head and end joined (pieces depend on the reads), `end`. */
class Stream implements HttpStreamHandlers {
  readonly events: string[] = []
  pieces = 0
  private data = ''
  onHead(status: number): void {
    this.events.push(`head ${status}`)
  }
  onData(buf: Buffer, start: number, end: number): void {
    assert.ok(end > start, 'no empty piece')
    this.pieces++
    this.data += buf.toString('latin1', start, end)
  }
  onEnd(): void {
    this.flush()
    this.events.push('end')
  }
  onError(err: Error): void {
    this.events.push(`error: ${err.message}`)
  }
  /** The data so far into the events. */
  flush(): string[] {
    if (this.data !== '') this.events.push(`data ${this.data}`)
    this.data = ''
    return this.events
  }
}

/** Feeds a copy of `part` that is scribbled over afterwards, as a socket reusing its read buffer would. */
function feedReused(p: HttpResponseParser, part: Buffer): void {
  const b = Buffer.from(part)
  p.feed(b)
  b.fill(0x3f)
}

/** The events of `wire` fed whole, in two reads at every split point, and one byte at a time: all equal. */
function everySplit(wire: Buffer, streaming: boolean): string[] {
  const run = (parts: Buffer[]): string[] => {
    const h = streaming ? new Stream() : new Bodies()
    const p = new HttpResponseParser(h)
    for (const part of parts) feedReused(p, part)
    return h instanceof Stream ? h.flush() : h.events
  }
  const whole = run([wire])
  for (let i = 0; i <= wire.length; i++) {
    assert.deepEqual(run([wire.subarray(0, i), wire.subarray(i)]), whole, `split at ${i}`)
  }
  const bytes = Array.from({ length: wire.length }, (_, i) => wire.subarray(i, i + 1))
  assert.deepEqual(run(bytes), whole, 'one byte at a time')
  return whole
}

const FRAGMENT = 'abcdefghijklmnopqrstuvwxyz'
const RESPONSES = [
  'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n[{"seq":1}]',
  'HTTP/1.1 204 No Content\r\npb-seq: 17\r\nDate: Tue, 25 Nov 2025 06:33:20 GMT\r\n\r\n',
  'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n',
  // extensions, upper- and lower-case hex, trailers
  `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=val\r\nhello\r\n1A\r\n${FRAGMENT}\r\n` +
    `a ; x="y" ;z\r\n0123456789\r\n0\r\nX-Trailer: t\r\nY: 2\r\n\r\n`,
  // an interim 100, then header names in capitals and a value with spaces around it
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nPB-SEQ: 5\r\nCONTENT-LENGTH:  3 \r\n\r\nabc',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
  'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n',
  // bare LF line ends are tolerated, as RFC 9112 allows
  'HTTP/1.0 503\nContent-Length: 4\n\nbusy',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n3\r\nend\r\n0\r\n\r\n',
]

test('whole-body mode: nine responses on one connection, split at every byte and one byte at a time', () => {
  const events = everySplit(Buffer.from(RESPONSES.join(''), 'latin1'), false)
  assert.deepEqual(events, [
    '200 - [{"seq":1}]',
    '204 17 ',
    '200 - ',
    `200 - hello${FRAGMENT}0123456789`,
    '200 5 abc',
    '200 - ',
    '304 - ',
    '503 - busy',
    '200 - end',
  ])
})

test('streaming mode: the same responses as head, data and end', () => {
  const events = everySplit(Buffer.from(RESPONSES.join(''), 'latin1'), true)
  assert.deepEqual(events.slice(0, 10), [
    'head 200',
    'data [{"seq":1}]',
    'end',
    'head 204',
    'end',
    'head 200',
    'end',
    'head 200',
    `data hello${FRAGMENT}0123456789`,
    'end',
  ])
  assert.equal(events.filter((e) => e === 'end').length, 9)
})

test('streaming mode hands chunk payload on as it arrives, before the chunk ends', () => {
  const h = new Stream()
  const p = new HttpResponseParser(h)
  p.feed(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'))
  assert.deepEqual(h.events, ['head 200'])
  p.feed(Buffer.from('64\r\nfirst half'))
  assert.deepEqual(h.flush(), ['head 200', 'data first half'])
  p.feed(Buffer.from(`${'.'.repeat(90)}\r\n5\r\nfive!\r\n`))
  assert.equal(h.pieces, 3)
  assert.deepEqual(h.flush().at(-1), `data ${'.'.repeat(90)}five!`)
})

test('a body wholly inside one read is handed as a view of it, not a copy', () => {
  const wire = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello')
  let body: Buffer | undefined
  const p = new HttpResponseParser({
    onResponse: (_s, b) => {
      body = b
    },
    onError: assert.fail,
  })
  p.feed(wire)
  assert.equal(body?.buffer, wire.buffer)
  assert.equal(body?.byteOffset, wire.byteOffset + wire.length - 5)
})

test('feed(buf, start, end) reads only its range', () => {
  const h = new Bodies()
  const p = new HttpResponseParser(h)
  const wire = Buffer.from(
    'junkHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nXjunk',
  )
  p.feed(wire, 4, 46)
  p.feed(wire, 46, wire.length - 4)
  assert.deepEqual(h.events, ['200 - ok', '200 - X'])
})

test('errors: reported once, then input is ignored; the same at every split point', () => {
  const next = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'
  const cases: [string, string][] = [
    ['HTTP/1.1 2x0 OK\r\n\r\n', 'malformed status line'],
    ['XTTP/1.1 200 OK\r\n\r\n', 'malformed status line'],
    ['HTTP/1.1 200OK\r\n\r\n', 'malformed status line'],
    ['\r\nHTTP/1.1 200 OK\r\n\r\n', 'malformed status line'],
    ['HTTP/1.1 200 OK\r\nno colon\r\n\r\n', 'malformed header line'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n', 'bad content-length'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'bad chunk size'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n', 'bad chunk size'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1x\r\n', 'bad chunk size'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000001\r\n', 'chunk size too large'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n', 'chunk data not followed by CRLF'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\rx', 'bad end of chunked body'],
  ]
  for (const [bad, message] of cases) {
    const events = everySplit(Buffer.from(bad + next), false)
    assert.deepEqual(events, [`error: ${message}`], JSON.stringify(bad))
  }
})

test('a header section over 64 KiB is an error, in one read or in many; one just under is not', () => {
  const head = (valueBytes: number) =>
    `HTTP/1.1 200 OK\r\nX-Big: ${'v'.repeat(valueBytes)}\r\nContent-Length: 1\r\n\r\n`
  const fixed = head(0).length
  const over = Buffer.from(`${head(MAX_HEAD_BYTES - fixed + 1)}1`)
  const under = Buffer.from(`${head(MAX_HEAD_BYTES - fixed)}1`)
  for (const [wire, want] of [
    [over, 'error: header section over 64 KiB'],
    [under, '200 - 1'],
  ] as const) {
    for (const step of [wire.length, 1000, 7]) {
      const h = new Bodies()
      const p = new HttpResponseParser(h)
      for (let i = 0; i < wire.length; i += step) feedReused(p, wire.subarray(i, i + step))
      assert.deepEqual(h.events, [want], `step ${step}`)
    }
  }
  // trailers count too
  const h = new Bodies()
  new HttpResponseParser(h).feed(
    Buffer.from(
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: ${'t'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`,
    ),
  )
  assert.deepEqual(h.events, ['error: chunk-size line or trailers over 64 KiB'])
})

test('finish(): a body without length ends at the close; a cut response is an error; reset() starts over', () => {
  const h = new Bodies()
  const p = new HttpResponseParser(h)
  p.feed(Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil '))
  p.feed(Buffer.from('close'))
  p.finish()
  assert.deepEqual(h.events, ['200 - until close'])
  p.reset()
  p.finish()
  p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab'))
  p.finish()
  assert.deepEqual(h.events.slice(1), ['error: connection closed mid-response'])
  p.reset()
  p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'))
  assert.deepEqual(h.events.slice(2), ['200 - ok'])
})

test('a callback may reset() the parser: the rest of that read is dropped', () => {
  const seen: number[] = []
  const p: HttpResponseParser = new HttpResponseParser({
    onResponse: (status) => {
      seen.push(status)
      if (status === 201) p.reset()
    },
    onError: assert.fail,
  })
  const r = (s: number) => `HTTP/1.1 ${s} X\r\nContent-Length: 0\r\n\r\n`
  p.feed(Buffer.from(r(200) + r(201) + r(202)))
  p.feed(Buffer.from(r(203)))
  assert.deepEqual(seen, [200, 201, 203])
})

/** A raw keep-alive connection to `port`: requests written as given, responses parsed as they are read. */
async function rawConnection(port: number, parser: HttpResponseParser): Promise<Socket> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.on('data', (b: Buffer) => parser.feed(b))
  return socket
}

test('against node:http: Content-Length, 204, chunked and a 200 KB body on one keep-alive connection', async (t) => {
  const big = Buffer.alloc(200_000, 'b')
  const server = createServer((req, res) => {
    if (req.url === '/cl') res.end('[{"seq":1,"ts":2}]')
    else if (req.url === '/none') {
      res.writeHead(204, { 'pb-seq': '42' })
      res.end()
    } else if (req.url === '/zero') res.end()
    else if (req.url === '/big') res.end(big)
    else {
      // chunked: no length, written in pieces
      res.write('one,')
      setTimeout(() => {
        res.write('two,')
        res.addTrailers({ 'X-Done': 'yes' })
        setImmediate(() => res.end('three'))
      }, 10)
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => server.close())
  const { port } = server.address() as { port: number }

  const got: string[] = []
  let done: () => void = () => {}
  const p = new HttpResponseParser({
    onResponse: (status, body, pbSeq) => {
      got.push(`${status} ${pbSeq ?? '-'} ${body.length > 100 ? `${body.length} bytes` : body.toString()}`)
      if (body.length === big.length) assert.ok(body.equals(big))
      send()
    },
    onError: (err) => assert.fail(err),
  })
  const paths = ['/cl', '/none', '/chunked', '/zero', '/big', '/cl']
  const socket = await rawConnection(port, p)
  t.after(() => socket.destroy())
  // one request at a time, the next sent from the callback, as a poll client does
  const send = () => {
    const path = paths[got.length]
    if (path === undefined) done()
    else socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
  }
  const finished = new Promise<void>((resolve) => {
    done = resolve
  })
  send()
  await finished
  assert.deepEqual(got, [
    '200 - [{"seq":1,"ts":2}]',
    '204 42 ',
    '200 - one,two,three',
    '200 - ',
    '200 - 200000 bytes',
    '200 - [{"seq":1,"ts":2}]',
  ])
})

test('against node:http: streaming mode gets each write of an endless chunked response as it is sent', async (t) => {
  let res: import('node:http').ServerResponse | undefined
  const server = createServer((_req, r) => {
    res = r
    r.writeHead(200, { 'Content-Type': 'text/event-stream' })
    r.write('first')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => server.close())
  const { port } = server.address() as { port: number }

  const h = new Stream()
  let waiting: ((s: string) => void) | undefined
  const original = h.onData.bind(h)
  h.onData = (buf, s, e) => {
    original(buf, s, e)
    waiting?.(h.flush().at(-1) ?? '')
  }
  const nextData = () =>
    new Promise<string>((resolve) => {
      waiting = resolve
    })
  const p = new HttpResponseParser(h)
  const socket = await rawConnection(port, p)
  t.after(() => socket.destroy())
  let data = nextData()
  socket.write(`GET /stream HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
  assert.equal(await data, 'data first')
  for (const piece of ['second', 'x'.repeat(70_000)]) {
    data = nextData()
    res?.write(piece)
    let seen = await data
    // a large write may arrive over several reads
    while (seen.length < piece.length + 5) {
      data = nextData()
      seen += (await data).slice(5)
    }
    assert.equal(seen, `data ${piece}`)
  }
  assert.equal(h.events[0], 'head 200')
  assert.ok(!h.events.includes('end'))
  res?.end()
})
