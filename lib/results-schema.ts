/**
 * The results file: the public contract of DESIGN.md ("Results file"), defined once here.
 * Every writer validates before it writes and every reader validates what it reads.
 * Fields may be added; the names DESIGN.md lists are never renamed.
 */
import * as v from 'valibot'
import { WRITE_POLICIES } from './params.ts'

const nonNeg = v.pipe(v.number(), v.minValue(0))
const count = v.pipe(v.number(), v.integer(), v.minValue(0))

export const EnvSchema = v.object({
  node: v.string(),
  cpuModel: v.string(),
  cores: count,
  os: v.string(),
  commit: v.string(),
  /** server and generator pinned to different cores with taskset */
  pinned: v.optional(v.boolean()),
  hostname: v.optional(v.string()),
  totalMemBytes: v.optional(count),
})

export const ParamsSchema = v.object({
  clients: count,
  tickHz: nonNeg,
  updatesPerTick: count,
  payloadBytes: count,
  pollIntervalMs: nonNeg,
  durationS: nonNeg,
  warmupS: nonNeg,
  maxWarmupS: v.optional(nonNeg),
  writePolicy: v.picklist(WRITE_POLICIES),
  seed: v.optional(count),
  symbols: v.optional(count),
  rttMs: v.optional(nonNeg),
  /** the chat workload: rooms, and messages a second each client sends */
  rooms: v.optional(count),
  sendHz: v.optional(nonNeg),
})

/** Latency of delivered updates in ms (receive instant minus publish `ts`, same clock), from an HDR histogram at 1 us. */
export const LatencySchema = v.object({
  p50: nonNeg,
  p90: nonNeg,
  p99: nonNeg,
  p999: nonNeg,
  max: nonNeg,
  mean: nonNeg,
  count: count,
  min: v.optional(nonNeg),
  stddev: v.optional(nonNeg),
  /**
   * the HDR percentile distribution: latency at percentiles evenly spaced on a log scale of 1 / (1 - p)
   * (0, 43.8, 68.4, 82.2, 90, ... 99.99: four points a decade), then 100 (the max); the plot latency
   * people read first
   */
  distribution: v.optional(v.array(v.object({ percentile: nonNeg, ms: nonNeg }))),
  /**
   * the HDR histogram itself (hdr-histogram-js `encodeIntoCompressedBase64`, values in us): what shards and
   * generator processes are merged from, exactly (lib/latency.ts `mergeEncoded`), never by averaging
   */
  hdr: v.optional(v.string()),
})

/**
 * How a result's latencies relate the client's clock to the server's (load/clock-offset.ts): `same-host`
 * (one host, one clock: the offset is measured and should be ~0), `estimated` (an NTP-style exchange with
 * the server at the start and the end of the run; receive instants are corrected by the offset) or
 * `synchronised` (the user vouches for chrony or PTP: no correction, the offset is still measured).
 * `uncertaintyMs` is half the best exchange's round trip plus the drift between start and end: a latency
 * below it is not reported (`latencyBelowUncertainty`).
 */
export const ClockSchema = v.object({
  source: v.picklist(['same-host', 'estimated', 'synchronised']),
  /** server clock minus client clock, ms (the mean of the start and end estimates) */
  offsetMs: v.number(),
  uncertaintyMs: nonNeg,
  startOffsetMs: v.number(),
  endOffsetMs: v.optional(v.number()),
  /** round trip of the best exchange, ms */
  roundTripMs: nonNeg,
  samples: count,
  /** the offset was added to every receive instant */
  applied: v.boolean(),
  latencyBelowUncertainty: v.optional(v.boolean()),
})
export type Clock = v.InferOutput<typeof ClockSchema>

/**
 * The warning a shard's result carries (load/to-result.ts) and a merge drops (report/merge-shards.ts): a
 * shard's server-side figures (bytes, server CPU, requests) are the server's over the window, every
 * shard's clients included, while its delivered count is its own, so per-update figures only hold merged.
 */
