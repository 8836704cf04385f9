/**
 * Short polling: a client polls R times a second; at most one poll per tick finds that tick's updates,
 * the rest get 204. The cost follows the poll rate, not the updates.
 */
import { meanDigits, noContentHead, pollBodyLength, pollRequestHead, pollResponseHead } from './http.ts'
import { type ByteModel, modelResult } from './types.ts'

export const shortPollModel: ByteModel = (p, ctx) => {
  const extra = meanDigits(ctx.seqFrom, ctx.seqTo) - 1
  const updatesPerS = p.tickHz * p.updatesPerTick
  const pollsPerS = 1000 / p.pollIntervalMs
  const dataPollsPerS = Math.min(pollsPerS, p.tickHz)
  const body = pollBodyLength(updatesPerS / dataPollsPerS, p.payloadBytes)
  const up =
    (pollsPerS * (pollRequestHead(`${ctx.path}?since=1`, ctx.host, ctx.port).length + extra)) / updatesPerS
  const down =
    (dataPollsPerS * (pollResponseHead(Math.round(body)).length + body) +
      (pollsPerS - dataPollsPerS) * (noContentHead(1).length + extra)) /
    updatesPerS
  return modelResult(up, down)
}
