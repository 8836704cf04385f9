/**
 * One measured run: one transport, one scenario. The server runs in its own process pinned to core 0,
 * the generator in another pinned to core 1; clients ramp in, warm up, then a fixed window is measured
 * (server counters diffed over it, updates counted by publish instant), clients drain, everything stops.
 */
import { clockOffset, nowMs, setClockOffset } from '../lib/clock.ts'
import { type CpuCap, createCpuCap } from '../lib/cpu-cap.ts'
import { PbError, PbOptionError } from '../lib/errors.ts'
import { createWire, linkDelta, WIRE_DEV_ENV, WIRE_SERVER_ADDR, type Wire } from '../lib/netns.ts'
import { nofileFor, planNofile, readNofile } from '../lib/nofile.ts'
import { flagName, type ScenarioParams } from '../lib/params.ts'
import { type CpuTimes, cpuDelta, readCpuTimes } from '../lib/proc-stat.ts'
import type { Clock, CompletedResult } from '../lib/results-schema.ts'
import { checkTlsClient, makeTlsCert, namesFor, type TlsCert } from '../lib/tls-cert.ts'
import { type Transport, transport as transportEntry } from '../lib/transports.ts'
import { DEFAULT_WORKLOAD, publishesNothing } from '../lib/workloads.ts'
import type { CounterSnapshot } from '../servers/counters.ts'
import type { ReadyLine, ServerReply } from '../servers/ipc.ts'
import { ChildWatch, type Death, unlessAborted } from './child-watch.ts'
import { type Child, canPin, howExited, interruptedBy, spawnNode, waitReady } from './children.ts'
import { BROWSER_SETTLE } from './chromium.ts'
import { combineOffsets, estimateOffset, type OffsetEstimate } from './clock-offset.ts'
import { combineReports } from './combine-reports.ts'
import { SLICE_MS } from './delivery.ts'
import type {
  ClientKind,
  GeneratorMessage,
  GeneratorReport,
  GeneratorRequest,
  RampOptions,
} from './generator-ipc.ts'
import { hostBusyMs } from './host-cpu.ts'
import { probeHostNsPerOp } from './host-probe.ts'
import { RemoteServer } from './remote-server.ts'
import { type Slice, sliceOf, splitSlice } from './slices.ts'
import { planSourceAddresses, type SourcePlan } from './source-addresses.ts'
import { type GeneratorFigures, toResult } from './to-result.ts'

export type Phase = 'server' | 'connect' | 'warmup' | 'measure' | 'drain' | 'stop'

export interface RunSpec {
  transport: Transport
  /** which client measures: `lean` (default), `library` or `browser` (pages in headless Chromium) */
  client?: ClientKind | undefined
  /** lean clients parse every Nth update in full (default 1,000) */
  verifyEvery?: number | undefined
  /** run the server under a CPU quota of this many cores (lib/cpu-cap.ts), so it saturates first */
  serverCpu?: number | undefined
  /** what the server publishes (lib/workloads.ts); default `ticker` */
  workload?: string
  params: ScenarioParams
  server?: 'pushbench' | 'baseline'
  /** server bind address; the load goes only there */
  host?: string
  /**
   * wire mode (lib/netns.ts): server and generator in two network namespaces joined by a veth pair the run
   * makes and removes; the server binds the pair's server address (not `host`) and the result carries
   * bytes.link and connections.timeWait. `linkMbit` caps the link with tc tbf on both ends.
   */
  wire?: { linkMbit?: number | undefined } | undefined
  /**
   * TLS (`--tls`): the server serves https and wss with a self-signed certificate made for the run
   * (lib/tls-cert.ts, naming the address the clients reach) and removed when the session closes; the
   * clients trust that certificate alone. Not with browser clients.
   */
  tls?: boolean | undefined
  /** pin server and generator to different cores (when taskset and 2 cores exist) */
  pin?: boolean
  ramp?: RampOptions
  /** extra flags for the server process, scripts/serve.ts (e.g. ['--per-message-deflate']) */
  serverArgs?: string[]
  /**
   * generator processes the clients are split over (`--generators N`, default 1), all on the generator's
   * core; their reports are merged (load/combine-reports.ts)
   */
  generators?: number | undefined
  /** the name of the clients field in errors: `--clients` (run) or where a config sets it (bench) */
  clientsField?: string | undefined
  /**
   * a server on another host, started there with `pushbench serve --control` (`run --target URL`):
   * nothing is started for it; its counters and clock are read over HTTP (load/remote-server.ts)
   */
  target?: string | undefined
  /** this run is shard `index` of `count` (`--shard i/n`): it runs that slice of params.clients */
  shard?: { index: number; count: number } | undefined
  /** when the window opens, epoch ms on the server's clock (`--start-at`): every shard opens it then */
  startAtMs?: number | undefined
  /**
   * against a target: `estimated` (default) puts this host's instants on the server's clock by an
   * NTP-style estimate; `synchronised` trusts chrony or PTP and only measures the offset
   */
  clockMode?: 'estimated' | 'synchronised' | undefined
  onPhase?: (phase: Phase, detail?: string) => void
  /** abort = interrupt: the window ends now and what was measured is returned, marked partial */
  signal?: AbortSignal
}

export const DEFAULT_RAMP: RampOptions = { batch: 100, pauseMs: 20 }

/** A shard's window opens on a multiple of this on the server's clock, unless `--start-at` says when. */
export const SHARD_ALIGN_MS = 30_000

/** What a session needs of its server: a child it started, or one on another host. */
export type ServerHandle = Pick<Child, 'request' | 'stop'>

/** `--generators`: processes on the generator's core. */
export const GENERATORS_RANGE = { min: 1, max: 16, integer: true, unit: 'processes' }

