/**
 * The fault probe (issue 17, "Fault scenarios"): N reconnecting clients of one transport
 * (load/fault-clients.ts) against a running server, and on request a number of slow consumers
 * (load/slow-consumer.ts). The runner (load/fault-run.ts) breaks something (restarts the server, cuts every
 * connection, adds the slow consumers, kills a process) and asks the probe how many clients are back; at the
 * end the probe accounts, per client, every seq it was handed against what was published (missed and
 * duplicated are exact), the time from the fault to each client being back, and the clients' latency in the
 * windows the runner names.
 *
 * It runs as its own process (load/fault-process.ts), spoken to over IPC with id'd requests (FaultRequest).
 */
import { type ClientRecord, type FaultClient, faultClient } from './fault-clients.ts'
import { SlowConsumer } from './slow-consumer.ts'

/** The transports the probe speaks (the suite's four). */
export const FAULT_TRANSPORTS = ['short-poll', 'long-poll', 'sse', 'websocket'] as const

export interface ProbeStart {
  transport: string
  /** http://host:port */
  base: string
  path: string
  clients: number
  pollIntervalMs: number
}

/** A time window the runner wants the clients' latency of: updates published in [fromMs, toMs). */
export interface LatencyWindow {
  name: string
  fromMs: number
  toMs: number
}

export interface ProbeFinish {
  /** the newest seq published that every client should have had: the account ends there */
  lastSeq: number
  /** the fault's instant, epoch ms: back and noticed times are taken from it */
  faultAtMs?: number | undefined
  /**
   * a client is back at its first up from this instant on (default: the fault's): a restart's new server's
   * ready instant, so that the old server's last answers (a long poll's 204 on shutdown) are not taken for it
   */
  upFromMs?: number | undefined
  windows?: LatencyWindow[] | undefined
}

export type FaultRequest = { id: number } & (
  | ({ type: 'start' } & ProbeStart)
  | { type: 'add-slow'; count: number; readBytesPerSecond: number[] }
  | { type: 'status'; sinceMs?: number | undefined }
  | ({ type: 'finish' } & ProbeFinish)
)

export type FaultReply = { id: number } & (
  | { type: 'started'; started: number; failed: number }
  | { type: 'added'; connected: number }
  | ({ type: 'status' } & ProbeStatus)
  | ({ type: 'result' } & ProbeResult)
  | { type: 'error'; message: string }
)

export interface ProbeStatus {
  /** clients whose connection is up now */
  up: number
  /** clients with an up at or after `sinceMs` */
  backSince: number
  /** connection attempts that failed so far, over every client */
  connectErrors: number
  /** slow consumers whose connection has closed */
  slowClosed: number
}

/** ms over clients (or updates): nearest-rank percentiles, 3 decimals. */
export interface Percentiles {
  count: number
  p50: number
  p99: number
  max: number
}

export interface ProbeResult {
  clients: number
  /** clients that were handed at least one update */
  subscribed: number
  /** updates the clients should have been handed, summed over clients: (startSeq, lastSeq] each */
  expected: number
  /** distinct updates of those handed */
  delivered: number
  /** expected and never handed */
  missed: number
  /** handed more than once (each extra copy counts one) */
  duplicated: number
  /** the server's gap signals, the seqs of the clients' windows they declared lost, and refused resumes */
  gapSignals: number
  gapSeqs: number
  resumeRefused: number
  /** messages that were neither updates nor a gap signal */
  other: number
  /** clients with an up after the fault, and the time from the fault to it */
  back: number
  backMs: Percentiles
  /** from the fault to each client noticing its connection was gone (clients that noticed) */
  noticedMs: Percentiles
  /** failed connection attempts over every client, whole run; and those after the fault */
  connectErrors: number
  connectErrorsAfterFault: number
  /** the first error messages the clients saw (a few) */
  errors: string[]
  latency: ({ name: string } & Percentiles)[]
  slow: { clients: number; closed: number; bytesRead: number }
}

/** Nearest-rank percentiles of `values` (sorted in place). */
export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { count: 0, p50: 0, p99: 0, max: 0 }
  values.sort((a, b) => a - b)
  const at = (p: number): number => {
    const i = Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1))
    return Math.round((values[i] as number) * 1000) / 1000
  }
  return { count: values.length, p50: at(50), p99: at(99), max: at(100) }
}

/**
 * The account of one client against the newest seq it should have had. `gapSeqs` counts the seqs of its
 * window the server declared lost, clipped to the window: a client's last poll may declare a range that
 * runs past `lastSeq`.
 */
export function accountOf(
  r: ClientRecord,
  lastSeq: number,
): { expected: number; delivered: number; missed: number; duplicated: number; gapSeqs: number } {
  const seen = new Set<number>()
  let duplicated = 0
  for (const s of r.seqs) {
    if (seen.has(s)) duplicated++
    else seen.add(s)
  }
  if (r.startSeq === undefined) return { expected: 0, delivered: 0, missed: 0, duplicated, gapSeqs: 0 }
  const start = r.startSeq
  const expected = Math.max(0, lastSeq - start)
  let delivered = 0
  for (const s of seen) if (s > start && s <= lastSeq) delivered++
  const declared = new Set<number>()
  for (const [from, first] of r.gaps) {
    for (let s = Math.max(from, start) + 1; s < first && s <= lastSeq; s++) declared.add(s)
  }
  return { expected, delivered, missed: expected - delivered, duplicated, gapSeqs: declared.size }
}