export const SHARD_SERVER_FIGURES =
  "one shard of several: the server's bytes and CPU cover every shard's clients, so the per-update figures here are too high; merge the shards (pushbench merge) for them"

/** One generator process's share of a run (`--generators N`), or one shard's (`pushbench merge`). */
export const GeneratorShareSchema = v.object({
  clients: count,
  /** the first client index it owned */
  firstClient: v.optional(count),
  cpuPercent: nonNeg,
  eventLoopUtilization: nonNeg,
  usPerDeliveredUpdate: v.optional(nonNeg),
  saturated: v.boolean(),
  busy: v.optional(v.boolean()),
  delivered: count,
  /** its RSS after a full GC, before its clients and at the end of the ramp */
  idleRssBytes: v.optional(count),
  rampRssBytes: v.optional(count),
})

/** Above this share of one core taken by other processes (generator.otherHostCpuPercent), a window is disturbed. */
export const OTHER_CPU_LIMIT_PERCENT = 15

/** Below this share of the updates offered (updates.publishedRatio), the server did not keep its tick rate. */
export const MIN_PUBLISHED_RATIO = 0.99

/**
 * The freshness model's figures for the run's params (load/model/freshness.ts): what the round-trip time
 * adds to the mean latency (short polling: with its interval's wait), and the round trips, and ms, from a
 * new connection's first packet to its first update.
 */
export const LatencyModelSchema = v.object({
  rttMs: nonNeg,
  addedMeanMs: nonNeg,
  setupRoundTrips: count,
  setupMs: nonNeg,
})
export type LatencyModel = v.InferOutput<typeof LatencyModelSchema>

/**
 * What a held connection costs with nothing published (the `idle` workload): bytes both ways and server
 * CPU per connection per minute, with the intervals that set them (SSE heartbeat, WebSocket ping, long-poll
 * hold, short-poll interval).
 */
export const IdleSchema = v.object({
  bytesPerConnectionPerMinute: nonNeg,
  clientToServerPerConnectionPerMinute: nonNeg,
  serverToClientPerConnectionPerMinute: nonNeg,
  serverCpuMsPerConnectionPerMinute: nonNeg,
  heartbeatMs: v.optional(nonNeg),
  pingIntervalMs: v.optional(nonNeg),
  longPollTimeoutMs: v.optional(nonNeg),
  pollIntervalMs: nonNeg,
})
export type IdleCost = v.InferOutput<typeof IdleSchema>

export const UpdatesSchema = v.object({
  /** updates whose publish instant fell in the window */
  published: count,
  /** what the scenario asked the server to publish in the window (rate x window x streams) */
  offered: v.optional(nonNeg),
  /** published / offered, one tick allowed for the window's edges: below 0.99, the server ticked late */
  publishedRatio: v.optional(nonNeg),
  /** published x clients: what every client should have seen */
  expected: v.optional(count),
  delivered: count,
  missed: count,
  duplicates: count,
  outOfOrder: count,
  /**
   * clients that resumed older than the server's ring buffer were told so (a gap signal, per transport:
   * README, resume contract): the signals, and the seqs they declared lost (in `missed` when in the
   * window); resumeRefused: resumes past the server's newest seq, refused, the client started afresh.
   * Written only when one of them is not 0.
   */
  gaps: v.optional(v.object({ signals: count, seqs: count, resumeRefused: count })),
})

