/**
 * The ticker workload's server side: S symbols whose prices move by a seeded random walk, published
 * `updatesPerTick` at a time, `tickHz` times a second, on one stream. Each update is serialised once, on publish.
 */
import { nowMs, perfNowAt } from '../lib/clock.ts'
import { PbOptionError } from '../lib/errors.ts'
import { checkNumber, PARAM_RANGES } from '../lib/params.ts'
import { mulberry32 } from '../lib/random.ts'
import type { Message, PublishListener, Source } from './feed.ts'
import { encodeUpdate, MAX_PX, MIN_PX } from './update.ts'

export interface TickerOptions {
  seed: number
  symbols: number
  tickHz: number
  updatesPerTick: number
  payloadBytes: number
  /** updates kept for resume; 0 picks a default from the payload size */
  ringSize: number
  /**
   * a shared origin of the tick clock, epoch ms (0: none, ticks count from start()): tick k is due at
   * epochMs + k / tickHz, and start() first regenerates every tick due since the epoch without publishing
   * them (the random walk is seeded, so they are the updates an earlier server on the same epoch published),
   * keeping the newest in the ring. A server restarted on the same epoch thus continues the sequence, and a
   * client resumes across the restart (the fault scenarios, load/fault-run.ts). Holds until setRate.
   */
  epochMs?: number | undefined
}

/** One published update, on the ticker's one stream; the transports memoise their own framing of it. */
export class Update implements Message {
  readonly stream = 0
  framed: Buffer | undefined = undefined
  constructor(
    readonly seq: number,
    readonly ts: number,
    readonly json: Buffer,
  ) {}
}

const KNOWN =
  'AAPL MSFT AMZN NVDA GOOG META TSLA AVGO ORCL ADBE AMD INTC CSCO QCOM TXN IBM NFLX PEP KO COST WMT JPM BAC V MA'
/** Symbol names: well-known ones first, then AAAA, AAAB, ... (never more than 4 letters). */
export function symbolNames(n: number): string[] {
  const names = KNOWN.split(' ').slice(0, n)
  for (let i = 0; names.length < n; i++) {
    let s = ''
    for (let k = 0, x = i; k < 4; k++, x = Math.floor(x / 26)) s = String.fromCharCode(65 + (x % 26)) + s
    if (!names.includes(s)) names.push(s)
  }
  return names
}

const DEFAULT_RING_BYTES = 64 * 1024 * 1024

export function defaultRingSize(payloadBytes: number): number {
  return Math.max(1024, Math.min(65_536, Math.floor(DEFAULT_RING_BYTES / payloadBytes)))
}

/** The ticker's one stream. */
const STREAM = 0

export class Ticker implements Source {
  readonly streams = 1
  readonly options: Readonly<TickerOptions>
  /** seq of the newest update; 0 before the first publish */
  lastSeq = 0
  ticks = 0
  private readonly ring: (Update | undefined)[]
  private readonly names: string[]
  private readonly prices: Float64Array
  private readonly rand: () => number
  private readonly pad: string
  private readonly listeners = new Set<PublishListener>()
  private readonly beforeListeners = new Set<(ts: number) => void>()
  private timer: NodeJS.Timeout | undefined
  private tickHz: number
  private updatesPerTick: number
  /** the tick clock's origin, epoch ms, while the rate is the start rate (see TickerOptions.epochMs) */
  private epochMs: number | undefined
  /** (publish ts, updates) per tick, to count what a time window published */
  private tickLog: number[] = []

  /**
   * `silent`: ticks on time (window edges fall on tick boundaries as always) but publishes nothing: the
   * `idle` workload, whose clients hold their connections and get only heartbeats, pings and empty polls
   */
  constructor(
    options: TickerOptions,
    private readonly silent = false,
  ) {
    checkNumber('tickHz', options.tickHz, PARAM_RANGES.tickHz)
    checkNumber('updatesPerTick', options.updatesPerTick, PARAM_RANGES.updatesPerTick)
    checkNumber('symbols', options.symbols, PARAM_RANGES.symbols)
    checkNumber('seed', options.seed, PARAM_RANGES.seed)
    checkNumber('payloadBytes', options.payloadBytes, PARAM_RANGES.payloadBytes)
    if (!Number.isInteger(options.ringSize) || options.ringSize < 0) {
      throw new PbOptionError('ringSize', `must be a non-negative integer, got ${options.ringSize}`)
    }
    const ringSize = options.ringSize || defaultRingSize(options.payloadBytes)
    if (options.epochMs !== undefined && !(Number.isFinite(options.epochMs) && options.epochMs >= 0)) {
      throw new PbOptionError('epochMs', `must be an epoch instant in ms (0: none), got ${options.epochMs}`)
    }
    this.options = Object.freeze({ ...options, ringSize })
    this.epochMs = options.epochMs || undefined
    this.ring = new Array(ringSize)
    this.tickHz = options.tickHz
    this.updatesPerTick = options.updatesPerTick
    this.rand = mulberry32(options.seed)
    this.names = symbolNames(options.symbols)
    this.prices = new Float64Array(options.symbols)
    for (let i = 0; i < options.symbols; i++)
      this.prices[i] = Math.round((20 + this.rand() * 480) * 100) / 100
    this.pad = 'x'.repeat(options.payloadBytes)
  }

