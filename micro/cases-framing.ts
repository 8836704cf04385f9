/**
 * Building what goes around an update on the wire. WebSocket: ws's own per-send framing against the
 * precomputed frame the server builds once (servers/frames.ts) and writes as is to every socket;
 * masking, which only a client pays. SSE: the event built once per update, and the chunk framing
 * node:http adds around every `res.write`, per connection.
 */
import { chunkOverhead, sseEvent, sseEventLength, wsTextFrame } from '../servers/frames.ts'
import { defineCase, expect, expectBytes, type MicroCaseDef, RECIPIENTS } from './case.ts'
import { PAYLOAD_SIZES, tickerUpdates } from './fixtures.ts'
import { type FrameOptions, Sender } from './ws-internals.ts'

const TEXT: FrameOptions = { fin: true, opcode: 0x1, mask: false, readOnly: true, rsv1: false }
const TEXT_MASKED: FrameOptions = { ...TEXT, mask: true }

/** RFC 6455 5.2, written out here so the frames are checked against the spec, not against themselves. */
export function rfc6455TextHeader(length: number): Buffer {
  if (length < 126) return Buffer.from([0x81, length])
  if (length < 65_536) return Buffer.from([0x81, 126, length >> 8, length & 0xff])
  const h = Buffer.alloc(10)
  h[0] = 0x81
  h[1] = 127
  h.writeUIntBE(length, 4, 6)
  return h
}

export function wsFrameCases(): MicroCaseDef[] {
  const cases: MicroCaseDef[] = []
  for (const payloadBytes of PAYLOAD_SIZES) {
    const [u] = tickerUpdates(payloadBytes, 1)
    if (u === undefined) throw new Error('the ticker published no update')
    const json = u.json
    const want = Buffer.concat([rfc6455TextHeader(json.length), json])
    const headerLen = want.length - json.length
    for (const recipients of RECIPIENTS) {
      const out: Buffer[][] = new Array(recipients)
      const shared: Buffer[] = new Array(recipients)
      const common = { group: 'ws-frame', payloadBytes, recipients } as const
      cases.push(
        defineCase({
          ...common,
          name: `ws Sender.frame per recipient ×${recipients}`,
          fn: () => {
            for (let r = 0; r < recipients; r++) out[r] = Sender.frame(json, TEXT)
            return out
          },
          check: (frames) => {
            for (const f of [frames[0], frames[recipients - 1]]) {
              expect(f !== undefined, 'ws Sender.frame: frame missing')
              expect(f[1] === json, 'ws Sender.frame: the payload is passed on, not copied')
              expectBytes(Buffer.concat(f), want, `ws Sender.frame at ${payloadBytes} B`)
            }
          },
        }),
        defineCase({
          ...common,
          name: `precomputed wsTextFrame once ×${recipients}`,
          fn: () => {
            const f = wsTextFrame(json)
            for (let r = 0; r < recipients; r++) shared[r] = f
            return shared
          },
          check: (frames) => {
            const f = frames[recipients - 1]
            expect(
              f !== undefined && f === frames[0],
              'precomputed frame: one buffer shared by every recipient',
            )
            expect(f[0] === 0x81, 'precomputed frame: FIN + text opcode', f[0], 0x81)
            expect(f.length === json.length + headerLen, 'precomputed frame length', f.length, want.length)
            expectBytes(f, want, `precomputed frame at ${payloadBytes} B`)
          },
        }),
      )
    }
    cases.push(
      defineCase({
        group: 'ws-frame',
        payloadBytes,
        name: 'ws Sender.frame masked (client)',
        fn: () => Sender.frame(json, TEXT_MASKED),
        check: (f) => {
          expect(f.length === 1, 'masked read-only frame is one buffer (header + masked copy)', f.length, 1)
          const b = f[0] as Buffer
          const off = headerLen + 4
          expect(b.length === json.length + off, 'masked frame length', b.length, json.length + off)
          expect(b[0] === 0x81, 'masked frame: FIN + text opcode', b[0], 0x81)
          expect(((b[1] as number) & 0x80) !== 0, 'masked frame: MASK bit set')
          expectBytes(
            Buffer.from([(b[1] as number) & 0x7f]),
            want.subarray(1, 2),
            'masked frame: length code',
          )
          expectBytes(b.subarray(2, headerLen), want.subarray(2, headerLen), 'masked frame: extended length')
          const key = b.subarray(headerLen, off)
          const unmasked = Buffer.from(b.subarray(off))
          for (let i = 0; i < unmasked.length; i++)
            unmasked[i] = (unmasked[i] as number) ^ (key[i & 3] as number)
          expectBytes(unmasked, json, 'masked frame: payload unmasks to the update')
          expect(json[0] === 0x7b, 'masked frame: the update itself was not masked in place')
        },
      }),
    )
  }
  return cases
}

const CRLF = Buffer.from('\r\n', 'latin1')

/**
 * The chunk framing node:http puts around one `res.write(data)` on a chunked response: it writes the
 * hex size and CRLF as a latin1 string, the data as is, then a static CRLF (no copy of the data).
 */
function chunkFraming(data: Buffer): Buffer[] {
  return [Buffer.from(`${data.length.toString(16)}\r\n`, 'latin1'), data, CRLF]
}

export function sseEventCases(): MicroCaseDef[] {
  const cases: MicroCaseDef[] = []
  for (const payloadBytes of PAYLOAD_SIZES) {
    const [u] = tickerUpdates(payloadBytes, 1)
    if (u === undefined) throw new Error('the ticker published no update')
    const text = `id: ${u.seq}\ndata: ${u.json.toString('latin1')}\n\n`
    const event = sseEvent(u.seq, u.json)
    cases.push(
      defineCase({
        group: 'sse-event',
        payloadBytes,
        name: 'sseEvent (once per update)',
        fn: () => sseEvent(u.seq, u.json),
        check: (ev) => {
          expect(ev.length === sseEventLength(u.seq, u.json.length), 'sseEvent length', ev.length)
          expectBytes(ev, Buffer.from(text, 'latin1'), `SSE event at ${payloadBytes} B`)
        },
      }),
      defineCase({
        group: 'sse-event',
        payloadBytes,
        name: 'chunk framing (per write)',
        fn: () => chunkFraming(event),
        check: (parts) => {
          const wire = Buffer.concat(parts)
          expect(parts[1] === event, 'chunk framing passes the event on, not copied')
          expect(
            wire.length === event.length + chunkOverhead(event.length),
            'chunked event length',
            wire.length,
            event.length + chunkOverhead(event.length),
          )
          expectBytes(
            wire,
            Buffer.from(`${event.length.toString(16)}\r\n${text}\r\n`, 'latin1'),
            `chunked SSE event at ${payloadBytes} B`,
          )
        },
      }),
    )
  }
  return cases
}