/** Connects this many at once while starting. */
const START_BATCH = 50
/** A client that has not come up in this long is left to its retries (counted as failed to start). */
const START_TIMEOUT_MS = 10_000
const MAX_ERRORS = 10

export class FaultProbe {
  private clients: FaultClient[] = []
  private readonly slow: SlowConsumer[] = []
  private spec: ProbeStart | undefined

  async start(spec: ProbeStart): Promise<{ started: number; failed: number }> {
    this.spec = spec
    const base = new URL(spec.base)
    let started = 0
    let failed = 0
    for (let i = 0; i < spec.clients; i += START_BATCH) {
      const batch = Array.from({ length: Math.min(START_BATCH, spec.clients - i) }, () =>
        faultClient({
          transport: spec.transport,
          base,
          path: spec.path,
          pollIntervalMs: spec.pollIntervalMs,
        }),
      )
      this.clients.push(...batch)
      const results = await Promise.allSettled(batch.map((c) => withTimeout(c.start(), START_TIMEOUT_MS)))
      for (const r of results) r.status === 'fulfilled' ? started++ : failed++
    }
    return { started, failed }
  }

  /** Adds slow consumers, reading at these rates in turn (0: never reads); resolves once they connected. */
  async addSlow(count: number, readBytesPerSecond: number[]): Promise<number> {
    const spec = this.spec
    if (!spec) throw new Error('add-slow before start')
    const base = new URL(spec.base)
    const added = Array.from(
      { length: count },
      (_, i) =>
        new SlowConsumer(
          spec.transport,
          base,
          spec.path,
          readBytesPerSecond[i % Math.max(1, readBytesPerSecond.length)] ?? 0,
        ),
    )
    this.slow.push(...added)
    const r = await Promise.allSettled(added.map((s) => s.start()))
    return r.filter((x) => x.status === 'fulfilled').length
  }

  status(sinceMs?: number): ProbeStatus {
    let up = 0
    let backSince = 0
    let connectErrors = 0
    for (const c of this.clients) {
      if (c.up) up++
      const ups = c.record.ups
      if (sinceMs !== undefined && ups.length > 0 && (ups[ups.length - 1] as number) >= sinceMs) backSince++
      connectErrors += c.record.failed.length
    }
    return { up, backSince, connectErrors, slowClosed: this.slow.filter((s) => s.cut).length }
  }

  /** Stops every client and accounts what they were handed. */
  finish(f: ProbeFinish): ProbeResult {
    for (const c of this.clients) c.stop()
    for (const s of this.slow) s.stop()
    let expected = 0
    let delivered = 0
    let missed = 0
    let duplicated = 0
    let other = 0
    let gapSignals = 0
    let gapSeqs = 0
    let resumeRefused = 0
    let subscribed = 0
    let back = 0
    let connectErrors = 0
    let connectErrorsAfterFault = 0
    const backMs: number[] = []
    const noticedMs: number[] = []
    const errors: string[] = []
    const windows = (f.windows ?? []).map((w) => ({ w, ms: [] as number[] }))
    const fault = f.faultAtMs
    const upFrom = Math.max(f.upFromMs ?? 0, fault ?? 0)
    for (const c of this.clients) {
      const r = c.record
      const a = accountOf(r, f.lastSeq)
      expected += a.expected
      delivered += a.delivered
      missed += a.missed
      duplicated += a.duplicated
      other += r.other
      gapSignals += r.gapSignals
      gapSeqs += a.gapSeqs
      resumeRefused += r.resumeRefused
      if (r.startSeq !== undefined) subscribed++
      connectErrors += r.failed.length
      for (const e of r.errors) if (errors.length < MAX_ERRORS && !errors.includes(e)) errors.push(e)
      if (fault !== undefined) {
        const up = r.ups.find((t) => t >= upFrom)
        if (up !== undefined) {
          back++
          backMs.push(up - fault)
        }
        const down = r.downs.find((t) => t >= fault)
        if (down !== undefined) noticedMs.push(down - fault)
        connectErrorsAfterFault += r.failed.filter((t) => t >= fault).length
      }
      for (const { w, ms } of windows) {
        for (let i = 0; i < r.ts.length; i++) {
          const ts = r.ts[i] as number
          if (ts >= w.fromMs && ts < w.toMs) ms.push((r.receivedMs[i] as number) - ts)
        }
      }
    }
    return {
      clients: this.clients.length,
      subscribed,
      expected,
      delivered,
      missed,
      duplicated,
      gapSignals,
      gapSeqs,
      resumeRefused,
      other,
      back,
      backMs: percentiles(backMs),
      noticedMs: percentiles(noticedMs),
      connectErrors,
      connectErrorsAfterFault,
      errors,
      latency: windows.map(({ w, ms }) => ({ name: w.name, ...percentiles(ms) })),
      slow: {
        clients: this.slow.length,
        closed: this.slow.filter((s) => s.cut).length,
        bytesRead: this.slow.reduce((n, s) => n + s.record.bytesRead, 0),
      },
    }
  }

  stop(): void {
    for (const c of this.clients) c.stop()
    for (const s of this.slow) s.stop()
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`not up in ${ms} ms`)), ms)
    p.then(
      (v) => {
        clearTimeout(t)
        resolve(v)
      },
      (e: Error) => {
        clearTimeout(t)
        reject(e)
      },
    )
  })
}
