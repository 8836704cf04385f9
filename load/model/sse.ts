/** SSE: `id: SEQ\ndata: JSON\n\n` per update, inside HTTP/1.1 chunk framing (one chunk per write). */
import { chunkOverhead, sseEventLength } from '../../servers/frames.ts'
import { meanDigits } from './http.ts'
import { type ByteModel, modelResult } from './types.ts'

export const sseModel: ByteModel = (p, ctx) => {
  // the event is built with a 1-digit seq, then given the window's mean digit count
  const ev = sseEventLength(1, p.payloadBytes) + meanDigits(ctx.seqFrom, ctx.seqTo) - 1
  const k = p.updatesPerTick
  // chunk sizes are whole bytes: their hex length is taken of the rounded size
  const down =
    p.writePolicy === 'per-update'
      ? ev + chunkOverhead(Math.round(ev))
      : ev + chunkOverhead(Math.round(ev * k)) / k
  return modelResult(0, down)
}
