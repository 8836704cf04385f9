/**
 * The chat workload's server side (lib/workloads.ts `chat`): R rooms, one stream each. Nothing is made up
 * on the server: a message is what a client sent (POST /send, a WebSocket text message, ...), checked once
 * by `accept()`, numbered with its room's next seq and published at once to the room's listeners (no
 * waiting for a tick). The published bytes are built once: `{"seq":S,` followed by the client's body after
 * its `{`, so every transport frames the same bytes and the lean clients' seq/ts scan works unchanged.
 *
 * The tick clock still runs at `tickHz` (window edges and counter snapshots fall on tick boundaries,
 * servers/tick-aligned.ts) but a tick publishes nothing. `ts` of a message is the client's send instant on
 * the suite's clock (lib/clock.ts, same host): latency = receive instant - ts = send to receive, and
 * `publishedBetween` counts messages per room by that `ts`.
 *
 * Ring: each room keeps its newest messages for resume. The ring size option is per room when set; when 0
 * the ticker's default (64 MiB of payload, 1,024..65,536 messages) is split over the rooms, at least 256 each.
 */
import { nowMs } from '../lib/clock.ts'
import { PbOptionError } from '../lib/errors.ts'
import { checkNumber, PARAM_RANGES } from '../lib/params.ts'
import type { ChatAccepted, ChatInbox } from './chat-inbox.ts'
import type { Message, PublishListener, Source } from './feed.ts'
import type { ServerOptions } from './options.ts'
import { defaultRingSize } from './ticker.ts'

export interface ChatRoomsOptions {
  rooms: number
  tickHz: number
  payloadBytes: number
  /** messages kept per room for resume; 0: the ticker's default split over the rooms */
  ringSize: number
}

export class ChatMessage implements Message {
  framed: Buffer | undefined = undefined
  constructor(
    readonly stream: number,
    readonly seq: number,
    readonly ts: number,
    readonly json: Buffer,
  ) {}
}

/** The keys a sent message may have: a flat object, so that what is published stays a flat object. */
const KEYS = new Set(['room', 'from', 'id', 'ts', 'pad'])
/** Largest `from` and `id`: integers, well inside a double (clients are at most 100,000). */
const MAX_INDEX = 2 ** 32

/** The largest body POST /send or a WebSocket message may carry: the payload twice over, 4 KiB at least. */
export function maxChatBodyBytes(payloadBytes: number): number {
  return Math.max(4096, 2 * payloadBytes + 1024)
}

export function chatRingSize(o: Pick<ChatRoomsOptions, 'ringSize' | 'payloadBytes' | 'rooms'>): number {
  return o.ringSize || Math.max(256, Math.floor(defaultRingSize(o.payloadBytes) / o.rooms))
}

const SEQ_PREFIX = Buffer.from('{"seq":', 'latin1')

export class ChatRooms implements Source, ChatInbox {
  readonly streams: number
  readonly ringSize: number
  private readonly last: number[]
  private readonly rings: (ChatMessage | undefined)[][]
  private readonly listeners = new Set<PublishListener>()
  private readonly beforeListeners = new Set<(ts: number) => void>()
  private timer: NodeJS.Timeout | undefined
  private tickHz: number
  /** (ts, room) per accepted message, to count what a window published */
  private log: number[] = []
  /** messages accepted / refused since start (the server's own tally) */
  accepted = 0
  refused = 0

  constructor(options: ChatRoomsOptions) {
    this.streams = checkNumber('rooms', options.rooms, PARAM_RANGES.rooms)
    this.tickHz = checkNumber('tickHz', options.tickHz, PARAM_RANGES.tickHz)
    checkNumber('payloadBytes', options.payloadBytes, PARAM_RANGES.payloadBytes)
    this.ringSize = chatRingSize(options)
    this.last = new Array<number>(this.streams).fill(0)
    this.rings = Array.from({ length: this.streams }, () => new Array<ChatMessage | undefined>(this.ringSize))
  }

  static fromServerOptions(o: Readonly<ServerOptions>): ChatRooms {
    return new ChatRooms({
      rooms: o.rooms,
      tickHz: o.tickHz,
      payloadBytes: o.payloadBytes,
      ringSize: o.ringSize,
    })
  }

  /**
   * Checks one sent message, numbers it in its room and publishes it to the room at once. Throws
   * PbOptionError naming the bad field: `body` (not a flat JSON object of room, from, id, ts and an
   * optional string pad), `room` (not an integer room of this server), `from`, `id` (not non-negative
   * integers), `ts` (not a positive finite number), `pad` (not a string).
   */
  accept(body: Buffer): ChatAccepted {
    try {
      return this.publish(body)
    } catch (err) {
      this.refused++
      throw err
    }
  }

