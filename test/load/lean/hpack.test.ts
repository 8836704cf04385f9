/**
 * load/lean/hpack.ts: the canonical Huffman code built from its lengths against RFC 7541 Appendix C, and the
 * encoder and decoder against header blocks node:http2 put on the wire (read off a session to the suite's
 * HTTP/2 server; test/servers/h2.test.ts and test/load/clients/lean-library.test.ts check live sessions).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { HpackDecoder, HpackEncoder, huffmanDecode, huffmanEncode } from '../../../load/lean/hpack.ts'

test('Huffman: the RFC 7541 Appendix C strings, both ways', () => {
  const vectors: [string, string][] = [
    ['www.example.com', 'f1e3c2e5f23a6ba0ab90f4ff'],
    ['no-cache', 'a8eb10649cbf'],
    ['custom-key', '25a849e95ba97d7f'],
    ['custom-value', '25a849e95bb8e8b4bf'],
    ['302', '6402'],
    ['private', 'aec3771a4b'],
    ['Mon, 21 Oct 2013 20:13:21 GMT', 'd07abe941054d444a8200595040b8166e082a62d1bff'],
    ['https://www.example.com', '9d29ad171863c78f0b97c8e9ae82ae43d3'],
  ]
  for (const [s, hex] of vectors) {
    assert.equal(huffmanEncode(s)?.toString('hex'), hex, s)
    const b = Buffer.from(hex, 'hex')
    assert.equal(huffmanDecode(b, 0, b.length), s)
  }
  // a symbol of 13 bits or more is not coded here: refused, never guessed
  assert.equal(huffmanEncode('a~'), undefined)
})

test("the encoder writes node:http2's request blocks; the decoder reads its answers and keeps the table", () => {
  const enc = new HpackEncoder('127.0.0.1:37161', false)
  // :path never indexed, GET, :authority indexed after the first request, :scheme http
  const first = enc.request('GET', '/h2/poll?since=0').toString('hex')
  assert.equal(first, '048c62713159e8a3fc41aa21600782418b089d5c0b8170dc65d0b81f86')
  assert.equal(enc.request('GET', '/h2/poll?since=1').toString('hex'), '048c62713159e8a3fc41aa21600f82be86')
  const dec = new HpackDecoder()
  const read = (hex: string) => {
    const out: string[] = []
    const b = Buffer.from(hex, 'hex')
    dec.decode(b, 0, b.length, (n, v) => out.push(`${n}: ${v}`))
    return out
  }
  const date = 'date: Sun, 06 Dec 2026 05:03:40 GMT'
  // a 200: content-type and date added to the table, content-length never indexed
  assert.deepEqual(
    read('885f8b1d75d0620d263d4c7441ea0f0d820b206196dd6d5f4a01c52f948a0802714037700cdc680a62d1bf'),
    [':status: 200', 'content-type: application/json', 'content-length: 130', date],
  )
  assert.deepEqual(read('88bf0f0d820b20be'), [
    ':status: 200',
    'content-type: application/json',
    'content-length: 130',
    date,
  ])
  // a 204 with a new pb-seq (literal, indexed), then the same one from the table
  assert.deepEqual(read('894085ae35905edf0134bf'), [':status: 204', 'pb-seq: 4', date])
  assert.deepEqual(read('89bebf'), [':status: 204', 'pb-seq: 4', date])
})