/** The measuring client unless told otherwise: the one that costs least (DESIGN.md, "Generator"). */
export const DEFAULT_CLIENT: ClientKind = 'lean'

/** A lean client parses one update in this many in full: about 1 us per 1,000 updates. */
export const DEFAULT_VERIFY_EVERY = 1000
export const VERIFY_RANGE = { min: 1, max: 1_000_000, integer: true, unit: 'updates' }
export const CLIENT_KINDS: readonly ClientKind[] = ['lean', 'library', 'browser']

/** An interrupt closes the window this long after it: the generator must learn the end before it comes. */
export const INTERRUPT_CLOSE_MS = 100

/**
 * The most clients keep listening after the window: the generator reports as soon as every client has
 * seen an update published after the window's end, so this bound is reached only under overload, where
 * it lets a late update count as late, not as missed.
 */
export function drainMs(p: ScenarioParams, transport: Transport): number {
  return transportEntry(transport).kind === 'poll' ? 2 * p.pollIntervalMs + 5000 : 10_000
}

/**
 * Extra node flags for one child, for diagnosis (never set by the suite itself):
 * PB_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=prof' profiles the server of every run, and
 * PB_GENERATOR_NODE_ARGS the generator.
 */
export function nodeArgsFrom(name: 'PB_SERVER_NODE_ARGS' | 'PB_GENERATOR_NODE_ARGS'): string[] {
  return (process.env[name] ?? '').split(/\s+/).filter(Boolean)
}

export function serverArgs(spec: RunSpec, cert?: TlsCert): string[] {
  const p = spec.params
  const args = ['--transport', spec.transport, '--host', spec.host ?? '127.0.0.1', '--port', '0']
  for (const key of ['seed', 'symbols', 'tickHz', 'updatesPerTick', 'payloadBytes', 'writePolicy'] as const) {
    args.push(flagName(key), String(p[key]))
  }
  // the chat's rooms are the server's streams; the ticker's servers take the default and ignore it
  if (spec.workload === 'chat') args.push('--rooms', String(p.rooms))
  if (spec.workload !== undefined) args.push('--workload', spec.workload)
  if (spec.server === 'baseline') args.push('--server', 'baseline')
  if (cert) args.push('--tls-key', cert.keyPath, '--tls-cert', cert.certPath)
  return [...args, ...(spec.serverArgs ?? [])]
}

const sleepUntil = (atMs: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, Math.max(0, atMs - nowMs()))
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
    // an abort that came before this wait began ends it at once ('abort' does not fire again)
    if (signal?.aborted) done()
  })

function onMessage<T extends GeneratorMessage['type']>(
  child: Child,
  type: T,
  timeoutMs: number,
  onOther?: (m: GeneratorMessage) => void,
): Promise<Extract<GeneratorMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(
        new PbError('PB_ERR_GENERATOR', `generator sent no ${type} in ${Math.round(timeoutMs / 1000)} s`),
      )
    }, timeoutMs)
    const listener = (m: GeneratorMessage) => {
      if (m.type === type) {
        cleanup()
        resolve(m as Extract<GeneratorMessage, { type: T }>)
      } else if (m.type === 'error') {
        cleanup()
        reject(new PbError('PB_ERR_GENERATOR', `generator failed: ${m.message}`))
      } else onOther?.(m)
    }
    const exit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup()
      const err = child.stderr().split('\n').slice(-3).join(' | ')
      reject(
        new PbError(
          'PB_ERR_CHILD_DIED',
          `${child.label} (pid ${child.proc.pid}) died before it sent its ${type}: ${howExited(code, signal)}${err ? `; its last stderr: ${err}` : ''}`,
        ),
      )
    }
    function cleanup() {
      clearTimeout(timer)
      child.proc.off('message', listener)
      child.proc.off('exit', exit)
    }
    child.proc.on('message', listener)
    child.proc.once('exit', exit)
  })
}

/** Sends `m` to a generator unless it has gone (a send on a closed channel throws). */
function tell(g: Child, m: GeneratorRequest): void {
  if (g.proc.connected) g.proc.send(m)
}

/** The server's RSS after a full GC, and the connections it held then. */
async function serverMemory(
  server: ServerHandle,
): Promise<{ rssBytes: number; connections: number } | undefined> {
  const r = await server.request<ServerReply>({ type: 'memory' })
  return r.type === 'memory' && r.gc ? { rssBytes: r.rssBytes, connections: r.connections } : undefined
}

/** The least RSS growth over the ramp from which a per-connection figure is reported. */
export const MIN_RSS_GROWTH = 8 * 1024 * 1024

/** What the run adds to the results' serverMemory: RSS idle and at the end of the ramp, and the growth per connection held. */
export interface ServerMemory {
  idleRssBytes: number
  rampRssBytes: number
  bytesPerConnection?: number
}

function memoryPerConnection(
  idle: { rssBytes: number } | undefined,
  ramp: { rssBytes: number; connections: number } | undefined,
): ServerMemory | undefined {
  if (!idle || !ramp) return undefined
  const m: ServerMemory = { idleRssBytes: idle.rssBytes, rampRssBytes: ramp.rssBytes }
  // below MIN_RSS_GROWTH the connections fit in pages the process had already committed (V8's heap,
  // malloc's arenas) and RSS hardly moves: 200 WebSocket connections grew it by 0.1 MiB, 655 B each,
  // where 1,000 and 3,000 gave 11.6 and 10.4 KiB each; then it says nothing per connection
  if (ramp.connections > 0 && ramp.rssBytes - idle.rssBytes >= MIN_RSS_GROWTH)
    m.bytesPerConnection = Math.round((ramp.rssBytes - idle.rssBytes) / ramp.connections)
  return m
}

