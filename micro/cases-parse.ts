/**
 * What a client pays to get an update out of the bytes, with the parsers the load clients use:
 * ws's Receiver fed one frame, eventsource-parser fed one event's text, JSON.parse of a poll batch
 * (what load/clients/poll.ts does with an answer's body).
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { pollBody, sseEvent, wsTextFrame } from '../servers/frames.ts'
import { defineCase, expect, type MicroCaseDef, POLL_BATCH_UPDATES } from './case.ts'
import { PAYLOAD_SIZES, tickerUpdates } from './fixtures.ts'
import { CLIENT_RECEIVER_OPTIONS, ReceiverClass } from './ws-internals.ts'

export function parseCases(): MicroCaseDef[] {
  const cases: MicroCaseDef[] = []
  for (const payloadBytes of PAYLOAD_SIZES) {
    const [u] = tickerUpdates(payloadBytes, 1)
    if (u === undefined) throw new Error('the ticker published no update')
    const jsonText = u.json.toString('latin1')

    // ws: the socket's bytes go to receiver.write; 'message' fires synchronously with the payload
    const frame = wsTextFrame(u.json)
    const receiver = new ReceiverClass(CLIENT_RECEIVER_OPTIONS)
    const ws: { message?: Buffer | undefined; error?: Error } = {}
    receiver.on('message', (data, isBinary) => {
      ws.message = isBinary ? undefined : data
    })
    receiver.on('error', (err) => {
      ws.error = err
    })
    cases.push(
      defineCase({
        group: 'parse',
        payloadBytes,
        name: 'ws Receiver (frame)',
        fn: () => {
          ws.message = undefined
          receiver.write(frame)
          return ws.message as Buffer | undefined
        },
        check: (data) => {
          expect(ws.error === undefined, `ws Receiver: ${ws.error?.message}`)
          expect(data !== undefined, 'ws Receiver: one text message per frame')
          expect(data.toString('latin1') === jsonText, 'ws Receiver: the payload is the update')
          const seq = (JSON.parse(data.toString('latin1')) as { seq: number }).seq
          expect(seq === u.seq, 'ws Receiver: parsed seq', seq, u.seq)
        },
      }),
    )

    // SSE: the client sets utf8 encoding on the response and feeds each string chunk
    const eventText = sseEvent(u.seq, u.json).toString('utf8')
    const sse: { event?: EventSourceMessage | undefined } = {}
    const parser = createParser({
      onEvent: (e) => {
        sse.event = e
      },
    })
    cases.push(
      defineCase({
        group: 'parse',
        payloadBytes,
        name: 'eventsource-parser (event)',
        fn: () => {
          sse.event = undefined
          parser.feed(eventText)
          return sse.event as EventSourceMessage | undefined
        },
        check: (e) => {
          expect(e !== undefined, 'eventsource-parser: one event per fed event')
          expect(e.id === String(u.seq), 'eventsource-parser: id', e.id, String(u.seq))
          expect(e.data === jsonText, 'eventsource-parser: data is the update')
          const seq = (JSON.parse(e.data) as { seq: number }).seq
          expect(seq === u.seq, 'eventsource-parser: parsed seq', seq, u.seq)
        },
      }),
    )

    for (const k of POLL_BATCH_UPDATES) {
      const updates = tickerUpdates(payloadBytes, k)
      const body = pollBody(updates.map((x) => x.json)).toString('latin1')
      cases.push(
        defineCase({
          group: 'parse',
          payloadBytes,
          updatesPerOp: k,
          name: `JSON.parse poll batch ×${k}`,
          fn: () => JSON.parse(body) as { seq: number; ts: number }[],
          check: (batch) => {
            expect(batch.length === k, 'poll batch: updates', batch.length, k)
            for (let i = 0; i < k; i++) {
              const got = batch[i]
              const want = updates[i]
              expect(got?.seq === want?.seq, `poll batch: seq of update ${i}`, got?.seq, want?.seq)
              expect(
                got?.ts === Number(want?.ts.toFixed(3)),
                `poll batch: ts of update ${i}`,
                got?.ts,
                want?.ts,
              )
            }
          },
        }),
      )
    }
  }
  return cases
}
