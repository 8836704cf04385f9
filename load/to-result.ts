/**
 * The conversion of one measured window into a results entry (DESIGN.md's metrics): server counters
 * diffed over the window, what the generator reported, what the server published, and the byte model.
 * Pure: everything it needs comes in `Measured`, so it is tested without a run.
 */
import { countAtZero, decodeHistogram } from '../lib/latency.ts'
import type { LinkCounters } from '../lib/netns.ts'
import type { ScenarioParams } from '../lib/params.ts'
import type { CpuDelta } from '../lib/proc-stat.ts'
import {
  type ChatFigures,
  type Clock,
  type CompletedResult,
  type IdleCost,
  type LatencyModel,
  MIN_PUBLISHED_RATIO,
  OTHER_CPU_LIMIT_PERCENT,
  SHARD_SERVER_FIGURES,
} from '../lib/results-schema.ts'
import { transport as transportEntry } from '../lib/transports.ts'
import { DEFAULT_WORKLOAD, isTwoWay, publishesNothing } from '../lib/workloads.ts'
import type { CounterSnapshot } from '../servers/counters.ts'
import type { ReadyLine } from '../servers/ipc.ts'
import type { GeneratorReport } from './generator-ipc.ts'
import { chatModel, recipientsPerMessage } from './model/chat.ts'
import { setupRoundTrips } from './model/freshness.ts'
import type { ModelBytes } from './model/types.ts'
import type { RunSpec, ServerMemory } from './session.ts'

/** Above this a generator measures itself, not the server (DESIGN.md, "Generator health"). */
export const SATURATION = { cpuPercent: 90, eventLoopUtilization: 0.9 } as const

/**
 * Above this (and below saturation) a generator still keeps up, but a received update waits behind the
 * generator's other work often enough to add to its latency: at half a core busy, a single queue's mean
 * wait is already half a service time. The latency of such a row is an upper bound.
 */
export const BUSY = { cpuPercent: 50, eventLoopUtilization: 0.5 } as const

/** Past this, a page's clock is too far from the generator's for its latencies to stand unqualified. */
export const CLOCK_OFFSET_LIMIT_MS = 1

export interface Measured {
  s0: CounterSnapshot
  s1: CounterSnapshot
  report: GeneratorReport
  /** messages published in the window, per stream */
  published: number[]
  /** connected clients per stream */
  subscribers: number[]
  connected: number
  /** clients that never connected, or whose first request the server never answered */
  failed: number
  failedWhy?: string | undefined
  ready: ReadyLine
  partial: boolean
  /** why the window was cut short (the results' partialReason) */
  partialReason?: string | undefined
  /** the warning a cut window carries, when not an interrupt's */
  partialWarning?: string | undefined
  /** the server core's /proc/stat times over the window (when pinned): softirq is charged to no process */
  serverCore?: CpuDelta | undefined
  /** the server's CPU quota, cores, when it ran under one */
  serverCpuCap?: number | undefined
  /** the warm-up until steady, when the run used one (load/session.ts) */
  warmup?: { usedS: number; steady: boolean; sliceUsPerUpdate: number[] } | undefined
  /** publish-instant window, ms */
  windowMs: number
  /** CPU the whole host was busy over the window (all processes, all cores), when known */
  hostBusyMs: number | undefined
  hostProbeNsPerOp: number
  /** the server's RSS idle and at the end of the connect ramp, after a full GC (load/session.ts) */
  serverMemory?: ServerMemory | undefined
  /** wire mode: the veth's bytes and packets each way over the window (lib/netns.ts) */
  link?: LinkCounters | undefined
  /** wire mode: sockets in TIME_WAIT in each namespace after the clients stopped */
  timeWait?: { server: number; client: number } | undefined
  /** the generator processes: their ramp, memory and each one's report (load/session.ts) */
  generators?: GeneratorFigures | undefined
  /** the window's edges, epoch ms (on the server's clock) */
  window?: { startMs: number; endMs: number } | undefined
  /** against a target: the clocks (load/clock-offset.ts) */
  clock?: Clock | undefined
  /** against a target: which slice of the clients this run held */
  shard?: CompletedResult['shard']
}

/** What the run knows of its generator processes beside their merged report. */
export interface GeneratorFigures {
  count: number
  connectMs: number
  sourceAddresses: number
  bytesPerConnection: number | undefined
  parts: {
    clients: number
    firstClient: number
    report: GeneratorReport
    idleRssBytes: number | undefined
    rampRssBytes: number | undefined
  }[]
}

const isSaturated = (g: { cpuPercent: number; eventLoopUtilization: number }): boolean =>
  g.cpuPercent > SATURATION.cpuPercent || g.eventLoopUtilization > SATURATION.eventLoopUtilization