export const BytesSchema = v.object({
  /** application bytes read by the server's sockets in the window */
  clientToServer: count,
  /** application bytes written by the server's sockets in the window */
  serverToClient: count,
  /** (clientToServer + serverToClient) / delivered */
  perDeliveredUpdate: nonNeg,
  /** the least bytes per delivered update the transport must cost, from the params (load/model/, one file per transport) */
  modelPerUpdate: nonNeg,
  perClientPerSecond: v.optional(nonNeg),
  serverToClientPerDeliveredUpdate: v.optional(nonNeg),
  /** the generator's own socket bytes over the same window: an independent tally of the server's counters */
  clientTally: v.optional(v.object({ read: count, written: count })),
  /**
   * wire mode (`--wire`): the veth's interface counters over the window, each way: bytes (TCP payload plus
   * 66 B of Ethernet, IP and TCP headers per packet, ACKs and handshakes included) and packets
   */
  link: v.optional(
    v.object({
      clientToServer: count,
      serverToClient: count,
      packetsClientToServer: count,
      packetsServerToClient: count,
    }),
  ),
})

export const ServerCpuSchema = v.object({
  userMs: nonNeg,
  systemMs: nonNeg,
  percentOfCore: nonNeg,
  usPerDeliveredUpdate: nonNeg,
  eventLoopUtilization: v.optional(nonNeg),
  /**
   * the server's core over the window, from /proc/stat (when pinned), % of that core: softirq (on
   * loopback, TCP receive work runs there and is charged to no process), system time, and all busy time
   */
  softirqPercent: v.optional(nonNeg),
  systemPercentOfCore: v.optional(nonNeg),
  corePercentBusy: v.optional(nonNeg),
  /** the CPU quota the server ran under, cores (`--server-cpu`) */
  capCores: v.optional(nonNeg),
})

export const GeneratorSchema = v.object({
  cpuPercent: nonNeg,
  /** the generator's user and system CPU over the window, ms (system: reading its sockets) */
  userMs: v.optional(nonNeg),
  systemMs: v.optional(nonNeg),
  eventLoopUtilization: nonNeg,
  saturated: v.boolean(),
  /**
   * busy enough that its own queueing inflates the latency it measures (over half a core, or its event
   * loop over half busy), though not saturated: the latency is an upper bound
   */
  busy: v.optional(v.boolean()),
  /** generator CPU (user + system) per delivered update, us: what the instrument costs */
  usPerDeliveredUpdate: v.optional(nonNeg),
  /** generator us per delivered update / server us per delivered update: below 1, the instrument costs less */
  costRatio: v.optional(nonNeg),
  /** processes whose CPU the figures above are: 1, or with browser clients 1 + Chromium's */
  processes: v.optional(count),
  /**
   * browser clients: the pages' clock minus the generator's, ms (largest seen), and the uncertainty of that
   * reading; both clocks are the host's, so it should be ~0
   */
  clockOffsetMs: v.optional(v.number()),
  clockUncertaintyMs: v.optional(nonNeg),
  /** browser clients: the WebSocket close codes the pages saw during the run, with how often */
  closeCodes: v.optional(v.record(v.string(), count)),
  /** generator processes the clients were split over (`--generators N`); absent: 1 */
  generators: v.optional(count),
  /** each generator process's share (more than one) */
  perGenerator: v.optional(v.array(GeneratorShareSchema)),
  /** the generator's memory per connection: (RSS after the ramp - RSS before it, both after a full GC) / clients */
  bytesPerConnection: v.optional(nonNeg),
  /** the connect ramp: how long, how many source addresses the client sockets were spread over */
  connectMs: v.optional(nonNeg),
  sourceAddresses: v.optional(count),
  /** lean clients: updates parsed in full and checked against the byte scan, and updates found corrupt */
  verifiedUpdates: v.optional(count),
  corruptUpdates: v.optional(count),
  /** CPU other processes on the host took during the window, % of one core (a disturbed run shows here) */
  otherHostCpuPercent: v.optional(nonNeg),
})

/**
 * A transport's registered name (lib/transports.ts). Not a fixed list: a file measured with a plugin
 * transport, or by a newer suite, still loads; the CLIs check names against the registry at the edge.
 */
/**
 * The chat workload's figures (lib/workloads.ts `chat`): messages sent in the window (by send instant),
 * what the server took and refused of them, messages delivered (the same as updates.delivered), how many
 * recipients a message had (expected deliveries / published), the sender's round trip (send to its own
 * message seen, ms) and the model's upstream bytes per sent message (load/model/chat.ts).
 */
