/** load/lean/ws-frames.ts: server frames split at every byte, control frames between fragments, client frames, and a real `ws` server. */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { connect } from 'node:net'
import { test } from 'node:test'
import { WebSocketServer } from 'ws'
import {
  expectedAccept,
  maskedClose,
  maskedFrame,
  OPCODE,
  UpgradeResponse,
  upgradeRequest,
  WsFrameParser,
  type WsHandlers,
  wsKey,
} from '../../../load/lean/ws-frames.ts'

/** A server frame: unmasked, with the shortest length field; `rsv` sets reserved bits (for broken frames). */
function serverFrame(opcode: number, payload: Buffer | string = '', fin = true, rsv = 0): Buffer {
  const p = Buffer.from(payload)
  const ext = p.length < 126 ? 0 : p.length <= 0xffff ? 2 : 8
  const h = Buffer.alloc(2 + ext)
  h[0] = (fin ? 0x80 : 0) | rsv | opcode
  if (ext === 0) h[1] = p.length
  else if (ext === 2) {
    h[1] = 126
    h.writeUInt16BE(p.length, 2)
  } else {
    h[1] = 127
    h.writeBigUInt64BE(BigInt(p.length), 2)
  }
  return Buffer.concat([h, p])
}

/** What the parser reported, as strings; payloads over 300 bytes as their length and a digest. */
class Events implements WsHandlers {
  readonly events: string[] = []
  views = 0
  constructor(private readonly read?: Buffer) {}
  private show(b: Buffer, s: number, e: number): string {
    if (e - s <= 300) return b.toString('latin1', s, e)
    return `${e - s} bytes ${createHash('sha1').update(b.subarray(s, e)).digest('hex').slice(0, 8)}`
  }
  onMessage(buf: Buffer, start: number, end: number, isText: boolean): void {
    if (buf.buffer === this.read?.buffer) this.views++
    this.events.push(`${isText ? 'text' : 'binary'} ${this.show(buf, start, end)}`)
  }
  onPing(payload: Buffer): void {
    this.events.push(`ping ${payload.toString('latin1')}`)
  }
  onPong(payload: Buffer): void {
    this.events.push(`pong ${payload.toString('latin1')}`)
  }
  onClose(code: number, reason: string): void {
    this.events.push(`close ${code} ${reason}`)
  }
  onError(err: Error): void {
    this.events.push(`error: ${err.message}`)
  }
}

/** Feeds `parts`, each a copy scribbled over afterwards, as a socket reusing its read buffer would. */
function run(parts: Buffer[], maxMessageBytes?: number): string[] {
  const h = new Events()
  const p = new WsFrameParser(h, maxMessageBytes)
  for (const part of parts) {
    const b = Buffer.from(part)
    p.feed(b)
    b.fill(0x3f)
  }
  return h.events
}

/** The events of `wire` fed whole, in two reads at each of `splits` (default: all), one byte at a time: all equal. */
function everySplit(wire: Buffer, splits?: Iterable<number>, maxMessageBytes?: number): string[] {
  const whole = run([wire], maxMessageBytes)
  for (const i of splits ?? Array.from({ length: wire.length + 1 }, (_, i) => i)) {
    assert.deepEqual(run([wire.subarray(0, i), wire.subarray(i)], maxMessageBytes), whole, `split at ${i}`)
  }
  const bytes = Array.from({ length: wire.length }, (_, i) => wire.subarray(i, i + 1))
  assert.deepEqual(run(bytes, maxMessageBytes), whole, 'one byte at a time')
  return whole
}

const A125 = 'a'.repeat(125)
const B126 = 'b'.repeat(126)
const C300 = Buffer.alloc(300, 'c')