/** Server counters now, or (with atMs) right before the first tick at or after atMs. */
async function counters(
  server: ServerHandle,
  type: 'mark' | 'counters',
  atMs?: number,
): Promise<CounterSnapshot> {
  const wait = atMs === undefined ? 10_000 : Math.max(0, atMs - nowMs()) + 20_000
  const r = await server.request<ServerReply>(atMs === undefined ? { type } : { type, atMs }, wait)
  if (r.type !== 'counters') throw new PbError('PB_ERR_SERVER', `server answered ${r.type} to ${type}`)
  return r.counters
}

/**
 * A server and a generator with its clients connected: one or more windows are measured on it.
 * `open` starts both; `measure` runs one window; `close` stops both (always call it).
 */
export class Session {
  private constructor(
    readonly spec: RunSpec,
    readonly server: ServerHandle,
    /** the generator processes, each with its slice of the clients */
    readonly gens: Child[],
    readonly ready: ReadyLine,
    readonly connected: number,
    readonly failed: number,
    /** why the last client that failed did (no connection, or no answer to its first request) */
    readonly failedWhy: string | undefined,
    /** connected clients per stream */
    readonly subscribers: number[],
    /** load/host-probe.ts, timed before the server started */
    readonly hostProbeNsPerOp: number,
    /** the server's core (pinned), whose /proc/stat times are read over each window */
    readonly serverCore: number | undefined,
    readonly cap: CpuCap | undefined,
    /** the server's RSS idle and at the end of the connect ramp (both after a full GC) */
    readonly memory: ServerMemory | undefined,
    /** wire mode: the namespaces and veth pair the server and the generator run in */
    readonly wire: Wire | undefined,
    /** TLS: the run's certificate (removed in close) */
    readonly cert: TlsCert | undefined,
    /** the generators' ramp: slices, memory, connect time, source addresses */
    readonly ramp: GeneratorRamp | undefined,
    /** against a target: the clock offset estimated before the clients connected */
    readonly clockStart: OffsetEstimate | undefined,
    /** every child of the session, watched from its spawn: a death ends a window at once */
    private readonly watch: ChildWatch,
    /** aborted by an interrupt (spec.signal) or by a child's death */
    private readonly stop: AbortSignal,
  ) {}

  /** The child that died unexpectedly, if one did: the session is over then. */
  get died(): PbError | undefined {
    return this.watch.died?.error
  }

