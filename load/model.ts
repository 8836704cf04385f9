/**
 * The model: the least bytes per delivered update each transport must cost, both directions, computed
 * from the params and from the exact bytes this suite's server and clients put on the wire.
 * Not counted (they are what measured minus model shows): connection set-up (TCP handshake is below
 * the socket counters; HTTP request/response heads of SSE, the WebSocket upgrade), SSE heartbeats,
 * WebSocket ping/pong, and for short polling the jitter of how many updates a poll carries.
 */

import type { ScenarioParams, Transport } from '../lib/params.ts'
import { KEEP_ALIVE_TIMEOUT_MS } from '../servers/app.ts'
import { chunkOverhead, sseEventLength, wsFrameHeaderLength } from '../servers/frames.ts'

/** `Date: Wed, 25 Nov 2026 06:23:51 GMT` is always 29 characters. */
const DATE = 'Wed, 25 Nov 2026 06:23:51 GMT'
const KEEP_ALIVE = `Connection: keep-alive\r\nKeep-Alive: timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}\r\n\r\n`

/** What the poll clients (undici, load/clients/http-get.ts) send for one poll on their keep-alive connection. */
export function pollRequestHead(path: string, host: string, port: number): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: keep-alive\r\n\r\n`
}

/** What the fastify server answers with, head only. */
export function pollResponseHead(contentLength: number): string {
  return `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${contentLength}\r\nDate: ${DATE}\r\n${KEEP_ALIVE}`
}

export function noContentHead(lastSeq: number): string {
  return `HTTP/1.1 204 No Content\r\npb-seq: ${lastSeq}\r\nDate: ${DATE}\r\n${KEEP_ALIVE}`
}

/** JSON array of k updates of P bytes: k*P + (k-1) commas + 2 brackets. */
export const pollBodyLength = (k: number, payloadBytes: number): number =>
  k * payloadBytes + Math.max(0, k - 1) + 2

export interface ModelContext {
  host: string
  port: number
  /** first and last seq published in the window: their digits are in `since=`, `id:` and `pb-seq` */
  seqFrom: number
  seqTo: number
}

/** Mean number of decimal digits of the integers in [from, to], exactly. */
export function meanDigits(from: number, to: number): number {
  if (to < from) return String(Math.max(1, from)).length
  let sum = 0
  for (let d = 1, lo = 1; lo <= to; d++, lo *= 10) {
    const a = Math.max(from, lo)
    const b = Math.min(to, lo * 10 - 1)
    if (b >= a) sum += (b - a + 1) * d
  }
  return sum / (to - from + 1)
}

export interface ModelBytes {
  /** client to server, per delivered update */
  clientToServer: number
  /** server to client, per delivered update */
  serverToClient: number
  /** both, per delivered update: `bytes.modelPerUpdate` */
  perUpdate: number
}

const round = (n: number): number => Math.round(n * 100) / 100

export function modelBytes(transport: Transport, p: ScenarioParams, ctx: ModelContext): ModelBytes {
  const P = p.payloadBytes
  const k = p.updatesPerTick
  // heads are built with a 1-digit seq, then given the window's mean digit count
  const extra = meanDigits(ctx.seqFrom, ctx.seqTo) - 1
  const seq = 1
  let up = 0
  let down = 0
  switch (transport) {
    case 'websocket':
      down = wsFrameHeaderLength(P) + P
      break
    case 'sse': {
      const ev = sseEventLength(seq, P) + extra
      // chunk sizes are whole bytes: their hex length is taken of the rounded size
      down =
        p.writePolicy === 'per-update'
          ? ev + chunkOverhead(Math.round(ev))
          : ev + chunkOverhead(Math.round(ev * k)) / k
      break
    }
    case 'long-poll': {
      // one answer per tick carrying that tick's updates, and the request that asked for it
      const body = pollBodyLength(k, P)
      up = (pollRequestHead(`/long-poll?since=${seq}`, ctx.host, ctx.port).length + extra) / k
      down = (pollResponseHead(body).length + body) / k
      break
    }
    case 'short-poll': {
      // a client polls R times a second; at most one poll per tick finds that tick's updates, the rest get 204
      const updatesPerS = p.tickHz * k
      const pollsPerS = 1000 / p.pollIntervalMs
      const dataPollsPerS = Math.min(pollsPerS, p.tickHz)
      const perDataPoll = updatesPerS / dataPollsPerS
      const body = pollBodyLength(perDataPoll, P)
      up =
        (pollsPerS * (pollRequestHead(`/poll?since=${seq}`, ctx.host, ctx.port).length + extra)) / updatesPerS
      down =
        (dataPollsPerS * (pollResponseHead(Math.round(body)).length + body) +
          (pollsPerS - dataPollsPerS) * (noContentHead(seq).length + extra)) /
        updatesPerS
      break
    }
  }
  return { clientToServer: round(up), serverToClient: round(down), perUpdate: round(up + down) }
}