test('small frames, control frames between messages and between fragments, split at every byte', () => {
  const wire = Buffer.concat([
    serverFrame(OPCODE.text, 'hello'),
    serverFrame(OPCODE.binary),
    serverFrame(OPCODE.text, A125),
    serverFrame(OPCODE.ping, 'p1'),
    serverFrame(OPCODE.text, B126),
    serverFrame(OPCODE.text, 'frag', false),
    serverFrame(OPCODE.ping, 'between'),
    serverFrame(OPCODE.continuation, 'men', false),
    serverFrame(OPCODE.pong, 'pg'),
    serverFrame(OPCODE.continuation, 'ted'),
    serverFrame(OPCODE.binary, 'bin', false),
    serverFrame(OPCODE.continuation, '', true),
    serverFrame(OPCODE.ping),
    serverFrame(OPCODE.binary, C300),
    serverFrame(OPCODE.close, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('bye')])),
    serverFrame(OPCODE.text, 'after the close: ignored'),
  ])
  assert.deepEqual(everySplit(wire), [
    'text hello',
    'binary ',
    `text ${A125}`,
    'ping p1',
    `text ${B126}`,
    'ping between',
    'pong pg',
    'text fragmented',
    'binary bin',
    'ping ',
    `binary ${C300.toString()}`,
    'close 1000 bye',
  ])
})

test('7-, 16- and 64-bit lengths: 125, 126, 65535, 65536 and 200,000 bytes, fragmented with a ping inside', () => {
  const sizes = [125, 126, 65535, 65536]
  const frames = sizes.map((n, k) =>
    serverFrame(k % 2 ? OPCODE.binary : OPCODE.text, Buffer.alloc(n, 65 + k)),
  )
  const big = Buffer.alloc(70_000, 'z')
  frames.push(
    serverFrame(OPCODE.binary, big, false),
    serverFrame(OPCODE.ping, 'mid'),
    serverFrame(OPCODE.continuation, big, false),
    serverFrame(OPCODE.close),
    serverFrame(OPCODE.continuation, big.subarray(0, 60_000)),
  )
  const wire = Buffer.concat(frames)
  // every split near each frame boundary (the headers), and a stride through the payloads
  const splits = new Set<number>()
  let at = 0
  for (const f of frames) {
    for (let d = -3; d <= 14; d++) if (at + d >= 0 && at + d <= wire.length) splits.add(at + d)
    at += f.length
  }
  for (let i = 0; i <= wire.length; i += 997) splits.add(i)
  const digest = (b: Buffer) => createHash('sha1').update(b).digest('hex').slice(0, 8)
  const events = everySplit(wire, splits)
  assert.deepEqual(events, [
    `text ${'A'.repeat(125)}`,
    `binary ${'B'.repeat(126)}`,
    `text 65535 bytes ${digest(Buffer.alloc(65535, 67))}`,
    `binary 65536 bytes ${digest(Buffer.alloc(65536, 68))}`,
    'ping mid',
    'close 1005 ',
  ])
  // with the close removed, the fragmented message completes
  const open = Buffer.concat([...frames.slice(4, 7), frames[8] as Buffer])
  assert.deepEqual(everySplit(open, [0, 1, 2, 10, 70_009, 70_010, 70_011, 70_020]), [
    'ping mid',
    `binary 200000 bytes ${digest(Buffer.concat([big, big, big.subarray(0, 60_000)]))}`,
  ])
})

test('an unfragmented frame wholly inside the read is a view of it; others are assembled', () => {
  const read = Buffer.concat([
    serverFrame(OPCODE.text, 'one'),
    serverFrame(OPCODE.binary, Buffer.alloc(70_000)),
    serverFrame(OPCODE.text, 'tw', false),
    serverFrame(OPCODE.continuation, 'o'),
  ])
  const h = new Events(read)
  new WsFrameParser(h).feed(read)
  assert.equal(h.events.length, 3)
  assert.equal(h.views, 2)
  assert.equal(h.events[2], 'text two')
})