export const ChatSchema = v.object({
  rooms: count,
  sendHz: nonNeg,
  sent: count,
  accepted: count,
  refused: count,
  delivered: count,
  recipientsPerMessage: nonNeg,
  senderRttMs: v.object({
    p50: nonNeg,
    p90: nonNeg,
    p99: nonNeg,
    p999: nonNeg,
    max: nonNeg,
    mean: nonNeg,
    count: count,
  }),
  modelUpstreamPerSent: v.object({ clientToServer: nonNeg, serverToClient: nonNeg }),
  /** sends that waited behind a POST in flight; sends that failed (connection down, queue full) */
  queued: v.optional(count),
  failed: v.optional(count),
})
export type ChatFigures = v.InferOutput<typeof ChatSchema>

export const TransportSchema = v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]{0,31}$/))

/** What the server published and the clients had to receive (lib/workloads.ts); absent in older files: `ticker`. */
export const WorkloadSchema = v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]{0,31}$/))

/** Which client measured: `library` (ws, undici, eventsource-parser), later `lean` and `browser`; absent: `library`. */
export const ClientKindSchema = v.picklist(['lean', 'library', 'browser'])

export const CompletedResultSchema = v.object({
  state: v.optional(v.picklist(['completed', 'partial'])),
  /** why a `partial` window was cut short: `interrupted by SIGINT`, or which process died, how and when */
  partialReason: v.optional(v.string()),
  transport: TransportSchema,
  workload: v.optional(WorkloadSchema),
  client: v.optional(ClientKindSchema),
  /** which server ran: the suite's own, or the bare baseline it is held against */
  server: v.optional(v.picklist(['pushbench', 'baseline'])),
  /** wire mode (`--wire`): server and generator in two namespaces joined by a veth pair; `linkMbit`: its tbf cap */
  wire: v.optional(v.object({ linkMbit: v.optional(nonNeg) })),
  /** `--tls`: https and wss with a self-signed certificate (absent: plain http and ws); bytes then count TLS records */
  tls: v.optional(v.boolean()),
  latencyMs: LatencySchema,
  /** absent in files written before the model was carried */
  latencyModel: v.optional(LatencyModelSchema),
  /** the idle workload's figures */
  idle: v.optional(IdleSchema),
  /** the chat workload's figures */
  chat: v.optional(ChatSchema),
  /** short polling: how late the poll schedule ran (coordinated omission), ms */
  scheduleLagMs: v.optional(LatencySchema),
  updates: UpdatesSchema,
  bytes: BytesSchema,
  serverCpu: ServerCpuSchema,
  serverMemory: v.object({
    rssMaxBytes: count,
    /** the server's RSS after a full GC with no client connected (its idle baseline) */
    idleRssBytes: v.optional(count),
    /** the server's RSS after a full GC at the end of the connect ramp */
    rampRssBytes: v.optional(count),
    /** (rampRssBytes - idleRssBytes) / connections held at the end of the ramp: what a connection costs */
    bytesPerConnection: v.optional(nonNeg),
  }),
  requests: count,
  errors: count,
  generator: GeneratorSchema,
  connections: v.optional(
    v.object({
      opened: count,
      reconnects: count,
      slowConsumerDisconnects: count,
      heldRequestsMax: v.optional(count),
      /**
       * connections the server turned away as it accepted them: past what its open-files limit holds (less a
       * reserve for itself), or an error from accept (EMFILE, ENFILE); servers/descriptors.ts. Absent in
       * files from servers that did not count them
       */
      acceptErrors: v.optional(count),
      /** what the server skipped for want of a file descriptor (an RSS sample, a counters request); absent as above */
      fdExhausted: v.optional(count),
      /** wire mode: TCP sockets in TIME_WAIT in each namespace once the generator exited (server still up) */
      timeWait: v.optional(v.object({ server: count, client: count })),
    }),
  ),
  /** delivered updates a second over the window, all clients */
  deliveredPerSecond: v.optional(nonNeg),
  windowMs: v.optional(nonNeg),
  /**
   * the warm-up until steady (params.maxWarmupS): how long it took, whether two consecutive slices agreed
   * within 10%, and the server's CPU per expected update in each slice, us (NaN-free: 0 when none expected)
   */
  warmup: v.optional(v.object({ usedS: nonNeg, steady: v.boolean(), sliceUsPerUpdate: v.array(v.number()) })),
  /** ns per op of load/host-probe.ts, timed just before the run: how fast the host was then */
  hostProbeNsPerOp: v.optional(nonNeg),
  /** the window's edges, epoch ms on the server's clock: shards of one run must share them */
  window: v.optional(v.object({ startMs: nonNeg, endMs: nonNeg })),
  /** client and server clocks (load/clock-offset.ts); absent in older files: one host */
  clock: v.optional(ClockSchema),
  /** a shard's result (`run --shard i/n --target URL`): which slice of the clients it ran, against what */
  shard: v.optional(
    v.object({ index: count, count: count, target: v.string(), firstClient: count, clients: count }),
  ),
  /** a merged result (`pushbench merge`): each shard's file, environment, generator and clock */
  shards: v.optional(
    v.array(
      v.object({
        file: v.string(),
        index: count,
        env: EnvSchema,
        generator: GeneratorShareSchema,
        clock: v.optional(ClockSchema),
      }),
    ),
  ),
  warnings: v.optional(v.array(v.string())),
})

