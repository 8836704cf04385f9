/** What every load client shares: its delivery account, the histograms, counters of its own sockets. */
import type { Socket } from 'node:net'
import type * as hdr from 'hdr-histogram-js'
import { recordMsTimes } from '../../lib/latency.ts'
import type { ScenarioParams } from '../../lib/params.ts'
import { Delivery, type Window } from '../delivery.ts'
import type { LinkOptions } from '../lean/connect.ts'
import { type ScannedUpdate, scanFrom, scanUpdate } from '../lean/scan.ts'
import type { PollPhase } from '../poll-phases.ts'

export interface ClientContext {
  /** http://host:port of the server */
  base: URL
  /** the transport's URL path (from the registry) */
  path: string
  /** streams the workload publishes: with more than one, a client names its own with `stream=N` */
  streams: number
  params: Readonly<ScenarioParams>
  window: Window
  latency: hdr.Histogram
  /** short polling: how late each poll left against its schedule (coordinated omission) */
  scheduleLag: hdr.Histogram
  sockets: ClientSockets
  /** the next client's short-poll phase (load/poll-phases.ts) */
  pollPhase: () => PollPhase
  /** lean clients parse every Nth update in full and compare it with what the scan found (1: every one) */
  verifyEvery: number
  /** TLS (`base` is https:): the server's self-signed certificate (PEM), the one the clients trust */
  ca?: string | undefined
  /** the source address of the next client's sockets (load/source-addresses.ts; lean clients), or none */
  nextSourceAddress?: (() => string | undefined) | undefined
  /** the chat workload (load/chat/): where the sender's round trips go; absent for a one-way workload */
  chat?: ClientChat | undefined
}

/** What a chat client needs beside its delivery account. */
export interface ClientChat {
  /** the sender's round trip: latency samples of in-window messages whose `from` is the recipient itself */
  senderRtt: hdr.Histogram
  /** messages the server refused on this client's own connection (a WebSocket `{"type":"refused"}`) */
  onRefused(): void
  /**
   * test only (chat equivalence): every message received, duplicates included, as (recipient index,
   * stream, from, id); absent in a measured run, so the hot path pays one property read
   */
  record?: ((index: number, stream: number, from: number, id: number) => void) | undefined
}

export interface ClientCounters {
  requests: number
  errors: number
  reconnects: number
  /** updates parsed in full and compared with the scan (lean clients) */
  verified: number
  /** updates whose bytes did not hold what an update must (also counted in errors) */
  corrupt: number
  lastError?: string
}

/** One simulated client on its own connection. */
export interface LoadClient {
  /** the stream it receives, and its account of that stream */
  readonly stream: number
  readonly delivery: Delivery
  readonly counters: ClientCounters
  /**
   * The server counts this client as a subscriber: a push client once its stream is open (start() has
   * resolved), a poll client once its first request was answered.
   */
  readonly subscribed: boolean
  /** Resolves when the client's connection is up (ramping waits on it); rejects if it cannot connect. */
  start(): Promise<void>
  /** Stops for good: no reconnect, connections closed. */
  stop(): void
  /**
   * Chat: sends one message (the JSON body, lib/workloads.ts `chat`) on this client's own connection;
   * `done(err)` once the server took it (an HTTP answer, a Socket.IO acknowledgement) or, where the
   * transport answers nothing (a WebSocket text message), once it is written. Only transports whose
   * registry entry says `upstream: 'connection'` have it; the others send through load/chat/.
   */
  send?(body: Buffer, done: (err?: Error) => void): void
}

/**
 * A transport's client, as the registry names it (lib/transports.ts): one per simulated client, on
 * `stream`; `index` is its global index among the run's clients (a generator's slice keeps it global),
 * the chat's `from`. Clients written before chat may leave it out.
 */
export type ClientClass = new (ctx: ClientContext, stream: number, index?: number) => LoadClient

export abstract class BaseClient implements LoadClient {
  readonly delivery: Delivery
  readonly counters: ClientCounters = { requests: 0, errors: 0, reconnects: 0, verified: 0, corrupt: 0 }
  protected stopped = false
  /** lean path: where the scan of one update puts seq and ts (reused: nothing allocated per update) */
  private readonly scanned: ScannedUpdate = { seq: 0, ts: 0 }
  /** lean path: updates until the next full parse */
  private untilVerify: number
  /** `stream=N` when the workload has several streams, else empty (the ticker's requests carry none) */
  private readonly streamQuery: string
  /** every socket of this client binds this source address (lean clients) */
  private readonly localAddress: string | undefined
  constructor(
    protected readonly ctx: ClientContext,
    readonly stream: number,
    /** global index of this client in the run (the chat's `from`); -1 when not given */
    readonly index = -1,
  ) {
    this.localAddress = ctx.nextSourceAddress?.()
    this.delivery = new Delivery(stream, ctx.window, ctx.latency)
    // stagger the sample across clients, so that 1,000 clients do not all parse the same update
    this.untilVerify = 1 + ((stream * 7919 + Math.floor(Math.random() * ctx.verifyEvery)) % ctx.verifyEvery)
    this.streamQuery = ctx.streams > 1 ? `stream=${stream}` : ''
  }

