/**
 * A chat message as a client sends it: `{"room":R,"from":C,"id":N,"ts":T,"pad":"..."}`, `ts` the send
 * instant (epoch ms, 3 decimals, lib/clock.ts). The server publishes `{"seq":S,` + the body after its `{`
 * (servers/chat.ts), so the published message is the body plus `"seq":S,` (7 + digits of S bytes).
 *
 * Size: the pad is chosen so that the PUBLISHED message is `payloadBytes` long for the seq the sender
 * expects its message to get (its room's newest seq it has seen, plus one). It is exact unless the room's
 * seq gained a digit between that guess and the server's accept (9 -> 10, 99 -> 100, ...: then one byte
 * longer; the lean clients' check allows a byte either way). When payloadBytes is smaller than the fixed
 * fields, the pad is empty and the message is as long as they are.
 */
import { formatTs } from '../../servers/update.ts'

const digits = (n: number): number => String(Math.max(1, Math.floor(n))).length

/** `"seq":S,` for a seq of this many digits. */
const seqFieldLength = (seq: number): number => 7 + digits(seq)

export function chatBody(
  room: number,
  from: number,
  id: number,
  ts: number,
  payloadBytes: number,
  expectedSeq: number,
): Buffer {
  const fixed = `{"room":${room},"from":${from},"id":${id},"ts":${formatTs(ts)},"pad":""}`
  const pad = Math.max(0, payloadBytes - seqFieldLength(expectedSeq) - fixed.length)
  return Buffer.from(
    `{"room":${room},"from":${from},"id":${id},"ts":${formatTs(ts)},"pad":"${'x'.repeat(pad)}"}`,
    'latin1',
  )
}

/** Length of the body the model assumes: payloadBytes minus the seq field (for a seq of `seq`'s digits). */
export const chatBodyLength = (payloadBytes: number, seq: number): number =>
  Math.max(0, payloadBytes - seqFieldLength(seq))