export const ErroredResultSchema = v.object({
  state: v.literal('errored'),
  transport: TransportSchema,
  workload: v.optional(WorkloadSchema),
  client: v.optional(ClientKindSchema),
  server: v.optional(v.picklist(['pushbench', 'baseline'])),
  tls: v.optional(v.boolean()),
  error: v.string(),
})

export const RunResultSchema = v.union([CompletedResultSchema, ErroredResultSchema])

/** One step of a capacity search: the offered rate and what came of it. */
export const CapacityStepSchema = v.object({
  offeredPerSecond: nonNeg,
  deliveredPerSecond: nonNeg,
  /** delivered / (published x clients) */
  deliveryRatio: nonNeg,
  /** published / offered updates (one tick allowed for the window's edges): below 1, the server ticked late */
  publishedRatio: v.optional(nonNeg),
  latencyP99Ms: nonNeg,
  serverCpuPercent: nonNeg,
  bytesPerUpdate: nonNeg,
  generatorSaturated: v.boolean(),
  /** the generator's own CPU, % of its core: beside serverCpuPercent it says which process set the limit */
  generatorCpuPercent: v.optional(nonNeg),
  /** server CPU microseconds per delivered update at this step */
  serverUsPerDeliveredUpdate: v.optional(nonNeg),
  /** generator CPU microseconds per delivered update at this step */
  generatorUsPerDeliveredUpdate: v.optional(nonNeg),
  /** softirq on the server's core, % of it (loopback TCP receive work, charged to no process) */
  softirqPercent: v.optional(nonNeg),
  passed: v.boolean(),
})