test('protocol errors: reported once, then input is ignored, at every split point', () => {
  const after = serverFrame(OPCODE.text, 'never seen')
  const masked = serverFrame(OPCODE.text, 'x')
  masked[1] = (masked[1] as number) | 0x80
  const huge = Buffer.from([0x82, 127, 0, 0x20, 0, 0, 0, 0, 0, 0])
  const cases: [Buffer, string][] = [
    [Buffer.concat([masked, Buffer.alloc(4)]), 'masked frame from the server'],
    [serverFrame(0x3, 'x'), 'reserved opcode 0x3'],
    [serverFrame(0xb), 'reserved opcode 0xb'],
    [serverFrame(OPCODE.text, 'x', true, 0x40), 'RSV bit set without an extension'],
    [serverFrame(OPCODE.ping, 'x', false), 'fragmented or over-long control frame'],
    [serverFrame(OPCODE.ping, Buffer.alloc(126)), 'fragmented or over-long control frame'],
    [serverFrame(OPCODE.continuation, 'x'), 'continuation frame outside a fragmented message'],
    [
      Buffer.concat([serverFrame(OPCODE.text, 'a', false), serverFrame(OPCODE.text, 'b')]),
      'new data frame inside a fragmented message',
    ],
    [serverFrame(OPCODE.close, 'x'), 'close frame with a 1-byte body'],
    [huge, 'frame length over 2^53'],
  ]
  for (const [bad, message] of cases) {
    assert.deepEqual(everySplit(Buffer.concat([bad, after])), [`error: ${message}`], message)
  }
  // the size limit counts the fragments of a message together
  const frags = Buffer.concat([
    serverFrame(OPCODE.text, 'abc', false),
    serverFrame(OPCODE.continuation, 'de'),
  ])
  assert.deepEqual(everySplit(frags, undefined, 5), ['text abcde'])
  assert.deepEqual(everySplit(frags, undefined, 4), ['error: message over the size limit'])
})

test('maskedFrame: the RFC 6455 5.7 example, 16- and 64-bit lengths, random keys', () => {
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d])
  assert.deepEqual(
    [...maskedFrame(OPCODE.text, 'Hello', key)],
    [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58],
  )
  const unmask = (f: Buffer, headerLength: number) => {
    const k = f.subarray(headerLength - 4, headerLength)
    return Buffer.from(f.subarray(headerLength).map((x, i) => x ^ (k[i % 4] as number)))
  }
  for (const [n, headerLength, len7] of [
    [0, 6, 0],
    [125, 6, 125],
    [126, 8, 126],
    [65535, 8, 126],
    [65536, 14, 127],
  ] as const) {
    const payload = Buffer.alloc(n, 'p')
    const f = maskedFrame(OPCODE.binary, payload)
    assert.equal(f.length, headerLength + n)
    assert.equal(f[0], 0x82)
    assert.equal(f[1], 0x80 | len7)
    if (len7 === 126) assert.equal(f.readUInt16BE(2), n)
    if (len7 === 127) assert.equal(f.readBigUInt64BE(2), BigInt(n))
    assert.ok(unmask(f, headerLength).equals(payload), `${n} bytes`)
  }
  // keys drawn across several refills of the pool: all unmask, and they vary
  const keys = new Set<string>()
  for (let i = 0; i < 3000; i++) {
    const f = maskedFrame(OPCODE.pong, `p${i}`)
    assert.equal(unmask(f, 6).toString(), `p${i}`)
    keys.add(f.toString('hex', 2, 6))
  }
  assert.ok(keys.size > 2990)
  const fragment = maskedFrame(OPCODE.text, 'x', key, false)
  assert.equal(fragment[0], 0x01)
  const close = maskedClose(1001, 'going', key)
  assert.equal(close[0], 0x88)
  assert.deepEqual(unmask(close, 6), Buffer.concat([Buffer.from([0x03, 0xe9]), Buffer.from('going')]))
})

