/**
 * The model: the least bytes per delivered update each transport must cost, both directions, computed
 * from the params and from the exact bytes this suite's server and clients put on the wire. Each
 * transport's model is its own file beside this one, named in the transport registry (lib/transports.ts).
 * Not counted (they are what measured minus model shows): connection set-up (TCP handshake is below
 * the socket counters; HTTP request/response heads of SSE, the WebSocket upgrade), SSE heartbeats,
 * WebSocket ping/pong, and for short polling the jitter of how many updates a poll carries.
 */
import type { ScenarioParams } from '../../lib/params.ts'

export interface ModelContext {
  host: string
  port: number
  /** the transport's URL path (from the registry): its length is in every poll's request line */
  path: string
  /** first and last seq published in the window: their digits are in `since=`, `id:` and `pb-seq` */
  seqFrom: number
  seqTo: number
}

export interface ModelBytes {
  /** client to server, per delivered update */
  clientToServer: number
  /** server to client, per delivered update */
  serverToClient: number
  /** both, per delivered update: `bytes.modelPerUpdate` */
  perUpdate: number
}

/** One transport's model. */
export type ByteModel = (p: ScenarioParams, ctx: ModelContext) => ModelBytes

const round = (n: number): number => Math.round(n * 100) / 100

/** Rounds both directions to 0.01 B and adds them up. */
export function modelResult(up: number, down: number): ModelBytes {
  return { clientToServer: round(up), serverToClient: round(down), perUpdate: round(up + down) }
}
