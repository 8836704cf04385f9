/**
 * A fault run (issue 17, "Fault scenarios"): one transport's server in its own process, the fault probe
 * (load/fault-probe.ts) in another with N reconnecting clients, and one fault, measured:
 * - `restart`: the server stopped with SIGTERM (it closes every connection the proper way) and a new one
 *   started on the same port `downtimeMs` after the stop began; `restart-sigkill`: the same with SIGKILL
 *   (connections cut by the kernel, nothing said). Both servers tick on one shared epoch
 *   (servers/ticker.ts `epochMs`), so the new one regenerates the updates the old one published, refills
 *   its ring and continues the sequence: a client's resume means the same seq on both. The ring holds
 *   more than the downtime, so nothing may be missed.
 * - `restart-gap`: `restart` with a ring of `gapRingSize` updates, smaller than what the downtime
 *   publishes: the updates older than the ring are lost, counted as missed from the seqs, and each of
 *   them must have been declared lost by the server's gap signal (README, resume contract).
 * - `storm`: every connection cut at once by the running server (IPC `drop-all`); the clients come back
 *   with their back-off. Server CPU (per 100 ms) and RSS peak during the storm.
 * - `slow-consumers`: a fraction of slow consumers (half never read, half read `slowReadBytesPerSecond`)
 *   joins the clients; the server's bounded queue must cut them. The healthy clients' latency in a window
 *   before them and one with them, against a stated bound.
 * - `kill-server`, `kill-generator`: SIGKILL of the server, or of the probe (the generator of this run),
 *   mid-window: the run must notice at once, end with an error naming the process and how it died, and
 *   keep what was measured (the probe's account, or the server's counters).
 * Everything it starts it stops.
 */
import { nowMs } from '../lib/clock.ts'
import { PbError } from '../lib/errors.ts'
import type { ScenarioParams } from '../lib/params.ts'
import type { FaultRow } from '../lib/results-schema.ts'
import { type Transport, transport as transportEntry } from '../lib/transports.ts'
import type { CounterSnapshot } from '../servers/counters.ts'
import type { ReadyLine } from '../servers/ipc.ts'
import { type Child, canPin, spawnNode, waitReady } from './children.ts'
import type { FaultReply, ProbeResult, ProbeStatus } from './fault-probe.ts'
import { nodeArgsFrom, serverArgs } from './session.ts'

export const FAULT_KINDS = [
  'restart',
  'restart-sigkill',
  'restart-gap',
  'storm',
  'slow-consumers',
  'kill-server',
  'kill-generator',
] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

/** What a fault scenario sets (bench/config.ts `faults`), with its defaults. */
export interface FaultOptions {
  /** seconds of steady state before the fault, and after the clients are back */
  steadyS: number
  /** restart: from the stop's start to the new server's start, ms */
  downtimeMs: number
  /** the server's ring (updates kept for resume); 0: sized from the payload (1,024 updates or more) */
  ringSize: number
  /** restart-gap: the small ring, updates */
  gapRingSize: number
  /** how long the clients get to come back after a fault, s */
  recoverS: number
  /** slow-consumers: the fraction of clients added as slow consumers */
  slowFraction: number
  /** slow-consumers: the slow readers' rate (half the slow consumers; the other half never read) */
  slowReadBytesPerSecond: number
  /** push servers' bound on a connection's unsent bytes (servers/options.ts maxBufferedBytes) */
  maxBufferedBytes: number
  /** slow-consumers: healthy p99 with them must stay within ratio x baseline p99 + plusMs */
  latencyBound: { ratio: number; plusMs: number }
}

export const FAULT_DEFAULTS: Readonly<FaultOptions> = Object.freeze({
  steadyS: 2,
  downtimeMs: 500,
  ringSize: 0,
  gapRingSize: 10,
  recoverS: 15,
  slowFraction: 0.1,
  slowReadBytesPerSecond: 2048,
  maxBufferedBytes: 256 * 1024,
  latencyBound: Object.freeze({ ratio: 2, plusMs: 5 }),
})