  static async open(spec: RunSpec): Promise<Session> {
    const p = spec.params
    const pin = spec.pin !== false && canPin()
    const phase = spec.onPhase ?? (() => {})
    let server: ServerHandle | undefined
    let local: Child | undefined
    let clockStart: OffsetEstimate | undefined
    const gens: Child[] = []
    let cap: CpuCap | undefined
    let wire: Wire | undefined
    let cert: TlsCert | undefined
    checkTlsClient(spec.tls, spec.client ?? DEFAULT_CLIENT)
    const { parts, sources, serverNofile, genNofile, slice } = planConnections(spec)
    const watch = new ChildWatch()
    const stop = spec.signal ? AbortSignal.any([spec.signal, watch.signal]) : watch.signal
    /** waits for `p` unless the run is interrupted or a child dies meanwhile */
    const untilStopped = <T>(p: Promise<T>): Promise<T> => unlessAborted(p, stop, () => stopError(stop))
    // before any child exists: how fast the host is, with nothing of ours running
    const hostProbeNsPerOp = probeHostNsPerOp()
    try {
      phase('server', spec.target)
      let ready: ReadyLine
      if (spec.target !== undefined) {
        const remote = await RemoteServer.connect(spec.target)
        server = remote
        ready = remote.ready
        checkRemote(spec, ready)
        // the offset of the server's clock: every instant of this run is taken on it (lib/clock.ts)
        clockStart = await estimateOffset(spec.target)
        if ((spec.clockMode ?? 'estimated') === 'estimated') setClockOffset(clockStart.offsetMs)
      } else {
        // made before anything starts, so that a machine without cgroups fails fast (exit 2)
        if (spec.serverCpu !== undefined) cap = await createCpuCap(spec.serverCpu, 'server')
        if (spec.wire) wire = await createWire(spec.wire)
        // TLS: a certificate naming the address the clients reach (lib/tls-cert.ts)
        if (spec.tls) cert = await makeTlsCert(namesFor(wire ? wire.serverAddr : (spec.host ?? '127.0.0.1')))
        server = local = spawnNode(
          'scripts/serve.ts',
          serverArgs(wire ? { ...spec, host: wire.serverAddr } : spec, cert),
          {
            cpu: pin ? 0 : undefined,
            netns: wire?.serverNs,
            // its counter snapshots then carry the veth's counters, taken with its socket counters
            env: wire ? { [WIRE_DEV_ENV]: wire.serverDev } : undefined,
            label: 'server',
            // --expose-gc: memory per connection is read after a full collection (servers/process.ts)
            nodeArgs: ['--expose-gc', ...nodeArgsFrom('PB_SERVER_NODE_ARGS')],
            nofile: serverNofile,
          },
        )
        watch.add(local)
        ready = await untilStopped(waitReady<ReadyLine>(local))
      }
      if (stop.aborted) throw stopError(stop)
      const idle = await untilStopped(serverMemory(server))
      phase('connect', `${slice.count} clients`)
      for (const i of parts.keys())
        gens.push(
          spawnNode('load/generator-process.ts', [], {
            cpu: pin ? 1 : undefined,
            netns: wire?.clientNs,
            label: parts.length > 1 ? `generator ${i + 1}/${parts.length}` : 'generator',
            // --expose-gc: its memory per connection is read after a full collection, as the server's
            nodeArgs: ['--expose-gc', ...nodeArgsFrom('PB_GENERATOR_NODE_ARGS')],
            nofile: genNofile,
          }),
        )
      for (const g of gens) watch.add(g)
      // a page takes Chromium far longer to open than a Node client takes to connect
      // (and Chromium may take BROWSER_SETTLE.maxMs to settle after)
      const perClientMs = spec.client === 'browser' ? 2000 : 20
      const settleMs = spec.client === 'browser' ? BROWSER_SETTLE.maxMs : 0
      const progress = parts.map(() => 0)
      const connected = gens.map((gen, i) =>
        onMessage(gen, 'connected', 30_000 + settleMs + slice.count * perClientMs, (m) => {
          if (m.type !== 'progress') return
          progress[i] = m.connected
          const n = progress.reduce((a, b) => a + b, 0)
          phase('connect', `${n}/${slice.count} clients${m.note ? `, ${m.note}` : ''}`)
        }),
      )
      for (const [i, gen] of gens.entries()) {
        const part = parts[i] as Slice
        gen.proc.send({
          type: 'start',
          transport: spec.transport,
          workload: spec.workload ?? DEFAULT_WORKLOAD,
          client: spec.client ?? DEFAULT_CLIENT,
          verifyEvery: spec.verifyEvery ?? DEFAULT_VERIFY_EVERY,
          base: ready.url,
          ca: cert?.certPem,
          params: p,
          ramp: spec.ramp ?? DEFAULT_RAMP,
          clients: part.count,
          firstClient: part.first,
          totalClients: p.clients,
          sources,
          clockOffsetMs:
            spec.target !== undefined && spec.clockMode !== 'synchronised' ? clockOffset() : undefined,
        })
      }
      // an interrupt or a death stops the ramp now (the catch below stops every child), not after it
      const all = await untilStopped(Promise.all(connected))
      const conn = sumConnected(all)
      if (conn.connected === 0) {
        throw new PbError(
          'PB_ERR_CONNECT',
          `no client could connect to ${ready.url}: ${conn.lastError ?? 'unknown error'}`,
        )
      }
      if (stop.aborted) throw stopError(stop)
      const ramp = await untilStopped(serverMemory(server))
      // the quota holds from here on, not during the connect ramp: a capped server would take minutes
      // to accept 1,000 handshakes, which is not what is measured
      if (cap && local?.proc.pid !== undefined) cap.addPid(local.proc.pid)
      return new Session(
        spec,
        server,
        gens,
        ready,
        conn.connected,
        conn.failed,
        conn.failed > 0 ? conn.lastError : undefined,
        conn.subscribers,
        hostProbeNsPerOp,
        pin ? 0 : undefined,
        cap,
        memoryPerConnection(idle, ramp),
        wire,
        cert,
        {
          parts,
          connectMs: conn.ms,
          sourceAddresses: Math.max(1, sources.addresses.length),
          connected: all.map((m) => m.connected),
          idleRssBytes: all.map((m) => m.idleRssBytes),
          rampRssBytes: all.map((m) => m.rampRssBytes),
          subscribers: all.map((m) => m.subscribers),
        },
        clockStart,
        watch,
        stop,
      )
    } catch (err) {
      watch.close()
      await Promise.all([server?.stop(2000), ...gens.map((g) => g.stop(2000))])
      await cap?.remove()
      await wire?.remove()
      cert?.remove()
      throw err
    }
  }

  /**
   * Warms up until steady (params.maxWarmupS above warmupS): slices of WARMUP_SLICE_MS until the server's
   * CPU per expected update over two consecutive slices agrees within STEADY_TOLERANCE, no sooner than
   * warmupS and no later than maxWarmupS. With maxWarmupS at or below warmupS it returns at once, and the
   * warm-up is the fixed warmupS before the window.
   */
  private async warmUp(params: ScenarioParams): Promise<Warmup> {
    const minMs = params.warmupS * 1000
    const maxMs = params.maxWarmupS * 1000
    if (maxMs <= minMs) return { fixed: true, usedS: params.warmupS, steady: false, sliceUsPerUpdate: [] }
    const phase = this.spec.onPhase ?? (() => {})
    const t0 = nowMs()
    const slices: number[] = []
    let steady = false
    let a = await counters(this.server, 'counters')
    for (;;) {
      phase('warmup', `until steady, ${slices.length} slice(s), at most ${params.maxWarmupS} s`)
      await sleepUntil(nowMs() + WARMUP_SLICE_MS, this.stop)
      if (this.stop.aborted) break
      const b = await counters(this.server, 'counters')
      const pub = await this.server.request<ServerReply>({ type: 'published', fromMs: a.atMs, toMs: b.atMs })
      const expected =
        pub.type === 'published'
          ? pub.perStream.reduce((n, p, s) => n + p * (this.subscribers[s] ?? 0), 0)
          : 0
      const cpuUs = b.cpuUserUs + b.cpuSystemUs - a.cpuUserUs - a.cpuSystemUs
      const us = expected > 0 ? cpuUs / expected : Number.NaN
      slices.push(Number.isFinite(us) ? Math.round(us * 1000) / 1000 : 0)
      const prev = slices.at(-2)
      const elapsed = nowMs() - t0
      if (elapsed >= minMs && prev !== undefined && Math.abs(us - prev) <= STEADY_TOLERANCE * prev) {
        steady = true
        break
      }
      if (elapsed >= maxMs) break
      a = b
    }
    return { fixed: false, usedS: Math.round(nowMs() - t0) / 1000, steady, sliceUsPerUpdate: slices }
  }

