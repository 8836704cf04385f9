/**
 * What a transport needs from a workload (lib/workloads.ts): streams a client subscribes to, each with
 * its own sequence, messages serialised once on publish, and resume from a seq. The ticker is one
 * stream; a chat is one stream per room. Transports frame and deliver; they never know what a message says.
 */

/** One published message of one stream. */
export interface Message {
  /** index of its stream, 0 .. streams-1 */
  readonly stream: number
  /** its stream's sequence number: 1, 2, 3, ... with no gap */
  readonly seq: number
  /** publish instant, epoch ms on the suite's clock (lib/clock.ts) */
  readonly ts: number
  /** the serialised message, shared by every connection */
  readonly json: Buffer
  /** framed form for the one transport this process serves (SSE event, WebSocket frame), memoised */
  framed: Buffer | undefined
}

export type PublishListener = (stream: number, messages: readonly Message[]) => void

export interface Feed {
  /** how many streams exist: a subscription names one with `?stream=N` (0 when there is one) */
  readonly streams: number
  /** seq of the newest message of `stream`; 0 before its first */
  lastSeqOf(stream: number): number
  /** every message of `stream` newer than `seq` still held, oldest first */
  since(stream: number, seq: number): Message[]
  /** calls `fn` after each publish with that publish's messages of one stream, in seq order */
  onPublish(fn: PublishListener): () => void
}

/**
 * A workload's server side: a feed that publishes on its own tick clock, which the run steers over IPC
 * (window edges on tick boundaries, rate steps of the capacity search, counts of what a window published).
 */
export interface Source extends Feed {
  readonly rate: { tickHz: number; updatesPerTick: number }
  setRate(tickHz: number, updatesPerTick: number): void
  /** calls `fn(ts)` at the start of every tick, before its messages exist or are written */
  onBeforeTick(fn: (ts: number) => void): () => void
  /** messages per stream whose publish instant is in [fromMs, toMs) */
  publishedBetween(fromMs: number, toMs: number): number[]
  /** publishes one tick now: the timer calls it, tests call it by hand for a deterministic sequence */
  publishTick(ts?: number): readonly Message[]
  start(): void
  stop(): void
}