export const CapacitySchema = v.object({
  transport: TransportSchema,
  server: v.optional(v.picklist(['pushbench', 'baseline'])),
  /** what was stepped: updates/s pushed (push transports) or polls/s (short polling) */
  unit: v.picklist(['updates/s', 'polls/s', 'requests/s']),
  clients: count,
  limits: v.object({ minDeliveryRatio: nonNeg, maxP99Ms: nonNeg }),
  maxSustainedPerSecond: nonNeg,
  /** delivered updates/s (all clients) at the highest rate that passed */
  maxSustainedDeliveredPerSecond: v.optional(nonNeg),
  steps: v.array(CapacityStepSchema),
  stoppedBecause: v.string(),
  /**
   * which process was the busier at the step that ended the search: 'generator' means the maximum is
   * the generator's limit and only a lower bound for the server
   */
  limitedBy: v.optional(v.picklist(['server', 'generator', 'none'])),
  /** updates/s the server's CPU cost per delivered update allows on one core (1e6 / us per update) at the highest passed step, per client */
  serverCeilingPerSecond: v.optional(nonNeg),
  /** what doubled at each step: updates per tick (`batch`, absent in older files) or ticks a second (`rate`) */
  step: v.optional(v.picklist(['batch', 'rate'])),
  /** the CPU quota the server ran under during the search, cores (`capacity.serverCpu`) */
  serverCpuCores: v.optional(nonNeg),
  /** the client kind that measured */
  client: v.optional(ClientKindSchema),
  /** measured over TLS (`--tls`) */
  tls: v.optional(v.boolean()),
})

export const AutocannonSchema = v.object({
  server: v.optional(v.picklist(['pushbench', 'baseline'])),
  /** measured over TLS (`--tls`): https, autocannon trusting the run's certificate */
  tls: v.optional(v.boolean()),
  path: v.string(),
  connections: count,
  durationS: nonNeg,
  requestsPerSecond: nonNeg,
  latencyMs: v.object({ p50: nonNeg, p99: nonNeg, max: nonNeg, mean: nonNeg }),
  bytesReadPerSecond: nonNeg,
  non2xx: count,
  errors: count,
  serverCpuPercent: v.optional(nonNeg),
  generatorCpuPercent: v.optional(nonNeg),
  /** 200 answers (carrying updates) and 204 answers (nothing newer) */
  answersWithData: v.optional(count),
  answersEmpty: v.optional(count),
  /** ns per op of load/host-probe.ts, timed just before the run */
  hostProbeNsPerOp: v.optional(nonNeg),
  /** interrupted: autocannon was stopped early; `durationS` is what it ran */
  partial: v.optional(v.boolean()),
})

const BytesPair = v.object({ clientToServer: nonNeg, serverToClient: nonNeg })
const MsSummarySchema = v.object({
  count: count,
  p50: nonNeg,
  p90: nonNeg,
  max: nonNeg,
  mean: nonNeg,
  min: nonNeg,
})
const LinkSchema = v.object({
  clientToServer: nonNeg,
  serverToClient: nonNeg,
  packetsClientToServer: nonNeg,
  packetsServerToClient: nonNeg,
})
const TimeWaitSchema = v.object({ client: count, server: count })
const FirstFin = v.picklist(['client', 'server', 'mixed'])

/** Short polling's K polls on one keep-alive connection, or on K connections without keep-alive. */
const PollModeSchema = v.object({
  connections: count,
  polls: count,
  errors: count,
  pollMs: MsSummarySchema,
  connectPollMs: MsSummarySchema,
  reusedPollMs: MsSummarySchema,
  perPoll: BytesPair,
  close: BytesPair,
  totalMs: nonNeg,
  total: BytesPair,
  firstFin: FirstFin,
  timeWait: TimeWaitSchema,
  link: v.optional(LinkSchema),
})

/**
 * One transport's connection lifecycle (load/lifecycle-probe.ts): connections taken one after another from
 * connect to first update (resuming from a held seq) to close; bytes at the TCP payload level (TLS records
 * included), means per completed connection.
 */
