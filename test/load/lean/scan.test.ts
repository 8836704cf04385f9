/** load/lean/scan.ts against JSON.parse: seq and ts of updates, and of the updates of a poll answer. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { mulberry32 } from '../../../lib/random.ts'
import { type ScannedUpdate, scanBatch, scanElements, scanUpdate } from '../../../load/lean/scan.ts'

/** seeded, so that a failure reproduces */
const seeded = mulberry32

/** A random update of `bytes` bytes in the wire shape, seq of 1 to 10 digits, ts epoch ms with 3 decimals. */
function randomUpdate(rnd: () => number, bytes: number): string {
  const digits = 1 + Math.floor(rnd() * 10)
  const seq = Math.floor(10 ** (digits - 1) + rnd() * (10 ** digits - 10 ** (digits - 1)))
  const sym = 'AAPL MSFT GOOG TSLA X BRK'.split(' ')[Math.floor(rnd() * 6)]
  const px = (1 + rnd() * 9998.99).toFixed(2)
  const ts = (1_764_050_000_000 + Math.floor(rnd() * 1e12) / 1000).toFixed(3)
  const fixed = `{"seq":${seq},"sym":"${sym}","px":${px},"ts":${ts},"pad":""}`.length
  assert.ok(fixed <= bytes, `${fixed} fixed bytes fit ${bytes}`)
  return `{"seq":${seq},"sym":"${sym}","px":${px},"ts":${ts},"pad":"${'x'.repeat(bytes - fixed)}"}`
}

function randomBytes(rnd: () => number): number {
  // half small (the usual payloads), half up to 16 KiB
  return rnd() < 0.5 ? 76 + Math.floor(rnd() * 200) : 76 + Math.floor(rnd() * (16 * 1024 - 76 + 1))
}

test('scanUpdate finds seq and ts of a wire update', () => {
  const out: ScannedUpdate = { seq: 0, ts: 0 }
  const b = Buffer.from('{"seq":42,"sym":"AAPL","px":123.45,"ts":1764050000000.123,"pad":"xxx"}')
  assert.equal(scanUpdate(b, 0, b.length, out), true)
  assert.deepEqual(out, { seq: 42, ts: 1764050000000.123 })
})

test('scanUpdate agrees with JSON.parse on 3,000 random updates of 76 B to 16 KiB, inside a larger buffer', () => {
  const rnd = seeded(20251125)
  const out: ScannedUpdate = { seq: 0, ts: 0 }
  const digits = new Set<number>()
  const sizes = new Set<number>([76, 16 * 1024])
  for (let n = 0; n < 3000; n++) {
    const bytes = n < 2 ? (n === 0 ? 76 : 16 * 1024) : randomBytes(rnd)
    sizes.add(bytes)
    const json = randomUpdate(rnd, bytes)
    assert.equal(json.length, bytes)
    const want = JSON.parse(json) as { seq: number; ts: number }
    digits.add(String(want.seq).length)
    // bytes around it that would spoil a scan that ran past its bounds
    const b = Buffer.from(`"ts":9,${json}9"}`)
    assert.equal(scanUpdate(b, 7, 7 + bytes, out), true, json)
    assert.equal(out.seq, want.seq, json)
    assert.equal(out.ts, want.ts, json)
  }
  assert.equal(digits.size, 10)
  assert.ok(sizes.has(76) && sizes.has(16 * 1024))
})

test('scanUpdate: whitespace, other number forms, and what it rejects', () => {
  const out: ScannedUpdate = { seq: -1, ts: -1 }
  const ok = (s: string) => {
    const b = Buffer.from(s)
    assert.equal(scanUpdate(b, 0, b.length, out), true, s)
    const want = JSON.parse(s) as { seq: number; ts: number }
    assert.deepEqual(out, { seq: want.seq, ts: want.ts }, s)
  }
  ok(' { "ts" : 0.5 ,\n "seq" : 7 , "pad" : "" } ')
  ok('{"seq":0,"ts":1.5e3}')
  ok('{"seq":-3,"ts":-1764050000000.001,"ok":true,"n":null}')
  ok('{"seq":9007199254740993,"ts":12345678901234567.5}')
  ok('{"seq":9999999999,"ts":0.1234567890123456789012345}')
  const bad = (s: string) => {
    const b = Buffer.from(s)
    out.seq = -1
    assert.equal(scanUpdate(b, 0, b.length, out), false, s)
    assert.equal(out.seq, -1, 'out untouched')
  }
  bad('{"seq":"1","ts":2}')
  bad('{"ts":2}')
  bad('{"seq":1}')
  bad('{"seq":1,"ts":}')
  bad('{"seq":1,"ts":2.}')
  bad('{"seq":1 "ts":2}')
  bad('[{"seq":1,"ts":2}]')
  bad('')
  // a prefix is refused until both numbers are whole; past that the scan stops (the pad is not walked:
  // the sampled full parse of the lean clients checks the rest)
  const full = '{"seq":12,"sym":"AAPL","px":1.5,"ts":1764050000000.123,"pad":"xx"}'
  const whole = full.indexOf(',"pad"')
  for (let i = 0; i <= whole; i++) bad(full.slice(0, i))
  for (let i = whole + 1; i <= full.length; i++) {
    const b = Buffer.from(full.slice(0, i))
    assert.equal(scanUpdate(b, 0, b.length, out), true, full.slice(0, i))
    assert.deepEqual(out, { seq: 12, ts: 1764050000000.123 })
  }
})