const isBusy = (g: { cpuPercent: number; eventLoopUtilization: number }): boolean =>
  !isSaturated(g) && (g.cpuPercent > BUSY.cpuPercent || g.eventLoopUtilization > BUSY.eventLoopUtilization)

/** The results' generator fields from the processes' figures: one share per process when there are several. */
function generatorShares(f: GeneratorFigures) {
  return {
    generators: f.count,
    connectMs: f.connectMs,
    sourceAddresses: f.sourceAddresses,
    ...(f.bytesPerConnection !== undefined ? { bytesPerConnection: f.bytesPerConnection } : {}),
    ...(f.count > 1
      ? {
          perGenerator: f.parts.map((p) => {
            const us = p.report.cpuUserUs + p.report.cpuSystemUs
            return {
              clients: p.clients,
              firstClient: p.firstClient,
              cpuPercent: r2(p.report.cpuPercent),
              eventLoopUtilization: r3(p.report.eventLoopUtilization),
              ...(p.report.delivered > 0 ? { usPerDeliveredUpdate: r3(us / p.report.delivered) } : {}),
              saturated: isSaturated(p.report),
              busy: isBusy(p.report),
              delivered: p.report.delivered,
              ...(p.idleRssBytes !== undefined ? { idleRssBytes: p.idleRssBytes } : {}),
              ...(p.rampRssBytes !== undefined ? { rampRssBytes: p.rampRssBytes } : {}),
            }
          }),
        }
      : {}),
  }
}

const r2 = (n: number): number => Math.round(n * 100) / 100
const r3 = (n: number): number => Math.round(n * 1000) / 1000

/**
 * Latencies recorded as 0 us: a receive instant at or before the publish instant, which no delivery from
 * one process to another takes; only clocks that disagree give it (lib/clock.ts).
 */
function latenciesNotAfterPublish(l: GeneratorReport['latency']): number {
  if (l.count === 0 || l.hdr === undefined) return 0
  return countAtZero(decodeHistogram(l.hdr))
}

/**
 * What the freshness model (load/model/freshness.ts) says the network adds for these params: to the mean
 * latency, on top of the server's own processing, and to a new connection's way to its first update.
 */
export function latencyModel(spec: RunSpec, p: ScenarioParams): LatencyModel {
  const entry = transportEntry(spec.transport)
  const tls = spec.tls === true
  return {
    rttMs: p.rttMs,
    addedMeanMs: r3(
      entry.freshness({
        ratePerS: p.tickHz,
        pollIntervalMs: p.pollIntervalMs,
        rttMs: p.rttMs,
        periodic: true,
      }),
    ),
    setupRoundTrips: setupRoundTrips(tls),
    setupMs: r3(setupRoundTrips(tls) * p.rttMs),
  }
}

/** Bytes and server CPU per held connection per minute, when nothing was published. */
function idleCost(
  p: ScenarioParams,
  m: Measured,
  c2s: number,
  s2c: number,
  cpuUs: number,
  counterMs: number,
): IdleCost {
  const per = m.connected > 0 && counterMs > 0 ? 60_000 / counterMs / m.connected : 0
  const i = m.ready.intervals
  return {
    bytesPerConnectionPerMinute: r2((c2s + s2c) * per),
    clientToServerPerConnectionPerMinute: r2(c2s * per),
    serverToClientPerConnectionPerMinute: r2(s2c * per),
    serverCpuMsPerConnectionPerMinute: r3((cpuUs / 1000) * per),
    ...(i ? i : {}),
    pollIntervalMs: p.pollIntervalMs,
  }
}

/**
 * The chat's figures and its byte model: the transport's downstream model for one message per publish
 * (a room publishes each message on its own, at the room's rate: its members x sendHz) plus the
 * upstream per sent message over the recipients (load/model/chat.ts).
 */