  get subscribed(): boolean {
    return true
  }

  /** The transport's path with this client's stream and `query` (`since=N`, or empty). */
  /** How a lean client's connection reaches the server: the emulated RTT, TLS (load/lean/connect.ts). */
  protected link(sharedReads = true): LinkOptions {
    return { rttMs: this.ctx.params.rttMs, ca: this.ctx.ca, sharedReads, localAddress: this.localAddress }
  }

  protected target(query = ''): string {
    const q = this.streamQuery && query ? `${this.streamQuery}&${query}` : this.streamQuery || query
    return q ? `${this.ctx.path}?${q}` : this.ctx.path
  }
  abstract start(): Promise<void>
  abstract stop(): void

  protected error(err: unknown): void {
    if (this.stopped) return
    this.counters.errors++
    this.counters.lastError = (err as Error)?.message ?? String(err)
  }

  /** Library path: parses one update's JSON and accounts it; the receive instant is taken by the caller. */
  protected onJson(text: string, receivedMs: number): void {
    const u = JSON.parse(text) as ParsedMessage
    if (u.type === 'refused') this.onRefusedJson(u)
    else this.onParsed(u, receivedMs)
  }

  /** Library path: one parsed update (or chat message) accounted; a chat's sender round trip sampled. */
  protected onParsed(u: ParsedMessage, receivedMs: number): boolean {
    const counted = this.delivery.onUpdate(u.seq, u.ts, receivedMs)
    const chat = this.ctx.chat
    if (chat !== undefined) {
      const from = typeof u.from === 'number' ? u.from : -1
      chat.record?.(this.index, this.stream, from, typeof u.id === 'number' ? u.id : -1)
      if (counted && from === this.index) recordMsTimes(chat.senderRtt, receivedMs - u.ts, 1)
    }
    return counted
  }

  /** A chat message the server refused on this client's connection (`{"type":"refused",...}`). */
  protected onRefusedJson(u: { field?: unknown; message?: unknown }): void {
    this.ctx.chat?.onRefused()
    this.error(new Error(`chat message refused: ${String(u.message ?? u.field)}`))
  }

  /**
   * Lean path: one update's JSON is `buf[start, end)` (valid during the call only). `seq` and `ts` are
   * scanned from the bytes; every `verifyEvery`th update is parsed in full and checked against the scan
   * and the payload size, so corrupt bytes cannot pass unseen.
   */
  protected onUpdateBytes(buf: Buffer, start: number, end: number, receivedMs: number): void {
    const u = this.scanned
    if (!scanUpdate(buf, start, end, u)) {
      this.corrupt(
        `no seq and ts in ${JSON.stringify(buf.toString('latin1', start, Math.min(end, start + 80)))}`,
      )
      return
    }
    this.onScanned(u.seq, u.ts, buf, start, end, receivedMs)
  }

  /** Lean path, once seq and ts are scanned (a poll answer's batch scan gives them): sample, account. */
  protected onScanned(
    seq: number,
    ts: number,
    buf: Buffer,
    start: number,
    end: number,
    receivedMs: number,
  ): boolean {
    if (--this.untilVerify === 0) {
      this.untilVerify = this.ctx.verifyEvery
      if (!this.verify(seq, ts, buf, start, end)) return false
    }
    const counted = this.delivery.onUpdate(seq, ts, receivedMs)
    const chat = this.ctx.chat
    if (chat !== undefined) {
      // the chat: `from` right after the seq and room, scanned only for this workload
      const from = scanFrom(buf, start, end)
      if (chat.record !== undefined) {
        const j = JSON.parse(buf.toString('latin1', start, end)) as { id: number }
        chat.record(this.index, this.stream, from, j.id)
      }
      if (counted && from === this.index) recordMsTimes(chat.senderRtt, receivedMs - ts, 1)
    }
    return true
  }

