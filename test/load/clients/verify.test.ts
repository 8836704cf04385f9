/** A lean client's byte scan, and the sampled full parse that keeps corrupt bytes from passing unseen. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { newHistogram } from '../../../lib/latency.ts'
import { DEFAULT_PARAMS } from '../../../lib/params.ts'
import { chatBody } from '../../../load/chat/message.ts'
import { BaseClient, type ClientContext, ClientSockets } from '../../../load/clients/common.ts'
import { encodeUpdate } from '../../../servers/update.ts'

class Probe extends BaseClient {
  async start(): Promise<void> {}
  stop(): void {}
  feed(bytes: Buffer): void {
    this.onUpdateBytes(bytes, 0, bytes.length, 1000)
  }
}

const probe = (verifyEvery: number, chat?: ClientContext['chat']) =>
  new Probe(
    {
      base: new URL('http://127.0.0.1:1'),
      path: '/x',
      streams: 1,
      params: { ...DEFAULT_PARAMS, payloadBytes: 128 },
      window: { startMs: 0, endMs: 1e15 },
      latency: newHistogram(),
      scheduleLag: newHistogram(),
      sockets: new ClientSockets(),
      pollPhase: () => ({ fraction: 0, epochMs: 0 }),
      verifyEvery,
      chat,
    } satisfies ClientContext,
    0,
  )

const update = (seq: number) => encodeUpdate(seq, 'AAPL', 123.45, 900 + seq, 128, 'x'.repeat(128))

test('good updates are delivered; with verifyEvery 1 each is parsed in full and matches the scan', () => {
  const p = probe(1)
  for (let s = 1; s <= 5; s++) p.feed(update(s))
  assert.deepEqual([p.delivery.delivered, p.counters.verified, p.counters.corrupt], [5, 5, 0])
})

test('bytes the scan reads but that are not a whole update are caught by the full parse, and not delivered', () => {
  const p = probe(1)
  const cut = update(1).subarray(0, 100) // seq and ts are whole, the pad is cut
  p.feed(cut)
  const wrongSize = Buffer.from(update(2).toString('latin1').replace('"pad":"xx', '"pad":"x'))
  p.feed(wrongSize)
  const twisted = Buffer.from(update(3).toString('latin1').replace('"sym":"AAPL"', '"sym":1234567'))
  p.feed(twisted)
  assert.deepEqual([p.delivery.delivered, p.counters.corrupt, p.counters.errors], [0, 3, 3])
  assert.match(p.counters.lastError ?? '', /corrupt update/)
})

test('bytes with no seq or ts are corrupt whatever the sample', () => {
  const p = probe(1000)
  p.feed(Buffer.from('{"hello":"world"}'))
  p.feed(Buffer.from('not json at all'))
  assert.deepEqual([p.delivery.delivered, p.counters.corrupt], [0, 2])
})

test('with verifyEvery N, one update in N is parsed in full', () => {
  const p = probe(10)
  for (let s = 1; s <= 1000; s++) p.feed(update(s))
  assert.equal(p.delivery.delivered, 1000)
  assert.equal(p.counters.verified, 100)
})

test('a chat message re-serialised by its server (Socket.IO) passes with the trailing zeros of ts dropped', () => {
  const p = probe(1, { senderRtt: newHistogram(), onRefused: () => {} })
  // what the server publishes: `{"seq":S,` + the sent body, P bytes; Socket.IO parses the body and
  // serialises it again, so `ts` loses its trailing zeros: `.400` -> `.4`, `.000` -> nothing
  const sent = (seq: number, ts: number): string =>
    `{"seq":${seq},${chatBody(0, 3, seq, ts, 128, seq).toString('latin1').slice(1)}`
  const again = (seq: number, ts: number): Buffer => Buffer.from(JSON.stringify(JSON.parse(sent(seq, ts))))
  assert.equal(sent(1, 1_796_553_152_857).length, 128)
  p.feed(again(1, 1_796_553_152_857.4)) // 2 bytes short
  p.feed(again(2, 1_796_553_152_857)) // 4 bytes short
  p.feed(again(3, 1_796_553_152_857.123)) // as sent
  assert.deepEqual([p.delivery.delivered, p.counters.verified, p.counters.corrupt], [3, 3, 0])
  // a pad 5 bytes short, more than a re-serialisation can drop, is still corrupt
  p.feed(Buffer.from(sent(4, 1_796_553_152_857.123).replace('"pad":"xxxxxx', '"pad":"x')))
  assert.deepEqual([p.delivery.delivered, p.counters.corrupt], [3, 1])
})
