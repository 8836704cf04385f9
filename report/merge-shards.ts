/**
 * `pushbench merge`'s work, pure: shard results files (`run --shard i/n --target URL`, each a slice of the
 * clients on its own machine against one server, over one window) into one results file. Latency is merged
 * from the shards' HDR histograms exactly (lib/latency.ts), never averaged; what the clients counted is
 * summed; what the server counted (bytes, CPU, requests, what it published) is every shard's reading of the
 * same server over the same window, so it is taken once, from shard 0, and the per-update figures are
 * recomputed over all the updates delivered. Any inconsistency between the files is bad input
 * (PbOptionError, exit 2) naming the file(s) and the field.
 */

import { PbOptionError } from '../lib/errors.ts'
import { decodeHistogram, mergeLatencies, summarise } from '../lib/latency.ts'
import { validateResults } from '../lib/results-io.ts'
import {
  type Clock,
  type CompletedResult,
  type ErroredResult,
  isCompleted,
  type Latency,
  type Params,
  type ResultsFile,
  type RunResult,
  type Scenario,
  SHARD_SERVER_FIGURES,
} from '../lib/results-schema.ts'
import { DEFAULT_WORKLOAD } from '../lib/workloads.ts'

export interface ShardInput {
  /** the path as the user named it: errors and the merged result's `shards[].file` show it */
  file: string
  results: ResultsFile
}

/** The positional argument the errors are filed under (`pushbench merge FILE...`). */
const FIELD = 'FILE'

/** The least RSS growth over the ramp from which a per-connection figure is reported (load/session.ts MIN_RSS_GROWTH). */
export const MIN_RSS_GROWTH = 8 * 1024 * 1024

type Share = NonNullable<CompletedResult['generator']['perGenerator']>[number]
type ShardEntry = NonNullable<CompletedResult['shards']>[number]

const r2 = (n: number): number => Math.round(n * 100) / 100
const r3 = (n: number): number => Math.round(n * 1000) / 1000
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0)
const bad = (message: string): PbOptionError => new PbOptionError(FIELD, message)

/** A result's identity within a scenario: transport, workload, client kind, server, TLS (defaults filled in). */
function resultKey(r: RunResult): string {
  return [
    r.transport,
    r.workload ?? DEFAULT_WORKLOAD,
    r.client ?? 'library',
    r.server ?? 'pushbench',
    r.tls === true ? 'tls' : 'plain',
  ].join('/')
}

/** How a result is named in an error: `scenario quick, sse` (the defaults left out). */
function where(scenario: string, r: RunResult): string {
  const extra = [
    r.workload !== undefined && r.workload !== DEFAULT_WORKLOAD ? r.workload : undefined,
    r.client !== undefined && r.client !== 'library' ? `${r.client} client` : undefined,
    r.server === 'baseline' ? 'baseline server' : undefined,
    r.tls === true ? 'tls' : undefined,
  ].filter((x) => x !== undefined)
  return `scenario ${JSON.stringify(scenario)}, ${r.transport}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`
}

interface Shard {
  file: string
  results: ResultsFile
  index: number
  count: number
}

/** Each file's shard index and count, from its completed results (which must all carry and agree on them). */
function shardOf(input: ShardInput): Shard {
  const { file, results } = input
  let found: { index: number; count: number; at: string } | undefined
  for (const s of results.scenarios) {
    const steadyOnly = [
      s.capacity !== undefined ? 'capacity' : undefined,
      s.lifecycle !== undefined ? 'lifecycle' : undefined,
      s.faults !== undefined ? 'faults' : undefined,
      s.autocannon !== undefined || s.autocannonBaseline !== undefined ? 'autocannon' : undefined,
    ].filter((x) => x !== undefined)
    if (steadyOnly.length > 0)
      throw bad(
        `merge handles steady-state results only: ${file} has ${steadyOnly.join('/')} in scenario ${JSON.stringify(s.name)}`,
      )
    for (const r of s.results) {
      if (!isCompleted(r)) continue
      if (r.shard === undefined)
        throw bad(
          `${file} is not a shard's results file: ${where(s.name, r)} has no "shard" (run it with --shard i/n)`,
        )
      const at = where(s.name, r)
      if (found === undefined) found = { index: r.shard.index, count: r.shard.count, at }
      else if (found.index !== r.shard.index || found.count !== r.shard.count)
        throw bad(
          `${file} mixes shards: ${found.at} is shard ${found.index}/${found.count}, ${at} is shard ${r.shard.index}/${r.shard.count}`,
        )
    }
  }
  if (results.micro !== undefined)
    throw bad(`merge handles steady-state results only: ${file} has micro-benchmark results`)
  if (found === undefined) throw bad(`${file} has no completed result carrying "shard": nothing to merge`)
  return { file, results, index: found.index, count: found.count }
}