export const LifecycleRowSchema = v.object({
  transport: TransportSchema,
  tls: v.boolean(),
  rttMs: nonNeg,
  wire: v.optional(v.object({ linkMbit: v.optional(nonNeg) })),
  model: v.object({
    setupRoundTrips: count,
    firstUpdateMs: nonNeg,
    closeRoundTrips: count,
    closeMs: nonNeg,
  }),
  connections: count,
  completed: count,
  errors: count,
  firstUpdateMs: MsSummarySchema,
  closeMs: MsSummarySchema,
  setup: BytesPair,
  setupUpdates: nonNeg,
  setupOneUpdate: v.object({ clientToServer: nonNeg, serverToClient: nonNeg, connections: count }),
  close: BytesPair,
  closeNoUpdate: v.object({ clientToServer: nonNeg, serverToClient: nonNeg, connections: count }),
  total: BytesPair,
  firstFin: FirstFin,
  timeWait: TimeWaitSchema,
  /** wire mode: link bytes and packets per connection over its whole life */
  link: v.optional(LinkSchema),
  shortPoll: v.optional(v.object({ keepAlive: PollModeSchema, noKeepAlive: PollModeSchema })),
  bytesAre: v.picklist(['tcp-payload']),
  errorMessages: v.array(v.string()),
  pollsPerConnection: count,
})
export type LifecycleRow = v.InferOutput<typeof LifecycleRowSchema>

const MsPercentiles = v.object({ count: count, p50: nonNeg, p99: nonNeg, max: nonNeg })

/**
 * One fault of one transport (load/fault-run.ts): what was broken, how the reconnecting clients came back,
 * and what they were handed against what was published (missed and duplicated exact, from the seqs).
 * `ok`: the fault's own test held (restart, storm: every client back, nothing missed or duplicated;
 * restart-gap: every client back, no duplicate, every lost seq declared by a gap signal; slow-consumers: the latency bound held,
 * the healthy missed nothing, a push server cut slow consumers; kill: noticed within 10 s, the message
 * names the process and the signal).
 */
export const FaultRowSchema = v.object({
  kind: v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]{0,31}$/)),
  transport: TransportSchema,
  clients: count,
  ok: v.boolean(),
  /** after the fault: clients with a connection up again, ms from the fault to it, and to noticing the drop */
  back: v.optional(
    v.object({
      back: count,
      backMs: MsPercentiles,
      noticedMs: MsPercentiles,
      /** from the fault to the last client back (absent: not every client came back in time) */
      allBackMs: v.optional(nonNeg),
    }),
  ),
  /** summed over the (healthy) clients, each from the seq it started after to the newest published */
  updates: v.optional(
    v.object({
      expected: count,
      delivered: count,
      missed: count,
      duplicated: count,
      /** the server's gap signals, the seqs they declared lost (in `missed` too), refused resumes */
      gapSignals: v.optional(count),
      gapSeqs: v.optional(count),
      resumeRefused: v.optional(count),
      other: count,
    }),
  ),
  /** connection attempts that failed after the fault (refused, reset, an HTTP error) */
  connectErrors: v.optional(count),
  restart: v.optional(
    v.object({
      signal: v.string(),
      /** from the signal to the old server's exit, ms */
      stopMs: nonNeg,
      /** from the signal to the new server's ready line, ms */
      downMs: nonNeg,
      /** the ring both servers kept (absent: sized from the payload) */
      ringSize: v.optional(count),
      lastSeqBefore: count,
    }),
  ),
  storm: v.optional(
    v.object({
      dropped: count,
      cpuBeforeCores: nonNeg,
      /** the highest 100 ms slice of server CPU from the drop until a second after the last client is back */
      cpuPeakCores: nonNeg,
      rssBeforeBytes: count,
      rssPeakBytes: count,
    }),
  ),
  slow: v.optional(
    v.object({
      clients: count,
      /** the slow consumers' read rates, in turn (0: never reads) */
      readBytesPerSecond: v.array(nonNeg),
      /** the server's slow-consumer disconnects while they were on */
      disconnects: count,
      /** from their connect to the server having cut them all, ms (sampled every 250 ms; absent: it did not) */
      allCutMs: v.optional(nonNeg),
      rssBeforeBytes: count,
      rssGrowthBytes: count,
      maxBufferedBytes: count,
      /** the healthy clients' latency, publish to receipt, ms: without the slow consumers, and with them */
      baseline: MsPercentiles,
      withSlow: MsPercentiles,
      boundMs: nonNeg,
      held: v.boolean(),
      bound: v.string(),
    }),
  ),
  kill: v.optional(
    v.object({
      process: v.string(),
      signal: v.string(),
      /** from the kill to the run noticing (absent: it did not) */
      noticedMs: v.optional(nonNeg),
      /** from the kill to every child stopped and the row made */
      endedMs: nonNeg,
      message: v.string(),
      /** what was measured and kept (the partial result) */
      kept: v.string(),
      keptUpdates: count,
    }),
  ),
  errors: v.array(v.string()),
})
export type FaultRow = v.InferOutput<typeof FaultRowSchema>