export interface FaultSpec {
  kind: FaultKind
  transport: Transport
  /** the ticker (tickHz, updatesPerTick, payloadBytes, seed, symbols), pollIntervalMs, and clients */
  params: ScenarioParams
  options?: Partial<FaultOptions> | undefined
  pin?: boolean | undefined
  signal?: AbortSignal | undefined
  onPhase?: ((phase: string, detail?: string) => void) | undefined
}

/**
 * The transports whose server queues a connection's unsent bytes and cuts it past a bound
 * (servers/push-writer.ts): a slow consumer must be cut there. A poll is answered once and waits for the
 * next request, so a client that does not read holds one answer at most and is never cut.
 */
const QUEUED = new Set(['sse', 'websocket'])

/** The probe's requests that may take a while (connecting every client). */
const PROBE_START_MS = 60_000
/** How often the runner looks at the clients and the server while waiting for them. */
const LOOK_MS = 100
/** Errors kept in a row. */
const MAX_ERRORS = 5

/** A child's death, as the runner tells it. */
function deathOf(c: Child, how: { code: number | null; signal: NodeJS.Signals | null }): string {
  const by = how.signal ? `killed by ${how.signal}` : `exited with code ${how.code}`
  return `${c.label} (pid ${c.proc.pid}) ${by}`
}

/**
 * Watches the run's children: a sleep ends at once, with an error naming the process and how it died,
 * when one of them exits unexpectedly (or the run is interrupted).
 */
class Watch {
  private readonly expected = new Set<Child>()
  private failed: { err: PbError; atMs: number } | undefined
  private wake: (() => void) | undefined
  private readonly onAbort = (): void => this.wake?.()

  constructor(private readonly signal: AbortSignal | undefined) {
    signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  /** Lets go of the run's signal (a bench runs many fault runs on one). */
  close(): void {
    this.signal?.removeEventListener('abort', this.onAbort)
  }

  add(c: Child): void {
    void c.exited.then((how) => {
      if (this.expected.has(c) || this.failed) return
      this.failed = {
        err: new PbError('PB_ERR_CHILD', `${deathOf(c, how)} during the fault run`),
        atMs: nowMs(),
      }
      this.wake?.()
    })
  }

  /** Its exit from now on is the fault itself, not a failure. */
  expect(c: Child): void {
    this.expected.add(c)
  }

  /** When a child's death was noticed (undefined while none died). */
  get death(): { err: PbError; atMs: number } | undefined {
    return this.failed
  }

  check(): void {
    if (this.failed) throw this.failed.err
    if (this.signal?.aborted) throw new PbError('PB_ERR_INTERRUPTED', 'interrupted during the fault run')
  }

  async sleep(ms: number): Promise<void> {
    this.check()
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, Math.max(0, ms))
      function done(): void {
        clearTimeout(t)
        resolve()
      }
      this.wake = done
    })
    this.wake = undefined
    this.check()
  }
}

/** The server's request reply, or a clear error. */
async function ask<T>(c: Child, msg: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
  const r = await c.request<FaultReply | { type: string; message?: string }>(msg, timeoutMs)
  if (r.type === 'error')
    throw new PbError(
      'PB_ERR_CHILD',
      `${c.label} failed ${String(msg.type)}: ${(r as { message: string }).message}`,
    )
  return r as T
}