  private publish(body: Buffer): ChatAccepted {
    let m: unknown
    if (body.length > 0 && body[0] === 0x7b) {
      try {
        m = JSON.parse(body.toString('utf8'))
      } catch {}
    }
    if (typeof m !== 'object' || m === null || Array.isArray(m))
      throw new PbOptionError(
        'body',
        'must be a JSON object {"room":R,"from":C,"id":N,"ts":T,"pad":"..."} starting with {',
      )
    const o = m as Record<string, unknown>
    for (const k of Object.keys(o))
      if (!KEYS.has(k))
        throw new PbOptionError(
          'body',
          `has ${JSON.stringify(k)}; a message has room, from, id, ts and pad only`,
        )
    const room = o.room
    if (typeof room !== 'number' || !Number.isInteger(room) || room < 0 || room >= this.streams)
      throw new PbOptionError(
        'room',
        `must be an integer from 0 to ${this.streams - 1}, got ${JSON.stringify(room ?? null)}`,
      )
    for (const k of ['from', 'id'] as const) {
      const n = o[k]
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_INDEX)
        throw new PbOptionError(
          k,
          `must be an integer from 0 to ${MAX_INDEX}, got ${JSON.stringify(n ?? null)}`,
        )
    }
    const ts = o.ts
    if (typeof ts !== 'number' || !Number.isFinite(ts) || ts <= 0)
      throw new PbOptionError('ts', `must be the send instant, epoch ms, got ${JSON.stringify(ts ?? null)}`)
    if (o.pad !== undefined && typeof o.pad !== 'string') throw new PbOptionError('pad', 'must be a string')
    const seq = (this.last[room] as number) + 1
    this.last[room] = seq
    const head = Buffer.from(`${seq},`, 'latin1')
    // `{"seq":S,` + the body after its `{`: one copy, shared by every member of the room
    const json = Buffer.allocUnsafe(SEQ_PREFIX.length + head.length + body.length - 1)
    SEQ_PREFIX.copy(json, 0)
    head.copy(json, SEQ_PREFIX.length)
    body.copy(json, SEQ_PREFIX.length + head.length, 1)
    const msg = new ChatMessage(room, seq, ts, json)
    ;(this.rings[room] as (ChatMessage | undefined)[])[seq % this.ringSize] = msg
    this.log.push(ts, room)
    if (this.log.length > 4_000_000) this.log = this.log.slice(-2_000_000)
    this.accepted++
    const one = [msg]
    for (const fn of this.listeners) fn(room, one)
    return { stream: room, seq }
  }

  onPublish(fn: PublishListener): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  lastSeqOf(stream: number): number {
    return this.last[stream] ?? 0
  }

  since(stream: number, seq: number): ChatMessage[] {
    const last = this.last[stream] ?? 0
    const ring = this.rings[stream]
    if (ring === undefined) return []
    const from = Math.max(seq + 1, last - this.ringSize + 1, 1)
    const out: ChatMessage[] = []
    for (let s = from; s <= last; s++) out.push(ring[s % this.ringSize] as ChatMessage)
    return out
  }

  get rate(): { tickHz: number; updatesPerTick: number } {
    return { tickHz: this.tickHz, updatesPerTick: 1 }
  }

  /** The tick clock's rate (a chat's messages come from its clients, not from the rate). */
  setRate(tickHz: number, _updatesPerTick: number): void {
    this.tickHz = checkNumber('tickHz', tickHz, PARAM_RANGES.tickHz)
    if (this.timer) {
      this.stop()
      this.start()
    }
  }

  onBeforeTick(fn: (ts: number) => void): () => void {
    this.beforeListeners.add(fn)
    return () => this.beforeListeners.delete(fn)
  }

  /** Messages per room whose send instant `ts` is in [fromMs, toMs). */
  publishedBetween(fromMs: number, toMs: number): number[] {
    const out = new Array<number>(this.streams).fill(0)
    const log = this.log
    for (let i = 0; i < log.length; i += 2) {
      const ts = log[i] as number
      const room = log[i + 1] as number
      if (ts >= fromMs && ts < toMs) out[room] = (out[room] as number) + 1
    }
    return out
  }

  /** A tick: its before-listeners run (window edges), nothing is published. */
  publishTick(ts = nowMs()): readonly Message[] {
    for (const fn of this.beforeListeners) fn(ts)
    return []
  }

  start(): void {
    if (this.timer) return
    const periodMs = 1000 / this.tickHz
    const origin = performance.now()
    let n = 0
    const next = (): void => {
      n++
      this.timer = setTimeout(run, Math.max(0, origin + n * periodMs - performance.now()))
    }
    const run = (): void => {
      this.publishTick()
      next()
    }
    next()
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }
}

export const isChatInbox = (s: object): s is ChatInbox =>
  typeof (s as Partial<ChatInbox>).accept === 'function'
