/**
 * The chat workload's senders (lib/workloads.ts `chat`): every client sends `sendHz` messages a second to
 * its room, from the moment every client is connected and subscribed until the run stops it (bounded: the
 * timers go with the clients). Each client's schedule is fixed and seeded: a phase in [0, 1/sendHz) drawn
 * from mulberry32(seed ^ CHAT_SEED) in client order (a generator's slice skips the draws of the clients
 * before it, so a sharded run sends on the same schedule), then one message every 1/sendHz from that phase,
 * without drift. So 1,000 clients do not send at once, and the same seed gives the same schedule.
 *
 * Upstream, by the transport's registry entry: `connection` calls the client's own `send` (a WebSocket text
 * message); `post` gives each client a PostSender of its own (load/chat/post-sender.ts).
 */
import type * as hdr from 'hdr-histogram-js'
import { nowMs } from '../../lib/clock.ts'
import { newHistogram, summarise } from '../../lib/latency.ts'
import type { ScenarioParams } from '../../lib/params.ts'
import { mulberry32 } from '../../lib/random.ts'
import type { Latency } from '../../lib/results-schema.ts'
import type { ClientChat, LoadClient } from '../clients/common.ts'
import type { Window } from '../delivery.ts'
import { chatBody } from './message.ts'
import type { PostSender } from './post-sender.ts'

/** Mixed into the seed, so the send phases are not the poll phases of the same seed. */
const CHAT_SEED = 0x63686174

/** Phases of the clients `first ..` of a run, ms into a send period: seeded, in client order. */
export function sendPhases(seed: number, first: number, sendHz: number): () => number {
  const rand = mulberry32((seed ^ CHAT_SEED) >>> 0)
  for (let i = 0; i < first; i++) rand()
  const periodMs = 1000 / sendHz
  return () => rand() * periodMs
}

/** What the senders of one generator process counted over the window (messages sent in it, by `ts`). */
export interface ChatReport {
  sent: number
  accepted: number
  refused: number
  /** sends that could not go at once (a POST in flight) and waited */
  queued: number
  /** sends that failed otherwise (connection down, queue full) */
  failed: number
  /** the sender's round trip: send to its own message seen */
  senderRtt: Latency
}

/** The counts and the sender round-trip histogram shared by a process's senders and clients. */
export class ChatTally implements ClientChat {
  readonly senderRtt: hdr.Histogram = newHistogram()
  sent = 0
  accepted = 0
  refused = 0
  failed = 0
  queuedBase = 0
  record: ClientChat['record']
  constructor(
    private readonly window: Window,
    record?: ClientChat['record'],
  ) {
    this.record = record
  }
  inWindow(ts: number): boolean {
    return ts >= this.window.startMs && ts < this.window.endMs
  }
  /** a refusal that came back on the client's own connection (WebSocket): it was counted accepted when written */
  onRefused(): void {
    this.refused++
    if (this.accepted > 0) this.accepted--
  }
  report(queued: number): ChatReport {
    return {
      sent: this.sent,
      accepted: this.accepted,
      refused: this.refused,
      queued: queued - this.queuedBase,
      failed: this.failed,
      senderRtt: summarise(this.senderRtt, { withHdr: true }),
    }
  }
  reset(queued: number): void {
    this.sent = 0
    this.accepted = 0
    this.refused = 0
    this.failed = 0
    this.queuedBase = queued
    this.senderRtt.reset()
  }
}

/** One client's sender: its schedule, its message ids, its upstream. */
export class ChatSender {
  private timer: NodeJS.Timeout | undefined
  private nextId = 1
  private stopped = false

  constructor(
    private readonly client: LoadClient,
    /** the client's global index: `from` */
    private readonly from: number,
    private readonly params: Readonly<ScenarioParams>,
    private readonly tally: ChatTally,
    /** the POST sender (upstream `post`), or undefined to send on the client's connection */
    readonly post: PostSender | undefined,
    /** test only: messages this client sends at most (undefined: until stopped) */
    private readonly limit?: number | undefined,
  ) {}

  start(phaseMs: number): void {
    const periodMs = 1000 / this.params.sendHz
    const origin = performance.now() + phaseMs
    let n = 0
    const run = (): void => {
      if (this.stopped) return
      this.sendOne()
      n++
      if (this.limit !== undefined && this.nextId > this.limit) return
      this.timer = setTimeout(run, Math.max(0, origin + n * periodMs - performance.now()))
    }
    this.timer = setTimeout(run, phaseMs)
  }

  private sendOne(): void {
    const ts = nowMs()
    const { client, tally } = this
    const body = chatBody(
      client.stream,
      this.from,
      this.nextId++,
      ts,
      this.params.payloadBytes,
      client.delivery.maxSeq + 1,
    )
    const counted = tally.inWindow(ts)
    if (counted) tally.sent++
    const done = (err?: Error, status?: number): void => {
      if (!counted) return
      if (err === undefined) tally.accepted++
      else if (status !== undefined && status >= 400 && status < 500) tally.refused++
      else tally.failed++
    }
    if (this.post) this.post.send(body, done)
    else if (client.send) client.send(body, done)
    else done(new Error('this client cannot send'))
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.post?.close()
  }
}
