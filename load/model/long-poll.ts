/** Long polling: one answer per tick carrying that tick's updates, and the request that asked for it. */
import { meanDigits, pollBodyLength, pollRequestHead, pollResponseHead } from './http.ts'
import { type ByteModel, modelResult } from './types.ts'

export const longPollModel: ByteModel = (p, ctx) => {
  const k = p.updatesPerTick
  const body = pollBodyLength(k, p.payloadBytes)
  const extra = meanDigits(ctx.seqFrom, ctx.seqTo) - 1
  const up = (pollRequestHead(`${ctx.path}?since=1`, ctx.host, ctx.port).length + extra) / k
  const down = (pollResponseHead(body).length + body) / k
  return modelResult(up, down)
}
