/**
 * Shard results files built programmatically for the merge tests: the quick fixture's steady-state
 * results as the template, each shard with its own slice of the clients, its own recorded HDR histograms
 * (and the samples behind them, to record all of them into one histogram), its own env and generator,
 * and the server's counters the same in every shard (one server, one window).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type * as hdr from 'hdr-histogram-js'
import { newHistogram, recordMs, summarise } from '../../lib/latency.ts'
import { mulberry32 } from '../../lib/random.ts'
import type { CompletedResult, ResultsFile } from '../../lib/results-schema.ts'
import { ROOT } from '../report/helpers.ts'

export const TEMPLATE_PATH = join(ROOT, 'test', 'fixtures', 'results-quick.json')
export const WINDOW = { startMs: 1_790_000_000_000, endMs: 1_790_000_010_000 }

export interface BuiltShards {
  files: ResultsFile[]
  /** per transport: every sample of every shard (ms), latency and schedule lag */
  samples: Map<string, { latency: number[]; lag: number[] }>
  clients: number[]
}

/** One histogram of all the given samples, as a single generator would have recorded them. */
export function oneHistogram(ms: readonly number[]): hdr.Histogram {
  const h = newHistogram()
  for (const x of ms) recordMs(h, x)
  return h
}

const clone = <T>(x: T): T => structuredClone(x)

/** `clients` per shard (summing to the scenario's params.clients, 1000, for a consistent run). */
export function buildShards(clients: number[] = [400, 350, 250], seed = 1): BuiltShards {
  const template = JSON.parse(readFileSync(TEMPLATE_PATH, 'utf8')) as ResultsFile
  const scenario = template.scenarios[0]
  if (!scenario) throw new Error('template without a scenario')
  delete scenario.capacity
  delete scenario.autocannon
  delete scenario.autocannonBaseline
  template.scenarios = [scenario]
  const n = clients.length
  const rng = mulberry32(seed)
  const samples = new Map<string, { latency: number[]; lag: number[] }>()
  const files: ResultsFile[] = []
  let firstClient = 0
  for (let i = 0; i < n; i++) {
    const f = clone(template)
    const mine = clients[i] ?? 0
    f.runId = `quick-20261125-062351-shard${i}`
    f.startedAt = new Date(Date.parse(template.startedAt) + i * 1000).toISOString()
    f.finishedAt = new Date(
      Date.parse(template.finishedAt ?? template.startedAt) + (n - i) * 1000,
    ).toISOString()
    f.env = { ...f.env, hostname: `gen-${i}`, cores: 2 + i }
    const sc = f.scenarios[0]
    if (!sc) throw new Error('no scenario')
    sc.results = sc.results.map((r0, t) => {
      const r = clone(r0) as CompletedResult
      const all = samples.get(r.transport) ?? { latency: [], lag: [] }
      samples.set(r.transport, all)
      // each shard's machine its own distribution: shard i slower by a factor
      const latency = Array.from({ length: mine * 10 }, () => (1 + i * 3) * (2 + 40 * rng() ** 3) + t)
      const h = oneHistogram(latency)
      all.latency.push(...latency)
      r.latencyMs = summarise(h, { withHdr: true })
      if (r.transport === 'short-poll') {
        const lag = Array.from({ length: mine * 4 }, () => rng() * 5 * (i + 1))
        all.lag.push(...lag)
        r.scheduleLagMs = summarise(oneHistogram(lag), { withHdr: true })
      }
      const expected = r.updates.published * mine
      r.updates = {
        ...r.updates,
        offered: 100,
        publishedRatio: 1,
        expected,
        delivered: latency.length,
        missed: Math.max(0, expected - latency.length),
        duplicates: i,
        outOfOrder: 2 * i,
      }
      r.bytes.clientTally = { read: 1000 * (i + 1), written: 100 * (i + 1) }
      r.serverMemory = {
        rssMaxBytes: 100_000_000 + i * 1_000_000,
        idleRssBytes: 90_000_000 - i * 1_000_000,
        rampRssBytes: 110_000_000 + i * 2_000_000,
      }
      r.errors = i
      r.connections = { opened: 1000, reconnects: i, slowConsumerDisconnects: 0, heldRequestsMax: 5 }
      r.generator = {
        cpuPercent: 20 + 10 * i,
        userMs: 100 * (i + 1),
        systemMs: 50 * (i + 1),
        eventLoopUtilization: 0.2 + 0.1 * i,
        saturated: false,
        busy: i === 2,
        usPerDeliveredUpdate: (150 * (i + 1) * 1000) / latency.length,
        processes: 1,
        verifiedUpdates: 10 * (i + 1),
        corruptUpdates: 0,
      }
      r.window = { ...WINDOW }
      r.clock = {
        source: 'estimated',
        offsetMs: 0.1 * i,
        uncertaintyMs: 0.05 + 0.1 * i,
        startOffsetMs: 0.1 * i,
        endOffsetMs: 0.1 * i,
        roundTripMs: 0.2 + 0.2 * i,
        samples: 8,
        applied: true,
      }
      r.shard = { index: i, count: n, target: 'http://10.0.0.1:8080', firstClient, clients: mine }
      r.warnings = [`generator ${i} says hello`, 'the same everywhere']
      return r
    })
    files.push(f)
    firstClient += mine
  }
  return { files, samples, clients }
}