export async function runFault(spec: FaultSpec): Promise<FaultRow> {
  const o: FaultOptions = { ...FAULT_DEFAULTS, ...spec.options }
  const phase = spec.onPhase ?? (() => {})
  const pin = spec.pin !== false && canPin()
  const entry = transportEntry(spec.transport)
  const clients = spec.params.clients
  // every server of the run ticks on this epoch: a restarted one continues the sequence
  const epochMs = Math.floor(nowMs())
  const ringSize = spec.kind === 'restart-gap' ? o.gapRingSize : o.ringSize
  const watch = new Watch(spec.signal)
  const children: Child[] = []
  const startServer = async (port: number): Promise<{ child: Child; ready: ReadyLine }> => {
    const args = [
      ...serverArgs({ transport: spec.transport, params: spec.params }),
      '--epoch-ms',
      String(epochMs),
      '--ring-size',
      String(ringSize),
      '--max-buffered-bytes',
      String(o.maxBufferedBytes),
      // the last --port wins
      ...(port > 0 ? ['--port', String(port)] : []),
    ]
    const child = spawnNode('scripts/serve.ts', args, {
      cpu: pin ? 0 : undefined,
      label: 'server',
      nodeArgs: nodeArgsFrom('PB_SERVER_NODE_ARGS'),
    })
    children.push(child)
    const ready = await waitReady<ReadyLine>(child)
    watch.add(child)
    return { child, ready }
  }
  const row: FaultRow = {
    kind: spec.kind,
    transport: spec.transport,
    clients,
    ok: false,
    errors: [],
  }
  try {
    phase('server')
    let { child: server, ready } = await startServer(0)
    watch.check()
    phase('connect', `${clients} clients`)
    const probe = spawnNode('load/fault-process.ts', [], {
      cpu: pin ? 1 : undefined,
      label: 'generator (fault probe)',
      nodeArgs: nodeArgsFrom('PB_GENERATOR_NODE_ARGS'),
    })
    children.push(probe)
    watch.add(probe)
    const started = await ask<{ started: number; failed: number }>(
      probe,
      {
        type: 'start',
        transport: spec.transport,
        base: ready.url,
        path: entry.path,
        clients,
        pollIntervalMs: spec.params.pollIntervalMs,
      },
      PROBE_START_MS,
    )
    if (started.failed > 0)
      row.errors.push(`${started.failed} of ${clients} clients did not connect at first`)
    phase('steady', `${o.steadyS} s`)
    await watch.sleep(o.steadyS * 1000)
    const lastSeq = async (): Promise<number> =>
      (await ask<{ lastSeq: number }>(server, { type: 'published', fromMs: 0, toMs: 0 })).lastSeq
    const status = (sinceMs?: number) => ask<ProbeStatus>(probe, { type: 'status', sinceMs })
    /** Waits until every client has an up since `atMs` (or recoverS); returns when the last came back. */
    const allBack = async (atMs: number): Promise<number | undefined> => {
      const until = nowMs() + o.recoverS * 1000
      while (nowMs() < until) {
        if ((await status(atMs)).backSince >= clients) return nowMs()
        await watch.sleep(LOOK_MS)
      }
      return undefined
    }
    const drain = async (): Promise<number> => {
      const seq = await lastSeq()
      // a poll in flight (short polling: up to an interval) still brings what was published by then
      await watch.sleep(
        (entry.kind === 'poll' ? spec.params.pollIntervalMs : 0) + 2000 / spec.params.tickHz + 200,
      )
      return seq
    }
    const finish = (f: Record<string, unknown>) => ask<ProbeResult>(probe, { type: 'finish', ...f }, 30_000)
    const keepProbe = (r: ProbeResult): void => {
      row.back = {
        back: r.back,
        backMs: r.backMs,
        noticedMs: r.noticedMs,
      }
      row.updates = {
        expected: r.expected,
        delivered: r.delivered,
        missed: r.missed,
        duplicated: r.duplicated,
        gapSignals: r.gapSignals,
        gapSeqs: r.gapSeqs,
        resumeRefused: r.resumeRefused,
        other: r.other,
      }
      row.connectErrors = r.connectErrorsAfterFault
      for (const e of r.errors) if (row.errors.length < MAX_ERRORS) row.errors.push(e)
    }

    switch (spec.kind) {
      case 'restart':
      case 'restart-sigkill':
      case 'restart-gap': {
        const sig = spec.kind === 'restart-sigkill' ? 'SIGKILL' : 'SIGTERM'
        phase('restart', `${sig}, ${o.downtimeMs} ms down`)
        const before = await lastSeq()
        const faultAt = nowMs()
        watch.expect(server)
        server.proc.kill(sig)
        await server.exited
        const stoppedAt = nowMs()
        await watch.sleep(faultAt + o.downtimeMs - nowMs())
        ;({ child: server, ready } = await startServer(ready.port))
        const readyAt = nowMs()
        // a client is back at its first answer from the new server
        const backAt = await allBack(readyAt)
        phase('steady', `${o.steadyS} s`)
        await watch.sleep(o.steadyS * 1000)
        const r = await finish({ lastSeq: await drain(), faultAtMs: faultAt, upFromMs: readyAt })
        keepProbe(r)
        row.restart = {
          signal: sig,
          stopMs: round(stoppedAt - faultAt),
          downMs: round(readyAt - faultAt),
          ringSize: ringSize || undefined,
          lastSeqBefore: before,
        }
        if (row.back) row.back.allBackMs = backAt === undefined ? undefined : round(backAt - faultAt)
        // restart-gap: every seq lost was one the server's gap signal declared lost
        row.ok =
          r.back === clients &&
          r.duplicated === 0 &&
          r.resumeRefused === 0 &&
          (spec.kind === 'restart-gap' ? r.missed === r.gapSeqs : r.missed === 0)
        break
      }
      case 'storm': {
        const before = await sampleCpu(server, watch, o.steadyS * 1000)
        const mark = await ask<{ counters: CounterSnapshot }>(server, { type: 'mark' })
        phase('storm', 'every connection cut')
        // the fault's instant is the server's: an answer read before it came on an old connection
        const dropped = await ask<{ connections: number; atMs: number }>(server, { type: 'drop-all' })
        const faultAt = dropped.atMs
        let peak = 0
        let prev = mark.counters
        let backAt: number | undefined
        const until = nowMs() + o.recoverS * 1000
        while (nowMs() < until) {
          await watch.sleep(LOOK_MS)
          const c = (await ask<{ counters: CounterSnapshot }>(server, { type: 'counters' })).counters
          peak = Math.max(peak, coresBetween(prev, c))
          prev = c
          if (backAt === undefined && (await status(faultAt)).backSince >= clients) backAt = nowMs()
          // a second past the last one back: the CPU of the storm's tail is in
          if (backAt !== undefined && nowMs() > backAt + 1000) break
        }
        phase('steady', `${o.steadyS} s`)
        await watch.sleep(o.steadyS * 1000)
        const r = await finish({ lastSeq: await drain(), faultAtMs: faultAt })
        keepProbe(r)
        if (row.back) row.back.allBackMs = backAt === undefined ? undefined : round(backAt - faultAt)
        row.storm = {
          dropped: dropped.connections,
          cpuBeforeCores: round(before),
          cpuPeakCores: round(peak),
          rssBeforeBytes: mark.counters.rssMaxBytes,
          rssPeakBytes: prev.rssMaxBytes,
        }
        row.ok = r.back === clients && r.missed === 0 && r.duplicated === 0
        break
      }
      case 'slow-consumers': {
        const slowCount = Math.max(1, Math.round(clients * o.slowFraction))
        const queued = QUEUED.has(spec.transport)
        const b0 = nowMs()
        phase('baseline', `${o.steadyS} s without slow consumers`)
        await watch.sleep(o.steadyS * 1000)
        const b1 = nowMs()
        const mark = await ask<{ counters: CounterSnapshot }>(server, { type: 'mark' })
        phase('slow', `${slowCount} slow consumers`)
        const rates = [0, o.slowReadBytesPerSecond]
        await ask(probe, { type: 'add-slow', count: slowCount, readBytesPerSecond: rates }, PROBE_START_MS)
        const f0 = nowMs()
        // at least the baseline's length; a push server is given up to recoverS more to cut them all
        let last = mark.counters
        const cuts = () => last.stats.slowConsumerDisconnects - mark.counters.stats.slowConsumerDisconnects
        const until = f0 + (o.steadyS + (queued ? o.recoverS : 0)) * 1000
        let allCutAt: number | undefined
        while (nowMs() < until) {
          await watch.sleep(LOOK_MS * 2.5)
          last = (await ask<{ counters: CounterSnapshot }>(server, { type: 'counters' })).counters
          if (allCutAt === undefined && cuts() >= slowCount) allCutAt = nowMs()
          if (nowMs() >= f0 + o.steadyS * 1000 && (!queued || cuts() >= slowCount)) break
        }
        const f1 = nowMs()
        const r = await finish({
          lastSeq: await drain(),
          windows: [
            { name: 'baseline', fromMs: b0, toMs: b1 },
            { name: 'slow', fromMs: f0, toMs: f1 },
          ],
        })
        keepProbe(r)
        row.back = undefined
        row.connectErrors = r.connectErrors
        const base = r.latency.find((w) => w.name === 'baseline')
        const slow = r.latency.find((w) => w.name === 'slow')
        const boundMs = round(o.latencyBound.ratio * (base?.p99 ?? 0) + o.latencyBound.plusMs)
        const held = (slow?.p99 ?? 0) <= boundMs
        row.slow = {
          clients: slowCount,
          readBytesPerSecond: rates,
          disconnects: cuts(),
          allCutMs: allCutAt === undefined ? undefined : round(allCutAt - f0),
          rssBeforeBytes: mark.counters.rssMaxBytes,
          rssGrowthBytes: Math.max(0, last.rssMaxBytes - mark.counters.rssMaxBytes),
          maxBufferedBytes: o.maxBufferedBytes,
          baseline: pick(base),
          withSlow: pick(slow),
          boundMs,
          held,
          bound: `healthy p99 <= ${o.latencyBound.ratio} x baseline p99 + ${o.latencyBound.plusMs} ms`,
        }
        row.ok = held && r.missed === 0 && (!queued || cuts() >= 1)
        break
      }
      case 'kill-server':
      case 'kill-generator': {
        const victim = spec.kind === 'kill-server' ? server : probe
        // every client has had what was published up to `before` when the kill comes
        const before = await drain()
        const c0 = (await ask<{ counters: CounterSnapshot }>(server, { type: 'counters' })).counters
        phase('kill', `SIGKILL to the ${victim.label}`)
        const faultAt = nowMs()
        victim.proc.kill('SIGKILL')
        let message = ''
        let noticedAt: number | undefined
        try {
          // the rest of a window: the run must end long before it does
          await watch.sleep(o.steadyS * 1000 + 10_000)
        } catch (err) {
          noticedAt = watch.death?.atMs ?? nowMs()
          message = (err as Error).message
        }
        let kept: string
        let updates: number
        if (spec.kind === 'kill-server') {
          // the probe lives: its account up to the last seq the server was known to have published
          const r = await finish({ lastSeq: before })
          keepProbe(r)
          row.back = undefined
          kept = `the clients' account up to seq ${before}`
          updates = r.delivered
        } else {
          // the server lives: its counters are what was measured
          const c1 = (await ask<{ counters: CounterSnapshot }>(server, { type: 'counters' })).counters
          kept = `the server's counters: ${c1.lastSeq} updates published, ${c0.connections} connections held before the kill`
          updates = c1.lastSeq
        }
        for (const c of children) await c.stop(2000)
        const endedAt = nowMs()
        row.kill = {
          process: victim.label,
          signal: 'SIGKILL',
          noticedMs: noticedAt === undefined ? undefined : round(noticedAt - faultAt),
          endedMs: round(endedAt - faultAt),
          message,
          kept,
          keptUpdates: updates,
        }
        row.ok =
          noticedAt !== undefined &&
          noticedAt - faultAt < 10_000 &&
          message.includes(victim.label) &&
          message.includes('SIGKILL')
        break
      }
    }
    return row
  } finally {
    watch.close()
    await Promise.all(children.map((c) => c.stop(2000)))
  }
}

/** Server CPU over `ms`, cores (mean). */
async function sampleCpu(server: Child, watch: Watch, ms: number): Promise<number> {
  const a = (await ask<{ counters: CounterSnapshot }>(server, { type: 'counters' })).counters
  await watch.sleep(ms)
  const b = (await ask<{ counters: CounterSnapshot }>(server, { type: 'counters' })).counters
  return coresBetween(a, b)
}

function coresBetween(a: CounterSnapshot, b: CounterSnapshot): number {
  const us = b.cpuUserUs + b.cpuSystemUs - a.cpuUserUs - a.cpuSystemUs
  const wallUs = (b.atMs - a.atMs) * 1000
  return wallUs > 0 ? us / wallUs : 0
}

const round = (x: number): number => Math.round(x * 1000) / 1000

function pick(p: { count: number; p50: number; p99: number; max: number } | undefined) {
  return p ? { count: p.count, p50: p.p50, p99: p.p99, max: p.max } : { count: 0, p50: 0, p99: 0, max: 0 }
}