  /** Calls `fn` after every tick with that tick's updates (in seq order). Returns the unsubscribe. */
  onPublish(fn: PublishListener): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  lastSeqOf(_stream: number): number {
    return this.lastSeq
  }

  /** Calls `fn(ts)` at the start of every tick, before its updates exist or are written. */
  onBeforeTick(fn: (ts: number) => void): () => void {
    this.beforeListeners.add(fn)
    return () => this.beforeListeners.delete(fn)
  }

  get rate(): { tickHz: number; updatesPerTick: number } {
    return { tickHz: this.tickHz, updatesPerTick: this.updatesPerTick }
  }

  /** Changes the rate from the next tick on (capacity search steps the offered load this way). */
  setRate(tickHz: number, updatesPerTick: number): void {
    this.tickHz = checkNumber('tickHz', tickHz, PARAM_RANGES.tickHz)
    this.updatesPerTick = checkNumber('updatesPerTick', updatesPerTick, PARAM_RANGES.updatesPerTick)
    // another rate: the ticks no longer fall where the epoch put them
    this.epochMs = undefined
    if (this.timer) {
      this.stop()
      this.start()
    }
  }

  /** Publishes one tick now; the timer calls it, tests call it directly for a deterministic sequence. */
  publishTick(ts = nowMs()): Update[] {
    for (const fn of this.beforeListeners) fn(ts)
    const out = this.makeTick(ts, true)
    if (out.length > 0) for (const fn of this.listeners) fn(STREAM, out)
    return out
  }

  /** One tick's updates into the ring (and the random walk one tick on); `keep`: also return them. */
  private makeTick(ts: number, keep: boolean): Update[] {
    const n = this.silent ? 0 : this.updatesPerTick
    const out: Update[] = new Array(keep ? n : 0)
    const size = this.ring.length
    for (let i = 0; i < n; i++) {
      const s = Math.floor(this.rand() * this.names.length)
      const step = (this.rand() - 0.5) * 0.002
      let px = (this.prices[s] as number) * (1 + step)
      px = Math.min(MAX_PX, Math.max(MIN_PX, Math.round(px * 100) / 100))
      this.prices[s] = px
      const seq = ++this.lastSeq
      const u = new Update(
        seq,
        ts,
        encodeUpdate(seq, this.names[s] as string, px, ts, this.options.payloadBytes, this.pad),
      )
      this.ring[seq % size] = u
      if (keep) out[i] = u
    }
    this.ticks++
    this.tickLog.push(ts, n)
    if (this.tickLog.length > 4_000_000) this.tickLog = this.tickLog.slice(-2_000_000)
    return out
  }

  /**
   * With an epoch: regenerates, unpublished, every tick due by `atMs` (tick k at epochMs + k / tickHz) that
   * this ticker has not made yet; their updates are encoded into the ring as they come (a few minutes at
   * 100 updates/s is some 30,000: milliseconds). Returns the ticks made.
   */
  catchUp(atMs = nowMs()): number {
    const epoch = this.epochMs
    if (epoch === undefined || atMs < epoch) return 0
    const periodMs = 1000 / this.tickHz
    // tick 0 is due at the epoch itself
    const due = Math.floor((atMs - epoch) / periodMs) + 1
    let made = 0
    while (this.ticks < due) {
      this.makeTick(epoch + this.ticks * periodMs, false)
      made++
    }
    return made
  }

  /** Every update newer than `seq` still in the ring, oldest first: O(1) to find, O(k) to copy. */
  since(_stream: number, seq: number): Update[] {
    const size = this.ring.length
    const from = Math.max(seq + 1, this.lastSeq - size + 1, 1)
    if (from > this.lastSeq) return []
    const out: Update[] = new Array(this.lastSeq - from + 1)
    for (let s = from, i = 0; s <= this.lastSeq; s++, i++) out[i] = this.ring[s % size] as Update
    return out
  }

  /** Oldest seq still held (resume from anything >= oldestSeq - 1 has no gap). */
  get oldestSeq(): number {
    return Math.max(1, this.lastSeq - this.ring.length + 1)
  }

  /** Updates whose publish instant is in [fromMs, toMs), per stream (the ticker has one). */
  publishedBetween(fromMs: number, toMs: number): number[] {
    let n = 0
    const log = this.tickLog
    for (let i = 0; i < log.length; i += 2) {
      const ts = log[i] as number
      if (ts >= fromMs && ts < toMs) n += log[i + 1] as number
    }
    return [n]
  }

  /** Starts the tick timer; ticks are scheduled from a fixed origin so they do not drift. */
  start(): void {
    if (this.timer) return
    const periodMs = 1000 / this.tickHz
    let origin = performance.now()
    let n = 0
    if (this.epochMs !== undefined) {
      // the ticks due so far are made now, unpublished; the next one is due on the epoch's grid
      this.catchUp()
      origin = perfNowAt(this.epochMs)
      n = this.ticks - 1
    }
    const next = (): void => {
      n++
      const delay = Math.max(0, origin + n * periodMs - performance.now())
      this.timer = setTimeout(run, delay)
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