  /** Changes the server's publish rate (capacity search). */
  async setRate(tickHz: number, updatesPerTick: number): Promise<void> {
    const r = await this.server.request<ServerReply>({ type: 'set-rate', tickHz, updatesPerTick })
    if (r.type !== 'ok')
      throw new PbError('PB_ERR_SERVER', `set-rate failed: ${r.type === 'error' ? r.message : r.type}`)
  }

  /**
   * Warms up, measures one window, drains. `params` are the ones in force (the rate may have been
   * changed with setRate); after the `last` window the generator stops its clients. An interrupt cuts the
   * window where it came; a child's death cuts it too (at the server's last checkpoint if the server died,
   * at once if a generator did, the others' clients kept) and the result is partial with the reason, or,
   * when nothing of the window can be kept, a PbError naming the process and how it died.
   */
  async measure(params: ScenarioParams, last: boolean): Promise<CompletedResult> {
    const { spec, server, gens, stop, watch } = this
    const phase = spec.onPhase ?? (() => {})
    const warmup = await this.warmUp(params)
    // the window starts a moment from now: both ends must learn its edges before it comes
    const startMs = this.windowStart(
      warmup.fixed ? nowMs() + params.warmupS * 1000 : nowMs() + WINDOW_LEAD_MS,
    )
    const endMs = startMs + params.durationS * 1000
    // nothing published: no update is on its way after the window, but the clients must stay until the
    // server has taken its end edge (on the first tick at or after it), or their close frames land in it
    const drain = publishesNothing(spec.workload)
      ? Math.ceil(1000 / params.tickHz) + IDLE_DRAIN_MARGIN_MS
      : drainMs(params, spec.transport)
    // a generator leaves after its final report (the last window's, or the one a stop asks for): that exit
    // is no death
    let final = last
    const stopAll = (m: GeneratorRequest, which: number[] = [...gens.keys()]) => {
      final = true
      for (const i of which) tell(gens[i] as Child, m)
    }
    const results = gens.map((g) => {
      const r = onMessage(g, 'result', endMs - nowMs() + drain + 60_000).then((m) => {
        if (final) watch.expect(g)
        return m.report
      })
      r.catch(() => {})
      return r
    })
    for (const g of gens) tell(g, { type: 'window', startMs, endMs, drainMs: drain, last })
    // both edges are taken by the server itself on tick boundaries (servers/tick-aligned.ts)
    const edge0 = counters(server, 'mark', startMs)
    const edge1 = counters(server, 'counters', endMs)
    edge0.catch(() => {})
    edge1.catch(() => {})
    if (warmup.fixed) phase('warmup', `${params.warmupS} s`)
    await sleepUntil(startMs, stop)
    if (stop.aborted) {
      stopAll({ type: 'stop' })
      throw stopError(stop)
    }
    const s0 = await edge0
    // a remote server's CPU is not this host's: the host's busy time says nothing of others then
    const host0 = spec.target === undefined ? hostBusyMs() : undefined
    const cores0 = readCpuTimes()
    phase('measure', `${params.durationS} s`)
    const checkpoints = this.checkpoints(startMs, endMs)
    await sleepUntil(endMs, stop)
    checkpoints.end()
    let cut: Cut
    const died = watch.died
    if (died) {
      cut = await this.cutByDeath(died, checkpoints.last(), { startMs, params, stopAll })
    } else {
      const partial = spec.signal?.aborted === true
      // interrupted: the window closes a moment from now, announced to both ends before it comes (as the
      // planned end was), so the server's bytes, its published count and the generator's count all end on
      // the same tick boundary; cutting at "now" let each end cut at a different instant
      const closedMs = partial ? Math.min(endMs, nowMs() + INTERRUPT_CLOSE_MS) : endMs
      if (partial) stopAll({ type: 'stop', endMs: closedMs, drainMs: drain })
      const s1 = closedMs < endMs ? await counters(server, 'counters', closedMs) : await edge1
      cut = {
        s1,
        closedMs,
        cores1: readCpuTimes(),
        host1: spec.target === undefined ? hostBusyMs() : undefined,
        live: [...gens.keys()],
        reason: partial ? `interrupted by ${interruptedBy(spec.signal)}` : undefined,
      }
    }
    phase('drain', `up to ${drain} ms`)
    // an interrupt (or a death) during the drain ends it now: updates still on their way count as missed
    const drainCut = () => {
      cut.reason ??= `interrupted by ${interruptedBy(stop)} during the drain: updates still on their way count as missed`
      stopAll({ type: 'stop', endMs: cut.closedMs, drainMs: 0 }, cut.live)
    }
    if (!stop.aborted) stop.addEventListener('abort', drainCut, { once: true })
    let reports: GeneratorReport[]
    try {
      reports = await Promise.all(cut.live.map((i) => results[i] as Promise<GeneratorReport>))
    } finally {
      stop.removeEventListener('abort', drainCut)
    }
    const combined = combineReports(reports)
    // cut back to a checkpoint: what the clients got of updates published after it is not counted
    const report =
      cut.slices === undefined
        ? combined
        : {
            ...combined,
            delivered: (combined.deliveredBySlice ?? []).slice(0, cut.slices).reduce((a, b) => a + b, 0),
          }
    // wire mode: the server read its veth's counters in the same instant as its socket counters, so both
    // windows end on the same tick; a read from here came 12 ms or more after the edge, by when the
    // generator could already be closing its sockets (it reports once the first update past the end came)
    const { s1 } = cut
    const link = s0.link && s1.link ? linkDelta(s0.link, s1.link) : undefined
    const timeWait = last && this.wire && !watch.died ? await this.timeWaitAfterClients() : undefined
    let published = cut.published
    if (published === undefined) {
      const pub = await server.request<ServerReply>({
        type: 'published',
        fromMs: startMs,
        toMs: cut.closedMs,
      })
      if (pub.type !== 'published')
        throw new PbError('PB_ERR_SERVER', `server answered ${pub.type} to published`)
      published = pub.perStream
    }
    // a generator that died took its clients' figures with it: the window expects updates of the others only
    const ramp = this.ramp
    const all = cut.live.length === gens.length
    const subscribers =
      all || !ramp ? this.subscribers : sumStreams(cut.live.map((i) => ramp.subscribers[i] ?? []))
    const connected =
      all || !ramp ? this.connected : cut.live.reduce((n, i) => n + (ramp.connected[i] ?? 0), 0)
    const liveRamp = ramp && !all ? pickParts(ramp, cut.live) : ramp
    const partial = cut.reason !== undefined
    return toResult(spec, params, {
      s0,
      s1,
      report,
      published,
      subscribers,
      serverCore: this.serverCore === undefined ? undefined : cpuDelta(cores0, cut.cores1, this.serverCore),
      serverCpuCap: this.cap?.cores,
      warmup: warmup.fixed ? undefined : warmup,
      connected,
      failed: this.failed,
      failedWhy: this.failedWhy,
      ready: this.ready,
      partial,
      partialReason: cut.reason,
      partialWarning: died && cut.reason ? `the window was cut short: ${cut.reason}` : undefined,
      windowMs: cut.closedMs - startMs,
      hostBusyMs: host0 !== undefined && cut.host1 !== undefined ? cut.host1 - host0 : undefined,
      hostProbeNsPerOp: this.hostProbeNsPerOp,
      serverMemory: this.memory,
      link,
      timeWait,
      generators: liveRamp ? generatorFigures(liveRamp, reports) : undefined,
      window: { startMs, endMs: cut.closedMs },
      clock: spec.target !== undefined && this.clockStart ? await this.clock(this.clockStart) : undefined,
      shard:
        spec.target !== undefined
          ? {
              index: spec.shard?.index ?? 0,
              count: spec.shard?.count ?? 1,
              target: spec.target,
              firstClient: this.ramp?.parts[0]?.first ?? 0,
              clients: this.ramp?.parts.reduce((n, s) => n + s.count, 0) ?? this.connected,
            }
          : undefined,
    })
  }