export const ScenarioSchema = v.object({
  name: v.string(),
  params: ParamsSchema,
  results: v.array(RunResultSchema),
  /** the connection lifecycle, per transport (a scenario with `lifecycle` in its config) */
  lifecycle: v.optional(v.array(LifecycleRowSchema)),
  /** fault runs, per kind and transport (a scenario with `faults` in its config) */
  faults: v.optional(v.array(FaultRowSchema)),
  capacity: v.optional(v.array(CapacitySchema)),
  autocannon: v.optional(AutocannonSchema),
  /** the same autocannon run against the bare baseline server */
  autocannonBaseline: v.optional(AutocannonSchema),
})

/** One micro-benchmark case (tinybench), per message. */
export const MicroCaseSchema = v.object({
  group: v.string(),
  name: v.string(),
  payloadBytes: v.optional(count),
  opsPerSecond: nonNeg,
  meanNs: nonNeg,
  p99Ns: nonNeg,
  /** relative margin of error, percent */
  rme: nonNeg,
  samples: count,
  /** fan-out cases: connections one op serves */
  recipients: v.optional(count),
  /** poll cases: updates in the batch one op builds or parses */
  updatesPerOp: v.optional(count),
  /** meanNs divided by the delivered messages one op stands for (recipients, or updates per batch) */
  meanNsPerMessage: v.optional(nonNeg),
  /** ops timed together per sample (fast ops are batched so the timer does not dominate; p99 is of batch means) */
  batch: v.optional(count),
})

export const ResultsFileSchema = v.object({
  schemaVersion: v.literal(1),
  runId: v.string(),
  startedAt: v.pipe(v.string(), v.isoTimestamp()),
  finishedAt: v.optional(v.pipe(v.string(), v.isoTimestamp())),
  env: EnvSchema,
  profile: v.string(),
  /** true when the run was interrupted, a child died, or (while a bench runs) it is still in progress: what was measured is kept */
  partial: v.optional(v.boolean()),
  /** why the file is partial: `in progress: 2 of 5 runs done`, `interrupted by SIGTERM during ...` */
  partialReason: v.optional(v.string()),
  scenarios: v.array(ScenarioSchema),
  micro: v.optional(v.array(MicroCaseSchema)),
})

export type Env = v.InferOutput<typeof EnvSchema>
export type Params = v.InferOutput<typeof ParamsSchema>
export type Latency = v.InferOutput<typeof LatencySchema>
export type CompletedResult = v.InferOutput<typeof CompletedResultSchema>
export type ErroredResult = v.InferOutput<typeof ErroredResultSchema>
export type RunResult = v.InferOutput<typeof RunResultSchema>
export type Capacity = v.InferOutput<typeof CapacitySchema>
export type CapacityStep = v.InferOutput<typeof CapacityStepSchema>
export type AutocannonResult = v.InferOutput<typeof AutocannonSchema>
export type Scenario = v.InferOutput<typeof ScenarioSchema>
export type MicroCase = v.InferOutput<typeof MicroCaseSchema>
export type ResultsFile = v.InferOutput<typeof ResultsFileSchema>

export function isCompleted(r: RunResult): r is CompletedResult {
  return r.state !== 'errored'
}