function chatFigures(
  spec: RunSpec,
  p: ScenarioParams,
  m: Measured,
  published: number,
  expected: number,
): { figures: ChatFigures; model: ModelBytes } {
  const entry = transportEntry(spec.transport)
  const g = m.report
  const rooms = Math.max(1, m.published.length)
  const members = recipientsPerMessage(p)
  const recipients = published > 0 ? expected / published : members
  // seqs of one room in the window: the room's share of what was published
  const seqFrom = Math.max(1, m.s0.lastSeq + 1)
  const seqTo = seqFrom + Math.max(1, Math.round(published / rooms))
  const ctx = { host: m.ready.host, port: m.ready.port, path: entry.path, seqFrom, seqTo }
  const down = entry.model({ ...p, tickHz: Math.max(0.1, members * p.sendHz), updatesPerTick: 1 }, ctx)
  const up = entry.chatUpstream(p, ctx)
  const c = g.chat
  const rtt = c?.senderRtt
  return {
    model: chatModel(down, up, recipients),
    figures: {
      rooms: p.rooms,
      sendHz: p.sendHz,
      sent: c?.sent ?? 0,
      accepted: c?.accepted ?? 0,
      refused: c?.refused ?? 0,
      delivered: g.delivered,
      recipientsPerMessage: r3(recipients),
      senderRttMs: {
        p50: rtt?.p50 ?? 0,
        p90: rtt?.p90 ?? 0,
        p99: rtt?.p99 ?? 0,
        p999: rtt?.p999 ?? 0,
        max: rtt?.max ?? 0,
        mean: rtt?.mean ?? 0,
        count: rtt?.count ?? 0,
      },
      modelUpstreamPerSent: { clientToServer: r2(up.clientToServer), serverToClient: r2(up.serverToClient) },
      queued: c?.queued ?? 0,
      failed: c?.failed ?? 0,
    },
  }
}