  /**
   * Server checkpoints over a window, every SLICE_MS (load/delivery.ts): its counters on a tick boundary and what it
   * published up to it, so that a server that dies mid-window leaves the window up to the last one.
   * (Two IPC requests a second: a few tens of microseconds of the server's CPU, inside the window.)
   * None against a remote server, whose death this host cannot see.
   */
  private checkpoints(
    startMs: number,
    endMs: number,
  ): { last: () => Checkpoint | undefined; end: () => void } {
    if (this.spec.target !== undefined) return { last: () => undefined, end: () => {} }
    const ac = new AbortController()
    const signal = AbortSignal.any([ac.signal, this.stop])
    let last: Checkpoint | undefined
    void (async () => {
      // on the generators' slice boundaries, so that their count of what was delivered can be cut there
      for (let k = 1; ; k++) {
        const atMs = startMs + k * SLICE_MS
        if (atMs >= endMs) return
        await sleepUntil(atMs, signal)
        if (signal.aborted) return
        try {
          const c = await counters(this.server, 'counters', atMs)
          const pub = await this.server.request<ServerReply>({
            type: 'published',
            fromMs: startMs,
            toMs: atMs,
          })
          if (pub.type !== 'published' || ac.signal.aborted) return
          last = { atMs, counters: c, published: pub.perStream, cores: readCpuTimes(), host: hostBusyMs() }
        } catch {
          return
        }
      }
    })()
    return { last: () => last, end: () => ac.abort() }
  }

  /**
   * A child died in the window. The server: the window ends at its last checkpoint, the generators told
   * so. A generator: the others close the window now and the dead one's clients are not counted. Throws
   * the death (a PbError naming the process, how and when) when nothing of the window can be kept.
   */
  private async cutByDeath(
    died: Death,
    cp: Checkpoint | undefined,
    w: {
      startMs: number
      params: ScenarioParams
      stopAll: (m: GeneratorRequest, which?: number[]) => void
    },
  ): Promise<Cut> {
    const into = (ms: number) =>
      `${((ms - w.startMs) / 1000).toFixed(1)} s into the ${w.params.durationS} s window`
    const when = `${died.error.message}, ${into(died.atMs)}`
    if (died.child === this.server) {
      if (!cp) {
        w.stopAll({ type: 'stop' })
        throw new PbError(
          'PB_ERR_CHILD_DIED',
          `${when}, before its first checkpoint: nothing of the window is kept`,
        )
      }
      w.stopAll({ type: 'stop', endMs: cp.atMs, drainMs: DEATH_DRAIN_MS })
      return {
        s1: cp.counters,
        closedMs: cp.atMs,
        published: cp.published,
        cores1: cp.cores,
        host1: cp.host,
        live: [...this.gens.keys()],
        slices: Math.round((cp.atMs - w.startMs) / SLICE_MS),
        reason: `${when}: the window ends at the server's last checkpoint, ${into(cp.atMs)} (the latency figures include updates received until it died)`,
      }
    }
    const live = [...this.gens.keys()].filter((i) => this.gens[i]?.death() === undefined)
    if (live.length === 0)
      throw new PbError('PB_ERR_CHILD_DIED', `${when}: its clients' figures died with it`)
    const closedMs = nowMs() + INTERRUPT_CLOSE_MS
    w.stopAll({ type: 'stop', endMs: closedMs, drainMs: DEATH_DRAIN_MS }, live)
    const s1 = await counters(this.server, 'counters', closedMs)
    const lost = this.gens.length - live.length
    return {
      s1,
      closedMs,
      cores1: readCpuTimes(),
      host1: hostBusyMs(),
      live,
      reason: `${when}: the clients of ${lost} of ${this.gens.length} generator processes are not counted (the server's bytes and CPU include them until it died)`,
    }
  }