test('handshake: the upgrade request, the accept value of RFC 6455 1.3, the 101 head split anywhere', () => {
  const key = 'dGhlIHNhbXBsZSBub25jZQ=='
  assert.equal(expectedAccept(key), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
  assert.equal(Buffer.from(wsKey(), 'base64').length, 16)
  assert.equal(
    upgradeRequest('127.0.0.1', 8080, '/ws', key),
    'GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  )
  assert.match(upgradeRequest('::1', 80, '/', key), /Host: \[::1\]:80\r\n/)
  const head = 'HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n'
  const ok = `${head}Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n`
  const frames = Buffer.concat([serverFrame(OPCODE.text, 'first'), serverFrame(OPCODE.ping, 'p')])
  const wire = Buffer.concat([Buffer.from(ok), frames])
  for (let i = 0; i <= wire.length; i++) {
    const u = new UpgradeResponse()
    const h = new Events()
    const p = new WsFrameParser(h)
    const first = wire.subarray(0, i)
    const at = u.feed(first)
    if (at >= 0) {
      assert.equal(at, ok.length)
      p.feed(first, at)
      p.feed(wire, i)
    } else {
      assert.equal(u.feed(wire, i), ok.length, `split at ${i}`)
      p.feed(wire, ok.length)
    }
    assert.equal(u.check(key), undefined)
    assert.deepEqual(h.events, ['text first', 'ping p'], `split at ${i}`)
  }
  const check = (text: string) => {
    const u = new UpgradeResponse()
    assert.equal(u.feed(Buffer.from(text)), text.length)
    return u.check(key)
  }
  assert.equal(check('HTTP/1.1 400 Bad Request\r\n\r\n'), 'status 400, not 101')
  assert.equal(check(`${head}Sec-WebSocket-Accept: nope\r\n\r\n`), 'wrong Sec-WebSocket-Accept')
  assert.equal(
    check(ok.replace('\r\n\r\n', '\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n')),
    'an extension the client did not offer',
  )
  assert.throws(() => new UpgradeResponse().feed(Buffer.from('SSH-2.0\r\n\r\n')), /malformed status line/)
  assert.throws(() => new UpgradeResponse().feed(Buffer.alloc(70_000, 'x')), /over 64 KiB/)
})

test('against a real ws server: upgrade, messages of several sizes, fragments, ping and pong, close', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await once(wss, 'listening')
  t.after(() => wss.close())
  const { port } = wss.address() as { port: number }
  const sizes = [0, 5, 125, 126, 65535, 65536, 200_000]
  const serverGot: string[] = []
  const serverClosed = new Promise<{ code: number; reason: string }>((resolve) => {
    wss.on('connection', (ws) => {
      for (const n of sizes) ws.send('t'.repeat(n))
      ws.send(Buffer.alloc(1000, 7), { binary: true })
      ws.send('frag', { fin: false })
      ws.ping('between')
      ws.send('mented', { fin: true })
      ws.ping('hi')
      ws.on('pong', (data) => serverGot.push(`pong ${data.toString()}`))
      ws.on('message', (data, isBinary) =>
        serverGot.push(`${isBinary ? 'binary' : 'text'} ${data.toString()}`),
      )
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
    })
  })

  const socket = connect(port, '127.0.0.1')
  t.after(() => socket.destroy())
  await once(socket, 'connect')
  const key = wsKey()
  const upgrade = new UpgradeResponse()
  const got: string[] = []
  let closed: (v: string) => void = () => {}
  const clientClosed = new Promise<string>((resolve) => {
    closed = resolve
  })
  const parser = new WsFrameParser({
    onMessage: (buf, start, end, isText) => {
      const n = end - start
      got.push(`${isText ? 'text' : 'binary'} ${n > 10 ? n : buf.toString('latin1', start, end)}`)
      if (isText && n > 10) assert.equal(buf.toString('latin1', start, end), 't'.repeat(n))
    },
    onPing: (payload) => {
      got.push(`ping ${payload.toString()}`)
      socket.write(maskedFrame(OPCODE.pong, payload))
      if (payload.toString() === 'hi') {
        socket.write(maskedFrame(OPCODE.text, 'from the client'))
        socket.write(maskedClose(4000, 'done'))
      }
    },
    onPong: (payload) => assert.fail(`unexpected pong ${payload.toString()}`),
    onClose: (code, reason) => closed(`close ${code} ${reason}`),
    onError: (err) => assert.fail(err),
  })
  let upgraded = false
  socket.on('data', (b: Buffer) => {
    let at = 0
    if (!upgraded) {
      at = upgrade.feed(b)
      if (at < 0) return
      upgraded = true
      assert.equal(upgrade.check(key), undefined)
      assert.equal(upgrade.headers.get('sec-websocket-accept'), expectedAccept(key))
    }
    parser.feed(b, at)
  })
  socket.write(upgradeRequest('127.0.0.1', port, '/', key))

  assert.equal(await clientClosed, 'close 4000 done')
  assert.deepEqual(await serverClosed, { code: 4000, reason: 'done' })
  assert.deepEqual(got, [
    'text ',
    'text ttttt',
    ...sizes.slice(2).map((n) => `text ${n}`),
    'binary 1000',
    'ping between',
    'text fragmented',
    'ping hi',
  ])
  assert.deepEqual(serverGot, ['pong between', 'pong hi', 'text from the client'])
})
