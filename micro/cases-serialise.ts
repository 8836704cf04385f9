/**
 * Serialising an update for R recipients: JSON.stringify per connection (what naive code does) against
 * serialising once per update and handing every connection the same buffer (what the servers do).
 */
import { encodeUpdate } from '../servers/update.ts'
import { defineCase, expect, expectBytes, type MicroCaseDef, RECIPIENTS } from './case.ts'
import { PAYLOAD_SIZES, sampleUpdate } from './fixtures.ts'

export function serialiseCases(): MicroCaseDef[] {
  const cases: MicroCaseDef[] = []
  for (const payloadBytes of PAYLOAD_SIZES) {
    const { obj, json, args } = sampleUpdate(payloadBytes)
    for (const recipients of RECIPIENTS) {
      // every variant fills the same per-connection slots: only the serialising differs
      const out: Buffer[] = new Array(recipients)
      const check = (what: string) => (bufs: Buffer[]) => {
        expect(bufs.length === recipients, `${what}: one buffer per recipient`, bufs.length, recipients)
        for (const b of [bufs[0], bufs[recipients - 1]]) {
          expect(b !== undefined, `${what}: buffer missing`)
          expectBytes(b, json, `${what} at ${payloadBytes} B`)
        }
      }
      const common = { group: 'serialise', payloadBytes, recipients } as const
      cases.push(
        defineCase({
          ...common,
          name: `JSON.stringify per recipient ×${recipients}`,
          fn: () => {
            for (let r = 0; r < recipients; r++) out[r] = Buffer.from(JSON.stringify(obj))
            return out
          },
          check: check('JSON.stringify per recipient'),
        }),
        defineCase({
          ...common,
          name: `JSON.stringify once ×${recipients}`,
          fn: () => {
            const b = Buffer.from(JSON.stringify(obj))
            for (let r = 0; r < recipients; r++) out[r] = b
            return out
          },
          check: check('JSON.stringify once'),
        }),
        defineCase({
          ...common,
          name: `encodeUpdate once ×${recipients}`,
          fn: () => {
            const b = encodeUpdate(...args)
            for (let r = 0; r < recipients; r++) out[r] = b
            return out
          },
          check: check('encodeUpdate once (the ticker)'),
        }),
      )
    }
  }
  return cases
}