  /**
   * When the window opens: `earliest` for one run on one host; for a shard, at `--start-at` or else the
   * next SHARD_ALIGN_MS boundary of the server's clock past `earliest`, so that every shard opens the same
   * window. A start that is already past is an error naming the flag.
   */
  private windowStart(earliest: number): number {
    const { spec } = this
    if (spec.startAtMs !== undefined) {
      if (spec.startAtMs < earliest)
        throw new PbOptionError(
          '--start-at',
          `${new Date(spec.startAtMs).toISOString()} came before this shard was ready (${new Date(earliest).toISOString()}, after its warm-up): give a later time`,
        )
      return spec.startAtMs
    }
    if (spec.shard === undefined || spec.shard.count === 1) return earliest
    return Math.ceil(earliest / SHARD_ALIGN_MS) * SHARD_ALIGN_MS
  }

  /** The clock figures of a run against a target: the start estimate, another now, and what they say together. */
  private async clock(start: OffsetEstimate): Promise<Clock> {
    const target = this.spec.target as string
    const end = await estimateOffset(target).catch(() => undefined)
    const c = combineOffsets(start, end)
    const r3 = (n: number) => Math.round(n * 1000) / 1000
    return {
      source: isLoopbackHost(new URL(target).hostname)
        ? 'same-host'
        : this.spec.clockMode === 'synchronised'
          ? 'synchronised'
          : 'estimated',
      offsetMs: r3(c.offsetMs),
      uncertaintyMs: r3(c.uncertaintyMs),
      startOffsetMs: r3(c.startOffsetMs),
      ...(c.endOffsetMs !== undefined ? { endOffsetMs: r3(c.endOffsetMs) } : {}),
      roundTripMs: r3(c.roundTripMs),
      samples: c.samples,
      applied: this.spec.clockMode !== 'synchronised',
    }
  }

  /**
   * Wire mode, after the last window: the sockets in TIME_WAIT in each namespace once the generator has
   * exited (every client socket closed) and the server still runs. Waits at most 3 s for the exit.
   */
  private async timeWaitAfterClients(): Promise<{ server: number; client: number } | undefined> {
    if (!this.wire) return undefined
    await Promise.race([Promise.all(this.gens.map((g) => g.exited)), sleepUntil(nowMs() + 3000)])
    // the closing handshakes (FIN/ACK) of the last sockets cross the veth in well under this
    await sleepUntil(nowMs() + 100)
    return this.wire.timeWait()
  }

  async close(): Promise<void> {
    ;(this.spec.onPhase ?? (() => {}))('stop')
    this.watch.close()
    try {
      await Promise.all([...this.gens.map((g) => g.stop(3000)), this.server.stop(5000)])
    } finally {
      // the group goes once the server has left it (lib/cpu-cap.ts moves a straggler out first)
      try {
        await this.cap?.remove()
      } finally {
        this.cert?.remove()
        await this.wire?.remove()
      }
    }
  }
}

/**
 * What a run's connection count asks of this host, checked before anything starts (exit 2 naming the
 * clients field): the generator processes' slices, the source addresses past one address's share of the
 * port range (lean clients only), and the open-files limit each child must start under.
 */
export function planConnections(spec: RunSpec): {
  slice: Slice
  parts: Slice[]
  sources: SourcePlan
  serverNofile: number | undefined
  genNofile: number | undefined
} {
  const p = spec.params
  const field = spec.clientsField ?? '--clients'
  const client = spec.client ?? DEFAULT_CLIENT
  const slice = spec.shard
    ? sliceOf(p.clients, spec.shard.count, spec.shard.index)
    : { first: 0, count: p.clients }
  const parts = splitSlice(slice, spec.generators ?? 1)
  // every connection is a descriptor in the server and in the generator process holding it
  const limits = readNofile()
  const serverNofile =
    spec.target === undefined ? planNofile(nofileFor(p.clients), limits, field, 'server') : undefined
  const largest = Math.max(...parts.map((s) => s.count))
  const genNofile = planNofile(nofileFor(largest), limits, field, 'generator')
  const serverHost =
    spec.target !== undefined
      ? new URL(spec.target).hostname
      : spec.wire
        ? WIRE_SERVER_ADDR
        : (spec.host ?? '127.0.0.1')
  const sources = planSourceAddresses(slice.count, serverHost, undefined, field, slice.first)
  if (sources.addresses.length > 0 && client !== 'lean')
    throw new PbOptionError(
      field,
      `${p.clients} clients need ${sources.addresses.length} source addresses, and only lean clients spread over them (this run's client: ${client})`,
    )
  return { parts, sources, serverNofile, genNofile, slice }
}

/** A target must serve what this run measures, as it was asked: transport and what it publishes. */
function checkRemote(spec: RunSpec, ready: ReadyLine): void {
  if (ready.transport !== spec.transport)
    throw new PbOptionError('--transport', `${spec.target} serves ${ready.transport}, not ${spec.transport}`)
  const pub = ready.publishes
  if (pub === undefined) return
  const p = spec.params
  const ours: Record<string, string | number> = {
    workload: spec.workload ?? DEFAULT_WORKLOAD,
    seed: p.seed,
    symbols: p.symbols,
    tickHz: p.tickHz,
    updatesPerTick: p.updatesPerTick,
    payloadBytes: p.payloadBytes,
    writePolicy: p.writePolicy,
    ...(spec.workload === 'chat' ? { rooms: p.rooms } : {}),
  }
  for (const [key, value] of Object.entries(ours)) {
    const theirs = (pub as Record<string, string | number>)[key]
    if (theirs !== value)
      throw new PbOptionError(
        key === 'workload' ? '--workload' : flagName(key),
        `${spec.target} publishes with ${flagName(key)} ${theirs}, this run asks ${value}: give the server's value`,
      )
  }
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]' || host === '::1'
}