test('scanBatch agrees with JSON.parse on 300 random poll answers, offsets included', () => {
  const rnd = seeded(7)
  for (let n = 0; n < 300; n++) {
    const count = n === 0 ? 0 : Math.floor(rnd() * 20)
    const jsons = Array.from({ length: count }, () => randomUpdate(rnd, randomBytes(rnd)))
    // the last ones with spaces between the tokens
    const body = n % 10 === 9 ? ` [ ${jsons.join(' ,\n')} ] ` : `[${jsons.join(',')}]`
    const b = Buffer.from(`xx${body}yy`)
    const got: { seq: number; ts: number; json: string }[] = []
    const r = scanBatch(b, 2, 2 + body.length, (seq, ts, s, e) =>
      got.push({ seq, ts, json: b.toString('latin1', s, e) }),
    )
    assert.equal(r, count)
    const want = (JSON.parse(body) as { seq: number; ts: number }[]).map((u, k) => ({
      seq: u.seq,
      ts: u.ts,
      json: jsons[k],
    }))
    assert.deepEqual(got, want)
  }
})

test('scanBatch: -1 on a malformed answer, after calling back the updates before the fault', () => {
  const u = '{"seq":1,"ts":2}'
  const seqs: number[] = []
  const scan = (s: string) => {
    seqs.length = 0
    const b = Buffer.from(s)
    return scanBatch(b, 0, b.length, (seq) => seqs.push(seq))
  }
  assert.equal(scan('[]'), 0)
  assert.equal(scan(` [ ${u} ] `), 1)
  assert.equal(scan(`[${u},{"seq":2}]`), -1)
  assert.deepEqual(seqs, [1])
  assert.equal(scan(`[${u},]`), -1)
  assert.equal(scan(`[${u}`), -1)
  assert.equal(scan(`[${u} ${u}]`), -1)
  assert.equal(scan(u), -1)
  assert.equal(scan(''), -1)
  const full = `[${u},${u}]`
  for (let i = 0; i < full.length; i++) assert.equal(scan(full.slice(0, i)), -1, full.slice(0, i))
})

test('scanElements: the updates of a Socket.IO event after its name, 42["u",{...},{...}], against JSON.parse', () => {
  const rnd = seeded(17)
  for (let n = 0; n < 100; n++) {
    const k = 1 + Math.floor(rnd() * 5)
    const updates = Array.from({ length: k }, () => randomUpdate(rnd, 76 + Math.floor(rnd() * 200)))
    const packet = Buffer.from(`xx42["u",${updates.join(',')}]yy`, 'latin1')
    const start = 2 + '42["u",'.length
    const got: [number, number, string][] = []
    const count = scanElements(packet, start, packet.length - 2, (seq, ts, s, e) =>
      got.push([seq, ts, packet.toString('latin1', s, e)]),
    )
    assert.equal(count, k)
    assert.deepEqual(
      got,
      updates.map((u) => {
        const j = JSON.parse(u) as { seq: number; ts: number }
        return [j.seq, j.ts, u]
      }),
    )
  }
  // no closing bracket within the bounds, or something else than a comma between updates: -1
  const one = randomUpdate(rnd, 100)
  assert.equal(
    scanElements(Buffer.from(`${one}`), 0, one.length, () => {}),
    -1,
  )
  assert.equal(
    scanElements(Buffer.from(`${one};${one}]`), 0, 2 * one.length + 2, () => {}),
    -1,
  )
})