export function toResult(spec: RunSpec, p: ScenarioParams, m: Measured): CompletedResult {
  const { s0, s1, report: g } = m
  const counterMs = s1.atMs - s0.atMs
  const delivered = g.delivered
  const entry = transportEntry(spec.transport)
  const published = m.published.reduce((a, b) => a + b, 0)
  // every subscriber of a stream should see every message of it
  const expected = m.published.reduce((sum, n, s) => sum + n * (m.subscribers[s] ?? 0), 0)
  const c2s = s1.bytesRead - s0.bytesRead
  const s2c = s1.bytesWritten - s0.bytesWritten
  const userUs = s1.cpuUserUs - s0.cpuUserUs
  const systemUs = s1.cpuSystemUs - s0.cpuSystemUs
  const dIdle = s1.eluIdleMs - s0.eluIdleMs
  const dActive = s1.eluActiveMs - s0.eluActiveMs
  const chat = isTwoWay(spec.workload) ? chatFigures(spec, p, m, published, expected) : undefined
  const model =
    chat?.model ??
    entry.model(p, {
      host: m.ready.host,
      port: m.ready.port,
      path: entry.path,
      seqFrom: s0.lastSeq + 1,
      seqTo: s0.lastSeq + Math.max(1, published),
    })
  // several processes on the generator's core: their CPU summed (that core's share) and the busiest
  // event loop, so a saturated core or one saturated process flags the run
  const saturated = isSaturated(g)
  const busy = isBusy(g)
  const genUs = g.cpuUserUs + g.cpuSystemUs
  const serverUsPerUpdate = delivered > 0 ? (userUs + systemUs) / delivered : 0
  const genUsPerUpdate = delivered > 0 ? genUs / delivered : 0
  const warnings: string[] = []
  if (busy) {
    warnings.push(
      `generator busy (CPU ${g.cpuPercent.toFixed(0)}% of a core, ELU ${g.eventLoopUtilization.toFixed(2)}): its own queueing adds to the latency measured, read it as an upper bound`,
    )
  }
  if (saturated) {
    warnings.push(
      `generator saturated (CPU ${g.cpuPercent.toFixed(0)}% of a core, ELU ${g.eventLoopUtilization.toFixed(2)}): these figures measure the generator, not the server`,
    )
  }
  if (m.failed > 0)
    warnings.push(
      `${m.failed} of ${p.clients} clients could not connect or subscribe${m.failedWhy ? ` (${m.failedWhy})` : ''}: no update was expected for them`,
    )
  const missed = Math.max(0, expected - delivered)
  if (missed > 0 && entry.kind === 'push') warnings.push(`${missed} updates missed`)
  if (g.gaps && g.gaps.signals > 0)
    warnings.push(
      `${g.gaps.signals} resumes were older than the server's ring buffer: it signalled ${g.gaps.seqs} updates lost`,
    )
  if (g.gaps && g.gaps.resumeRefused > 0)
    warnings.push(
      `${g.gaps.resumeRefused} resumes were past the server's newest seq (a restarted server?): refused, those clients started afresh`,
    )
  if (g.corrupt > 0) warnings.push(`${g.corrupt} updates arrived corrupt (their bytes were not an update)`)
  if (g.errors > 0) warnings.push(`${g.errors} client errors (last: ${g.lastError ?? '?'})`)
  if (m.partial) warnings.push(m.partialWarning ?? 'interrupted: the window was cut short')
  // an offset within the uncertainty of reading it (a busy browser answers slowly) is not one
  if (g.clockOffset && Math.abs(g.clockOffset.ms) - g.clockOffset.uncertaintyMs > CLOCK_OFFSET_LIMIT_MS)
    warnings.push(
      `the pages' clock was ${g.clockOffset.ms.toFixed(2)} ms (+/- ${g.clockOffset.uncertaintyMs.toFixed(2)}) off the generator's: latencies carry that error`,
    )
  const notAfter = latenciesNotAfterPublish(g.latency)
  if (notAfter > 0)
    warnings.push(
      `${notAfter} of ${g.latency.count} updates were received no later than published (latency 0 or below, recorded as 0): the server's and the generator's clocks disagree, and every latency carries that error`,
    )
  if (m.shard && m.shard.count > 1) warnings.push(SHARD_SERVER_FIGURES)
  // a latency below what the clocks can tell apart is not reported as one (docs/distributed.md, "Clocks")
  const clock =
    m.clock && g.latency.count > 0 && g.latency.p50 < m.clock.uncertaintyMs
      ? { ...m.clock, latencyBelowUncertainty: true }
      : m.clock
  if (clock?.latencyBelowUncertainty)
    warnings.push(
      `the median latency (${g.latency.p50} ms) is below the clock uncertainty (+/- ${clock.uncertaintyMs} ms): it is not a measurement, only a bound`,
    )
  if (m.warmup && !m.warmup.steady)
    warnings.push(
      `the server's CPU per update was not steady after ${m.warmup.usedS} s of warm-up (slices: ${m.warmup.sliceUsPerUpdate.join(', ')} us)`,
    )
  let otherCpuPercent: number | undefined
  if (m.hostBusyMs !== undefined && counterMs > 0) {
    const ours = (userUs + systemUs + g.cpuUserUs + g.cpuSystemUs) / 1000
    otherCpuPercent = Math.max(0, ((m.hostBusyMs - ours) / counterMs) * 100)
    if (otherCpuPercent > OTHER_CPU_LIMIT_PERCENT) {
      warnings.push(
        `other processes used ${otherCpuPercent.toFixed(0)}% of a core during the window: the host was not quiet, figures are disturbed`,
      )
    }
  }
  const seconds = m.windowMs / 1000
  // a server out of CPU runs its ticks late: it publishes less than offered and still delivers all it
  // published, and an update's ts is taken when its tick runs, so its latency does not show the lag
  const idle = publishesNothing(spec.workload)
  // the chat: what its clients were asked to send (each client's schedule may put one message either side)
  const offered = idle
    ? 0
    : chat
      ? m.connected * p.sendHz * seconds
      : p.tickHz * p.updatesPerTick * seconds * m.published.length
  // the idle workload owes nothing: all of nothing was published
  const publishedRatio = idle
    ? 1
    : Math.min(
        1,
        published / Math.max(1, offered - (chat ? m.connected : p.updatesPerTick * m.published.length)),
      )
  if (chat && chat.figures.refused > 0)
    warnings.push(`${chat.figures.refused} chat messages were refused by the server`)
  if (chat && (chat.figures.failed ?? 0) > 0)
    warnings.push(`${chat.figures.failed} chat sends failed (connection down or too many waiting)`)
  if (!idle && publishedRatio < MIN_PUBLISHED_RATIO)
    warnings.push(
      `the server published ${(publishedRatio * 100).toFixed(1)}% of the ${Math.round(offered)} updates offered in the window: it is out of CPU and ticks late, and the latency does not include that lag`,
    )
  return {
    state: m.partial ? 'partial' : 'completed',
    ...(m.partial && m.partialReason ? { partialReason: m.partialReason } : {}),
    transport: spec.transport,
    workload: spec.workload ?? DEFAULT_WORKLOAD,
    client: g.client,
    server: spec.server ?? 'pushbench',
    ...(spec.wire ? { wire: spec.wire.linkMbit === undefined ? {} : { linkMbit: spec.wire.linkMbit } } : {}),
    ...(spec.tls ? { tls: true } : {}),
    latencyMs: g.latency,
    latencyModel: latencyModel(spec, p),
    ...(idle ? { idle: idleCost(p, m, c2s, s2c, userUs + systemUs, counterMs) } : {}),
    ...(chat ? { chat: chat.figures } : {}),
    ...(g.scheduleLag ? { scheduleLagMs: g.scheduleLag } : {}),
    updates: {
      published,
      offered: r2(offered),
      publishedRatio: r3(publishedRatio),
      expected,
      delivered,
      missed,
      duplicates: g.duplicates,
      outOfOrder: g.outOfOrder,
      ...(g.gaps && (g.gaps.signals > 0 || g.gaps.resumeRefused > 0) ? { gaps: g.gaps } : {}),
    },
    bytes: {
      clientToServer: c2s,
      serverToClient: s2c,
      perDeliveredUpdate: delivered > 0 ? r2((c2s + s2c) / delivered) : 0,
      modelPerUpdate: model.perUpdate,
      perClientPerSecond: counterMs > 0 ? r2((c2s + s2c) / m.connected / (counterMs / 1000)) : 0,
      serverToClientPerDeliveredUpdate: delivered > 0 ? r2(s2c / delivered) : 0,
      // pages' sockets are Chromium's: the generator has no tally of its own
      ...(g.client === 'browser'
        ? {}
        : { clientTally: { read: g.clientBytes.read, written: g.clientBytes.written } }),
      ...(m.link ? { link: m.link } : {}),
    },
    serverCpu: {
      userMs: r3(userUs / 1000),
      systemMs: r3(systemUs / 1000),
      percentOfCore: counterMs > 0 ? r2(((userUs + systemUs) / 1000 / counterMs) * 100) : 0,
      usPerDeliveredUpdate: delivered > 0 ? r3((userUs + systemUs) / delivered) : 0,
      eventLoopUtilization: dIdle + dActive > 0 ? r3(dActive / (dIdle + dActive)) : 0,
      ...(m.serverCore && m.serverCore.ticks > 0
        ? {
            softirqPercent: r2(m.serverCore.softirqPercent),
            systemPercentOfCore: r2(m.serverCore.systemPercent),
            corePercentBusy: r2(m.serverCore.busyPercent),
          }
        : {}),
      ...(m.serverCpuCap !== undefined ? { capCores: m.serverCpuCap } : {}),
    },
    serverMemory: { rssMaxBytes: s1.rssMaxBytes, ...m.serverMemory },
    requests: s1.stats.requests - s0.stats.requests,
    errors: g.errors + (s1.stats.errors - s0.stats.errors),
    generator: {
      cpuPercent: r2(g.cpuPercent),
      userMs: r3(g.cpuUserUs / 1000),
      systemMs: r3(g.cpuSystemUs / 1000),
      eventLoopUtilization: r3(g.eventLoopUtilization),
      saturated,
      busy,
      usPerDeliveredUpdate: r3(genUsPerUpdate),
      ...(serverUsPerUpdate > 0 ? { costRatio: r3(genUsPerUpdate / serverUsPerUpdate) } : {}),
      processes: g.processes,
      ...(g.clockOffset
        ? { clockOffsetMs: r3(g.clockOffset.ms), clockUncertaintyMs: r3(g.clockOffset.uncertaintyMs) }
        : {}),
      ...(g.closeCodes ? { closeCodes: g.closeCodes } : {}),
      verifiedUpdates: g.verified,
      corruptUpdates: g.corrupt,
      ...(otherCpuPercent !== undefined ? { otherHostCpuPercent: r2(otherCpuPercent) } : {}),
      ...(m.generators ? generatorShares(m.generators) : {}),
    },
    connections: {
      opened: s1.connectionsTotal - s0.connectionsTotal,
      reconnects: g.reconnects,
      slowConsumerDisconnects: s1.stats.slowConsumerDisconnects - s0.stats.slowConsumerDisconnects,
      heldRequestsMax: s1.stats.heldRequestsMax,
      // servers that count them (a target of an older version does not)
      ...(s1.stats.acceptErrors !== undefined && s0.stats.acceptErrors !== undefined
        ? { acceptErrors: s1.stats.acceptErrors - s0.stats.acceptErrors }
        : {}),
      ...(s1.stats.fdExhausted !== undefined && s0.stats.fdExhausted !== undefined
        ? { fdExhausted: s1.stats.fdExhausted - s0.stats.fdExhausted }
        : {}),
      ...(m.timeWait ? { timeWait: m.timeWait } : {}),
    },
    deliveredPerSecond: seconds > 0 ? r2(delivered / seconds) : 0,
    windowMs: r2(m.windowMs),
    ...(m.warmup
      ? {
          warmup: {
            usedS: m.warmup.usedS,
            steady: m.warmup.steady,
            sliceUsPerUpdate: m.warmup.sliceUsPerUpdate,
          },
        }
      : {}),
    hostProbeNsPerOp: m.hostProbeNsPerOp,
    ...(m.window ? { window: { startMs: r3(m.window.startMs), endMs: r3(m.window.endMs) } } : {}),
    ...(clock ? { clock } : {}),
    ...(m.shard ? { shard: m.shard } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  }
}