  private verify(seq: number, ts: number, buf: Buffer, start: number, end: number): boolean {
    const text = buf.toString('latin1', start, end)
    let j: {
      seq?: unknown
      ts?: unknown
      sym?: unknown
      px?: unknown
      pad?: unknown
      room?: unknown
      from?: unknown
      id?: unknown
    }
    try {
      j = JSON.parse(text)
    } catch {
      this.corrupt(`not JSON: ${JSON.stringify(text.slice(0, 80))}`)
      return false
    }
    const size = end - start
    const P = this.ctx.params.payloadBytes
    const ok =
      j.seq === seq &&
      j.ts === ts &&
      typeof j.pad === 'string' &&
      (this.ctx.chat === undefined
        ? typeof j.sym === 'string' && typeof j.px === 'number' && size === P
        : // a chat message: its room (this client's stream) and sender; sized to P within a byte
          // (load/chat/message.ts: exact unless the room's seq gained a digit since the send), or
          // larger with an empty pad when the fixed fields do not fit in P. Up to 4 bytes shorter too: a
          // server that parses the message and serialises it again (Socket.IO's `send` event) drops the
          // trailing zeros of `ts` (`...639.400` comes back as `...639.4`, and `...639.000`, one send in a
          // thousand, as `...639`: a fresh-clone CI met one)
          j.room === this.stream &&
          typeof j.from === 'number' &&
          typeof j.id === 'number' &&
          ((size >= P - 4 && size <= P + 1) || (j.pad === '' && size > P)))
    if (!ok) {
      this.corrupt(`update ${JSON.stringify(text.slice(0, 80))} is not what the scan found (seq ${seq})`)
      return false
    }
    this.counters.verified++
    return true
  }

  /**
   * A push transport's gap message, `{"type":"gap","from":N,"first":M}` (servers/frames.ts gapJson):
   * accounted as lost seqs, never as an update. A malformed one is an error, not a crash.
   */
  protected onGapJson(text: string): void {
    let g: { type?: unknown; from?: unknown; first?: unknown } | undefined
    try {
      g = JSON.parse(text)
    } catch {}
    const { from, first } = g ?? {}
    if (
      g?.type !== 'gap' ||
      typeof from !== 'number' ||
      typeof first !== 'number' ||
      !Number.isSafeInteger(from) ||
      !Number.isSafeInteger(first) ||
      from < 0 ||
      first <= from
    ) {
      this.error(new Error(`malformed gap message: ${JSON.stringify(text.slice(0, 80))}`))
      return
    }
    this.delivery.onGap(from, first)
  }

  protected corrupt(what: string): void {
    this.counters.corrupt++
    this.error(new Error(`corrupt update: ${what}`))
  }
}

/** What a library client parses: an update, a chat message (room, from, id) or a typed message. */
export interface ParsedMessage {
  seq: number
  ts: number
  type?: string
  from?: unknown
  id?: unknown
  field?: unknown
  message?: unknown
}

const GAP_PREFIX = Buffer.from('{"type":"gap"', 'latin1')
const REFUSED_PREFIX = Buffer.from('{"type":"refused"', 'latin1')

/** Whether `buf[start, end)` is the WebSocket server's refusal of a chat message (servers/websocket.ts). */
export function isRefusedMessage(buf: Buffer, start: number, end: number): boolean {
  if (end - start < REFUSED_PREFIX.length || buf[start + 2] !== 0x74) return false
  return buf.compare(REFUSED_PREFIX, 0, REFUSED_PREFIX.length, start, start + REFUSED_PREFIX.length) === 0
}

/**
 * Whether `buf[start, end)` is a gap message rather than an update: an update starts `{"seq":`, a gap
 * `{"type":"gap"` (servers/frames.ts); the third byte tells them apart, the rest confirms.
 */
export function isGapMessage(buf: Buffer, start: number, end: number): boolean {
  if (end - start < GAP_PREFIX.length || buf[start + 2] !== 0x74) return false
  return buf.compare(GAP_PREFIX, 0, GAP_PREFIX.length, start, start + GAP_PREFIX.length) === 0
}

/** A socket, or the delay line in front of one (load/lean/delay-line.ts): what the tally reads. */
export type TalliedSocket = Pick<Socket, 'bytesRead' | 'bytesWritten'> & {
  once(event: 'close', listener: () => void): unknown
}

/** Sums bytes over the generator's own sockets, live and closed: the client-side tally of the wire. */
export class ClientSockets {
  private readonly live = new Set<TalliedSocket>()
  private closedRead = 0
  private closedWritten = 0

  track(socket: TalliedSocket): void {
    if (this.live.has(socket)) return
    this.live.add(socket)
    socket.once('close', () => {
      this.closedRead += socket.bytesRead
      this.closedWritten += socket.bytesWritten
      this.live.delete(socket)
    })
  }

  bytes(): { read: number; written: number } {
    let read = this.closedRead
    let written = this.closedWritten
    for (const s of this.live) {
      read += s.bytesRead
      written += s.bytesWritten
    }
    return { read, written }
  }
}

/** Backoff before a reconnect, so a dead server does not get a busy loop. */
export const RECONNECT_DELAY_MS = 100
