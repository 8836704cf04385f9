/**
 * A poll answer: the response head (as the real server sends it) + the JSON array of k stored update
 * buffers (servers/frames.ts pollBody), k = 1, 10, 100. Routing and node:http's own header handling
 * are not in it: this is the bytes' share of a poll's cost.
 */
import { defineCase, expect, expectBytes, type MicroCaseDef, POLL_BATCH_UPDATES } from './case.ts'
import { PAYLOAD_SIZES, tickerUpdates } from './fixtures.ts'
import { type PollHeadTemplate, pollResponse } from './poll-head.ts'

export function pollResponseCases(head: PollHeadTemplate): MicroCaseDef[] {
  const cases: MicroCaseDef[] = []
  for (const payloadBytes of PAYLOAD_SIZES) {
    for (const k of POLL_BATCH_UPDATES) {
      const updates = tickerUpdates(payloadBytes, k)
      const jsons = updates.map((u) => u.json)
      const body = `[${jsons.map((j) => j.toString('latin1')).join(',')}]`
      cases.push(
        defineCase({
          group: 'poll-response',
          payloadBytes,
          updatesPerOp: k,
          name: `head + pollBody ×${k}`,
          fn: () => pollResponse(head, jsons),
          check: ([h, b]) => {
            const want = `${head.before}${body.length}${head.after}`
            expectBytes(h, Buffer.from(want, 'latin1'), `poll head for ${k} updates of ${payloadBytes} B`)
            expectBytes(b, Buffer.from(body, 'latin1'), `poll body of ${k} updates of ${payloadBytes} B`)
            const parsed = JSON.parse(b.toString('latin1')) as { seq: number }[]
            expect(parsed.length === k, 'poll body: updates in the array', parsed.length, k)
            expect(parsed[k - 1]?.seq === updates[k - 1]?.seq, 'poll body: last seq', parsed[k - 1]?.seq, k)
          },
        }),
      )
    }
  }
  return cases
}