/** The shards sorted by index, once every index 0..n-1 is there exactly once and n agrees. */
function checkIndexes(shards: Shard[]): Shard[] {
  const [first] = shards
  if (first === undefined) throw bad('no shard files to merge')
  for (const s of shards)
    if (s.count !== first.count)
      throw bad(
        `shard counts differ: ${first.file} is one of ${first.count} shards, ${s.file} one of ${s.count}`,
      )
  const n = first.count
  const byIndex = new Map<number, Shard>()
  for (const s of shards) {
    if (s.index >= n)
      throw bad(`${s.file} is shard index ${s.index}, past the last of ${n} shards (0..${n - 1})`)
    const other = byIndex.get(s.index)
    if (other !== undefined)
      throw bad(
        `shard index ${s.index} is duplicated: ${other.file} and ${s.file} are both shard ${s.index}/${n}`,
      )
    byIndex.set(s.index, s)
  }
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !byIndex.has(i))
  if (missing.length > 0)
    throw bad(
      `shard index ${missing.join(', ')} of ${n} missing: given ${shards.map((s) => `${s.file} (${s.index})`).join(', ')}`,
    )
  return [...byIndex.values()].sort((a, b) => a.index - b.index)
}

/** The first field, in shard 0's order, whose value differs between two params. */
function firstParamDiff(a: Params, b: Params): keyof Params | undefined {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])] as (keyof Params)[]
  return keys.find((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
}

/** Same profile, same scenarios in the same order with the same params, the same results per scenario. */
function checkSameRun(shards: Shard[]): void {
  const [s0, ...rest] = shards
  if (s0 === undefined) return
  const f0 = s0.results
  for (const s of rest) {
    const f = s.results
    if (f.profile !== f0.profile)
      throw bad(
        `profiles differ: ${s0.file} has ${JSON.stringify(f0.profile)}, ${s.file} has ${JSON.stringify(f.profile)}`,
      )
    const names0 = f0.scenarios.map((x) => x.name)
    const names = f.scenarios.map((x) => x.name)
    if (JSON.stringify(names0) !== JSON.stringify(names))
      throw bad(
        `scenarios differ: ${s0.file} has ${JSON.stringify(names0)}, ${s.file} has ${JSON.stringify(names)} (same names, same order)`,
      )
    f0.scenarios.forEach((sc0, i) => {
      const sc = f.scenarios[i] as Scenario
      const diff = firstParamDiff(sc0.params, sc.params)
      if (diff !== undefined)
        throw bad(
          `scenario ${JSON.stringify(sc0.name)}: params.${diff} differs: ${s0.file} has ${JSON.stringify(sc0.params[diff])}, ${s.file} has ${JSON.stringify(sc.params[diff])}`,
        )
      const keys0 = sc0.results.map(resultKey).sort()
      const keys = sc.results.map(resultKey).sort()
      if (JSON.stringify(keys0) !== JSON.stringify(keys))
        throw bad(
          `scenario ${JSON.stringify(sc0.name)}: results differ: ${s0.file} has ${keys0.join(', ')}, ${s.file} has ${keys.join(', ')} (transport/workload/client/server/tls)`,
        )
    })
  }
  for (const s of shards)
    for (const sc of s.results.scenarios) {
      const keys = sc.results.map(resultKey)
      const dup = keys.find((k, i) => keys.indexOf(k) !== i)
      if (dup !== undefined)
        throw bad(
          `${s.file}: scenario ${JSON.stringify(sc.name)} has ${dup} twice: which one to merge is unclear`,
        )
    }
}

/** One result's shards, by index: the window edges shared and a histogram behind every latency. */
function checkResults(scenario: string, parts: { shard: Shard; r: CompletedResult }[]): void {
  const windowed = parts.filter((p) => p.r.window !== undefined)
  const [w0] = windowed
  for (const p of windowed) {
    const a = w0?.r.window
    const b = p.r.window
    if (w0 && a && b && (a.startMs !== b.startMs || a.endMs !== b.endMs))
      throw bad(
        `shards measured different windows: ${w0.shard.file} [${a.startMs},${a.endMs}) vs ${p.shard.file} [${b.startMs},${b.endMs}) (${where(scenario, p.r)})`,
      )
  }
  const lagged = parts.filter((p) => p.r.scheduleLagMs !== undefined).length
  for (const { shard, r } of parts) {
    if (r.latencyMs.hdr === undefined)
      throw bad(
        `${shard.file}: ${where(scenario, r)} has no latencyMs.hdr (the HDR histogram): its latency cannot be merged exactly`,
      )
    if (lagged > 0 && r.scheduleLagMs?.hdr === undefined)
      throw bad(
        `${shard.file}: ${where(scenario, r)} has no scheduleLagMs.hdr where other shards have one: the schedule lag cannot be merged exactly`,
      )
    if (r.shard?.count !== parts.length)
      throw bad(
        `${shard.file}: ${where(scenario, r)} is one of ${r.shard?.count} shards, not ${parts.length}`,
      )
  }
}

/** The shards' summaries merged from their histograms; one that does not decode is named by file and field. */
function mergeLatency(
  scenario: string,
  parts: readonly { shard: Shard; r: CompletedResult }[],
  field: 'latencyMs' | 'scheduleLagMs',
): Latency {
  const all = parts.map((p) => p.r[field]).filter((l): l is Latency => l !== undefined)
  try {
    return summarise(mergeLatencies(all), { withHdr: true })
  } catch (err) {
    const culprit = parts.find((p) => {
      const hdr = p.r[field]?.hdr
      try {
        if (hdr !== undefined) decodeHistogram(hdr)
        return false
      } catch {
        return true
      }
    })
    throw bad(
      `${culprit?.shard.file ?? 'a shard'}: ${culprit ? where(scenario, culprit.r) : `scenario ${JSON.stringify(scenario)}`}: ${field}.hdr cannot be decoded as an HDR histogram: ${(err as Error).message}`,
    )
  }
}

/** A shard's generator, as a share of the merged one. */
function shareOf(r: CompletedResult): Share {
  const g = r.generator
  const shard = r.shard
  return {
    clients: shard?.clients ?? 0,
    ...(shard !== undefined ? { firstClient: shard.firstClient } : {}),
    cpuPercent: g.cpuPercent,
    eventLoopUtilization: g.eventLoopUtilization,
    ...(g.usPerDeliveredUpdate !== undefined ? { usPerDeliveredUpdate: g.usPerDeliveredUpdate } : {}),
    saturated: g.saturated,
    ...(g.busy !== undefined ? { busy: g.busy } : {}),
    delivered: r.updates.delivered,
  }
}

/** A shard's generator CPU over the window, us: user + system, or back from its per-update figure. */
function generatorUs(r: CompletedResult): number {
  const g = r.generator
  if (g.userMs !== undefined || g.systemMs !== undefined) return ((g.userMs ?? 0) + (g.systemMs ?? 0)) * 1000
  return (g.usPerDeliveredUpdate ?? 0) * r.updates.delivered
}

function mergeCompleted(scenario: Scenario, parts: { shard: Shard; r: CompletedResult }[]): CompletedResult {
  const rs = parts.map((p) => p.r)
  const [r0] = rs
  if (r0 === undefined) throw new Error('a result with no shard')
  checkResults(scenario.name, parts)
  const delivered = sum(rs.map((r) => r.updates.delivered))
  const clients = sum(rs.map((r) => r.shard?.clients ?? 0))
  const clients0 = r0.shard?.clients ?? 0
  const latencyMs = mergeLatency(scenario.name, parts, 'latencyMs')
  const lagged = rs.some((r) => r.scheduleLagMs !== undefined)
  const windowS = (r0.windowMs ?? 0) / 1000

  // what the server counted: shard 0's reading, per update over every update delivered
  const b0 = r0.bytes
  const serverBytes = b0.clientToServer + b0.serverToClient
  const tallies = rs.map((r) => r.bytes.clientTally)
  const perClientPerSecond =
    windowS > 0 && clients > 0
      ? r2(serverBytes / clients / windowS)
      : b0.perClientPerSecond !== undefined && clients > 0
        ? r2((b0.perClientPerSecond * clients0) / clients)
        : undefined
  const bytes: CompletedResult['bytes'] = {
    clientToServer: b0.clientToServer,
    serverToClient: b0.serverToClient,
    perDeliveredUpdate: delivered > 0 ? r2(serverBytes / delivered) : 0,
    modelPerUpdate: b0.modelPerUpdate,
    ...(perClientPerSecond !== undefined ? { perClientPerSecond } : {}),
    serverToClientPerDeliveredUpdate: delivered > 0 ? r2(b0.serverToClient / delivered) : 0,
    ...(tallies.every((t) => t !== undefined)
      ? {
          clientTally: {
            read: sum(tallies.map((t) => t?.read ?? 0)),
            written: sum(tallies.map((t) => t?.written ?? 0)),
          },
        }
      : {}),
    ...(b0.link !== undefined ? { link: b0.link } : {}),
  }
  const serverUs = (r0.serverCpu.userMs + r0.serverCpu.systemMs) * 1000
  const serverUsPerUpdate = delivered > 0 ? serverUs / delivered : 0

  // memory: the server's RSS as every shard saw it, the growth over the ramp per client of all shards
  const idles = rs.map((r) => r.serverMemory.idleRssBytes).filter((x): x is number => x !== undefined)
  const ramps = rs.map((r) => r.serverMemory.rampRssBytes).filter((x): x is number => x !== undefined)
  const idleRss = idles.length > 0 ? Math.min(...idles) : undefined
  const rampRss = ramps.length > 0 ? Math.max(...ramps) : undefined
  const growth = idleRss !== undefined && rampRss !== undefined ? rampRss - idleRss : undefined
  const serverMemory: CompletedResult['serverMemory'] = {
    rssMaxBytes: Math.max(...rs.map((r) => r.serverMemory.rssMaxBytes)),
    ...(idleRss !== undefined ? { idleRssBytes: idleRss } : {}),
    ...(rampRss !== undefined ? { rampRssBytes: rampRss } : {}),
    ...(growth !== undefined && growth >= MIN_RSS_GROWTH && clients > 0
      ? { bytesPerConnection: Math.round(growth / clients) }
      : {}),
  }

  // the generators: each shard its own machine
  const gs = rs.map((r) => r.generator)
  const genUs = sum(rs.map(generatorUs))
  const genUsPerUpdate = delivered > 0 ? genUs / delivered : 0
  const saturated = gs.some((g) => g.saturated)
  const optSum = (f: (g: CompletedResult['generator']) => number | undefined): number | undefined =>
    gs.some((g) => f(g) !== undefined) ? sum(gs.map((g) => f(g) ?? 0)) : undefined
  const optMax = (f: (g: CompletedResult['generator']) => number | undefined): number | undefined => {
    const xs = gs.map(f).filter((x): x is number => x !== undefined)
    return xs.length > 0 ? Math.max(...xs) : undefined
  }
  const closeCodes: Record<string, number> = {}
  for (const g of gs)
    for (const [code, n] of Object.entries(g.closeCodes ?? {})) closeCodes[code] = (closeCodes[code] ?? 0) + n
  const offsets = gs.filter((g) => g.clockOffsetMs !== undefined)
  const worstOffset = offsets.reduce<(typeof gs)[number] | undefined>(
    (w, g) => (w === undefined || Math.abs(g.clockOffsetMs ?? 0) > Math.abs(w.clockOffsetMs ?? 0) ? g : w),
    undefined,
  )
  const genMemory = rs.filter((r) => r.generator.bytesPerConnection !== undefined)
  const genMemoryClients = sum(genMemory.map((r) => r.shard?.clients ?? 0))
  const shares = rs.map(shareOf)
  const userMs = optSum((g) => g.userMs)
  const systemMs = optSum((g) => g.systemMs)
  const processes = optSum((g) => g.processes)
  const verifiedUpdates = optSum((g) => g.verifiedUpdates)
  const corruptUpdates = optSum((g) => g.corruptUpdates)
  const connectMs = optMax((g) => g.connectMs)
  const sourceAddresses = optSum((g) => g.sourceAddresses)
  const otherHostCpuPercent = optMax((g) => g.otherHostCpuPercent)
  const generator: CompletedResult['generator'] = {
    cpuPercent: Math.max(...gs.map((g) => g.cpuPercent)),
    ...(userMs !== undefined ? { userMs: r3(userMs) } : {}),
    ...(systemMs !== undefined ? { systemMs: r3(systemMs) } : {}),
    eventLoopUtilization: Math.max(...gs.map((g) => g.eventLoopUtilization)),
    saturated,
    busy: !saturated && gs.some((g) => g.busy === true),
    usPerDeliveredUpdate: r3(genUsPerUpdate),
    ...(serverUsPerUpdate > 0 ? { costRatio: r3(genUsPerUpdate / serverUsPerUpdate) } : {}),
    ...(processes !== undefined ? { processes } : {}),
    ...(worstOffset?.clockOffsetMs !== undefined
      ? {
          clockOffsetMs: worstOffset.clockOffsetMs,
          ...(worstOffset.clockUncertaintyMs !== undefined
            ? { clockUncertaintyMs: worstOffset.clockUncertaintyMs }
            : {}),
        }
      : {}),
    ...(Object.keys(closeCodes).length > 0 ? { closeCodes } : {}),
    generators: sum(gs.map((g) => g.generators ?? 1)),
    perGenerator: shares,
    ...(genMemory.length > 0 && genMemoryClients > 0
      ? {
          // per connection, weighted by each shard's clients
          bytesPerConnection: Math.round(
            sum(genMemory.map((r) => (r.generator.bytesPerConnection ?? 0) * (r.shard?.clients ?? 0))) /
              genMemoryClients,
          ),
        }
      : {}),
    ...(connectMs !== undefined ? { connectMs } : {}),
    ...(sourceAddresses !== undefined ? { sourceAddresses } : {}),
    ...(verifiedUpdates !== undefined ? { verifiedUpdates } : {}),
    ...(corruptUpdates !== undefined ? { corruptUpdates } : {}),
    ...(otherHostCpuPercent !== undefined ? { otherHostCpuPercent } : {}),
  }

  // the clock: the shard whose latencies are the least sure
  const clocks = rs.map((r) => r.clock).filter((c): c is Clock => c !== undefined)
  const worstClock = clocks.reduce<Clock | undefined>(
    (w, c) => (w === undefined || c.uncertaintyMs > w.uncertaintyMs ? c : w),
    undefined,
  )

  const expected = rs.map((r) => r.updates.expected)
  const warnings: string[] = []
  for (const { shard, r } of parts)
    for (const w of r.warnings ?? []) {
      // true of a shard alone, made good by the merge
      if (w === SHARD_SERVER_FIGURES) continue
      const line = `shard ${shard.index}: ${w}`
      if (!warnings.includes(line)) warnings.push(line)
    }
  if (clients !== scenario.params.clients)
    warnings.push(
      `the shards ran ${clients} clients in all, the scenario's params say ${scenario.params.clients}`,
    )

  const c0 = r0.connections
  const merged: CompletedResult = {
    state: rs.some((r) => r.state === 'partial') ? 'partial' : 'completed',
    transport: r0.transport,
    ...(r0.workload !== undefined ? { workload: r0.workload } : {}),
    ...(r0.client !== undefined ? { client: r0.client } : {}),
    ...(r0.server !== undefined ? { server: r0.server } : {}),
    ...(r0.wire !== undefined ? { wire: r0.wire } : {}),
    ...(r0.tls !== undefined ? { tls: r0.tls } : {}),
    latencyMs,
    ...(r0.latencyModel !== undefined ? { latencyModel: r0.latencyModel } : {}),
    ...(r0.idle !== undefined ? { idle: idleOverAll(r0.idle, clients0, clients) } : {}),
    ...(lagged ? { scheduleLagMs: mergeLatency(scenario.name, parts, 'scheduleLagMs') } : {}),
    updates: {
      published: r0.updates.published,
      ...(r0.updates.offered !== undefined ? { offered: r0.updates.offered } : {}),
      ...(r0.updates.publishedRatio !== undefined ? { publishedRatio: r0.updates.publishedRatio } : {}),
      ...(expected.every((e) => e !== undefined) ? { expected: sum(expected as number[]) } : {}),
      delivered,
      missed: sum(rs.map((r) => r.updates.missed)),
      duplicates: sum(rs.map((r) => r.updates.duplicates)),
      outOfOrder: sum(rs.map((r) => r.updates.outOfOrder)),
      ...(rs.some((r) => r.updates.gaps)
        ? {
            gaps: {
              signals: sum(rs.map((r) => r.updates.gaps?.signals ?? 0)),
              seqs: sum(rs.map((r) => r.updates.gaps?.seqs ?? 0)),
              resumeRefused: sum(rs.map((r) => r.updates.gaps?.resumeRefused ?? 0)),
            },
          }
        : {}),
    },
    bytes,
    serverCpu: { ...r0.serverCpu, usPerDeliveredUpdate: r3(serverUsPerUpdate) },
    serverMemory,
    requests: r0.requests,
    errors: sum(rs.map((r) => r.errors)),
    generator,
    ...(c0 !== undefined
      ? {
          connections: {
            opened: c0.opened,
            reconnects: sum(rs.map((r) => r.connections?.reconnects ?? 0)),
            slowConsumerDisconnects: c0.slowConsumerDisconnects,
            ...(c0.heldRequestsMax !== undefined ? { heldRequestsMax: c0.heldRequestsMax } : {}),
            // the server's own counts: every shard read the same server
            ...(c0.acceptErrors !== undefined ? { acceptErrors: c0.acceptErrors } : {}),
            ...(c0.fdExhausted !== undefined ? { fdExhausted: c0.fdExhausted } : {}),
            ...(c0.timeWait !== undefined ? { timeWait: c0.timeWait } : {}),
          },
        }
      : {}),
    ...(r0.windowMs !== undefined ? { deliveredPerSecond: windowS > 0 ? r2(delivered / windowS) : 0 } : {}),
    ...(r0.windowMs !== undefined ? { windowMs: r0.windowMs } : {}),
    ...(r0.warmup !== undefined ? { warmup: r0.warmup } : {}),
    ...(r0.hostProbeNsPerOp !== undefined ? { hostProbeNsPerOp: r0.hostProbeNsPerOp } : {}),
    ...(r0.window !== undefined ? { window: r0.window } : {}),
    ...(worstClock !== undefined
      ? { clock: { ...worstClock, latencyBelowUncertainty: latencyMs.p50 < worstClock.uncertaintyMs } }
      : {}),
    shards: parts.map(
      ({ shard, r }): ShardEntry => ({
        file: shard.file,
        index: shard.index,
        env: shard.results.env,
        generator: shareOf(r),
        ...(r.clock !== undefined ? { clock: r.clock } : {}),
      }),
    ),
    ...(warnings.length > 0 ? { warnings } : {}),
  }
  return merged
}

/** The idle workload's per-connection figures: the server's totals (shard 0's) over every shard's clients. */
function idleOverAll(
  idle: NonNullable<CompletedResult['idle']>,
  clients0: number,
  clients: number,
): NonNullable<CompletedResult['idle']> {
  const k = clients > 0 ? clients0 / clients : 1
  return {
    ...idle,
    bytesPerConnectionPerMinute: r2(idle.bytesPerConnectionPerMinute * k),
    clientToServerPerConnectionPerMinute: r2(idle.clientToServerPerConnectionPerMinute * k),
    serverToClientPerConnectionPerMinute: r2(idle.serverToClientPerConnectionPerMinute * k),
    serverCpuMsPerConnectionPerMinute: r3(idle.serverCpuMsPerConnectionPerMinute * k),
  }
}

function mergeScenario(shards: Shard[], i: number): Scenario {
  const [s0] = shards
  const sc0 = s0?.results.scenarios[i]
  if (s0 === undefined || sc0 === undefined) throw new Error('a scenario with no shard')
  const results: RunResult[] = sc0.results.map((r0) => {
    const key = resultKey(r0)
    const parts = shards.map((shard) => {
      const r = shard.results.scenarios[i]?.results.find((x) => resultKey(x) === key)
      if (r === undefined) throw new Error(`${shard.file}: ${key} vanished after the check`)
      return { shard, r }
    })
    const failed = parts.filter((p): p is { shard: Shard; r: ErroredResult } => !isCompleted(p.r))
    if (failed.length > 0) {
      const errored: ErroredResult = {
        state: 'errored',
        transport: r0.transport,
        ...(r0.workload !== undefined ? { workload: r0.workload } : {}),
        ...(r0.client !== undefined ? { client: r0.client } : {}),
        ...(r0.server !== undefined ? { server: r0.server } : {}),
        ...(r0.tls !== undefined ? { tls: r0.tls } : {}),
        error: failed.map((p) => `shard ${p.shard.index}: ${p.r.error}`).join('; '),
      }
      return errored
    }
    return mergeCompleted(
      sc0,
      parts.map((p) => ({ shard: p.shard, r: p.r as CompletedResult })),
    )
  })
  return { name: sc0.name, params: sc0.params, results }
}

/** `merged-` and what the shards' run ids share (`merged-quick-20260101-1200` of `...-1200-s0`, `...-1200-s1`), else a timestamp. */
function mergedRunId(shards: Shard[], startedAt: string): string {
  const ids = shards.map((s) => s.results.runId)
  let prefix = ids[0] ?? ''
  for (const id of ids) while (!id.startsWith(prefix)) prefix = prefix.slice(0, -1)
  prefix = prefix.replace(/[^A-Za-z0-9]+$/, '')
  if (prefix.length > 0) return `merged-${prefix}`
  return `merged-${startedAt.replace(/[-:]/g, '').replace(/\..+/, '').replace('T', '-')}`
}

/**
 * Merges shard results files (one per shard of one run, in any order) into one results file. Throws a
 * PbOptionError naming the file(s) and field on anything that does not fit (exit 2 in the CLI).
 */
export function mergeShards(inputs: readonly ShardInput[]): ResultsFile {
  const shards = checkIndexes(inputs.map(shardOf))
  checkSameRun(shards)
  const [s0] = shards
  if (s0 === undefined) throw bad('no shard files to merge')
  const starts = shards.map((s) => s.results.startedAt).sort((a, b) => Date.parse(a) - Date.parse(b))
  const ends = shards
    .map((s) => s.results.finishedAt)
    .filter((x): x is string => x !== undefined)
    .sort((a, b) => Date.parse(a) - Date.parse(b))
  const startedAt = starts[0] ?? s0.results.startedAt
  const finishedAt = ends.at(-1)
  const merged: ResultsFile = {
    schemaVersion: 1,
    runId: mergedRunId(shards, startedAt),
    startedAt,
    ...(finishedAt !== undefined ? { finishedAt } : {}),
    env: s0.results.env,
    profile: s0.results.profile,
    ...(shards.some((s) => s.results.partial === true) ? { partial: true } : {}),
    scenarios: s0.results.scenarios.map((_, i) => mergeScenario(shards, i)),
  }
  return validateResults(merged, 'the merged results')
}

/** The lines `pushbench merge` prints: shards, scenarios, per transport clients and merged p50/p99, warnings. */
export function describeMerge(merged: ResultsFile, out: string): string {
  const fmt = (ms: number): string =>
    ms < 1 ? `${Math.round(ms * 1000)} us` : `${Number(ms.toPrecision(3))} ms`
  const lines: string[] = []
  const firstShards = merged.scenarios.flatMap((s) => s.results).find(isCompleted)?.shards
  lines.push(
    `merged ${firstShards?.length ?? 0} shards, ${merged.scenarios.length} scenario${merged.scenarios.length === 1 ? '' : 's'} into ${out}${merged.partial ? ' (partial)' : ''}`,
  )
  const warnings: string[] = []
  for (const s of merged.scenarios) {
    lines.push(`scenario ${s.name}: ${s.params.clients} clients`)
    for (const r of s.results) {
      const label = `${r.transport}${r.server === 'baseline' ? ' (baseline)' : ''}${r.tls ? ' tls' : ''}`
      if (!isCompleted(r)) {
        lines.push(`  ${label.padEnd(16)} errored: ${r.error}`)
        continue
      }
      const clients = sum((r.shards ?? []).map((x) => x.generator.clients))
      lines.push(
        `  ${label.padEnd(16)} ${String(clients).padStart(6)} clients  p50 ${fmt(r.latencyMs.p50)}  p99 ${fmt(r.latencyMs.p99)}  delivered ${r.updates.delivered}`,
      )
      for (const w of r.warnings ?? []) warnings.push(`${s.name} ${label}: ${w}`)
    }
  }
  if (warnings.length > 0) lines.push(`warnings (${warnings.length}):`, ...warnings.map((w) => `  - ${w}`))
  return `${lines.join('\n')}\n`
}