/** A warm-up slice: ten ticks at 10 Hz, enough CPU to tell 10% apart at the loads that matter. */
const WARMUP_SLICE_MS = 1000
/** Two slices whose server CPU per update differ by at most this share are steady. */
const STEADY_TOLERANCE = 0.1
/** The idle workload's clients stay this long past the server's end edge (a tick period after the window). */
const IDLE_DRAIN_MARGIN_MS = 100

/** After a death, the generators still running drain this long at most: the server may be gone. */
const DEATH_DRAIN_MS = 500

/** The server's counters at a checkpoint of a window, with what it published from the window's start. */
interface Checkpoint {
  atMs: number
  counters: CounterSnapshot
  published: number[]
  cores: Map<number, CpuTimes>
  host: number | undefined
}

/** Where a window ended: as planned, at an interrupt, or at a death; `reason` when cut short. */
interface Cut {
  s1: CounterSnapshot
  closedMs: number
  /** known already (a checkpoint's) */
  published?: number[] | undefined
  cores1: Map<number, CpuTimes>
  host1: number | undefined
  /** the generator processes whose reports count */
  live: number[]
  /** the window was cut back to this many slices of SLICE_MS: only their deliveries count */
  slices?: number | undefined
  reason: string | undefined
}

/** Per-stream counts summed over processes. */
function sumStreams(per: number[][]): number[] {
  const out: number[] = []
  for (const p of per) for (const [s, n] of p.entries()) out[s] = (out[s] ?? 0) + n
  return Array.from(out, (n) => n ?? 0)
}

/** The ramp of the generator processes in `live` only. */
function pickParts(ramp: GeneratorRamp, live: number[]): GeneratorRamp {
  const pick = <T>(a: T[]): T[] => live.map((i) => a[i] as T)
  return {
    ...ramp,
    parts: pick(ramp.parts),
    connected: pick(ramp.connected),
    idleRssBytes: pick(ramp.idleRssBytes),
    rampRssBytes: pick(ramp.rampRssBytes),
    subscribers: pick(ramp.subscribers),
  }
}

/** How far ahead of now a window starts after an adaptive warm-up. */
const WINDOW_LEAD_MS = 300

/** What the warm-up was: fixed, or until steady (then the slices' server us per expected update). */
export interface Warmup {
  fixed: boolean
  usedS: number
  steady: boolean
  sliceUsPerUpdate: number[]
}

/** What the generators' ramp left: their slices, connect time, memory, source addresses. */
export interface GeneratorRamp {
  parts: Slice[]
  /** the slowest process's ramp, ms (until every client was connected and subscribed) */
  connectMs: number
  sourceAddresses: number
  connected: number[]
  idleRssBytes: (number | undefined)[]
  rampRssBytes: (number | undefined)[]
  /** each process's connected clients per stream */
  subscribers: number[][]
}

type Connected = Extract<GeneratorMessage, { type: 'connected' }>

function sumConnected(all: Connected[]): Connected {
  const subscribers: number[] = []
  for (const m of all)
    for (const [s, n] of m.subscribers.entries()) subscribers[s] = (subscribers[s] ?? 0) + n
  return {
    type: 'connected',
    connected: all.reduce((n, m) => n + m.connected, 0),
    failed: all.reduce((n, m) => n + m.failed, 0),
    subscribers: Array.from(subscribers, (n) => n ?? 0),
    ms: Math.max(...all.map((m) => m.ms)),
    lastError: all.findLast((m) => m.lastError !== undefined)?.lastError,
  }
}

/** The generator figures of the results beside the merged report: per process, memory, ramp. */
function generatorFigures(ramp: GeneratorRamp, reports: GeneratorReport[]): GeneratorFigures {
  const idle = ramp.idleRssBytes
  const rss = ramp.rampRssBytes
  const connected = ramp.connected.reduce((a, b) => a + b, 0)
  let bytesPerConnection: number | undefined
  if (idle.every((b) => b !== undefined) && rss.every((b) => b !== undefined) && connected > 0) {
    const growth =
      (rss as number[]).reduce((a, b) => a + b, 0) - (idle as number[]).reduce((a, b) => a + b, 0)
    // below MIN_RSS_GROWTH the figure is the heap's slack, not the connections' (see memoryPerConnection)
    if (growth >= MIN_RSS_GROWTH) bytesPerConnection = Math.round(growth / connected)
  }
  return {
    count: ramp.parts.length,
    connectMs: Math.round(ramp.connectMs),
    sourceAddresses: ramp.sourceAddresses,
    bytesPerConnection,
    parts: ramp.parts.map((part, i) => ({
      clients: part.count,
      firstClient: part.first,
      report: reports[i] as GeneratorReport,
      idleRssBytes: idle[i],
      rampRssBytes: rss[i],
    })),
  }
}

/** Why `stop` was aborted, as the error to throw: a child's death (its reason) or an interrupt. */
const stopError = (stop: AbortSignal): Error =>
  stop.reason instanceof Error
    ? stop.reason
    : new PbError('PB_ERR_INTERRUPTED', `interrupted by ${interruptedBy(stop)} before the window opened`)

/** Runs one transport through one scenario and returns every metric of DESIGN.md for it. */
export async function runOne(spec: RunSpec): Promise<CompletedResult> {
  const session = await Session.open(spec)
  try {
    return await session.measure(spec.params, true)
  } finally {
    await session.close()
  }
}
