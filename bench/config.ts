/**
 * Scenarios and profiles are data: a JSON file validated here, with the same schema library as the
 * results. A param given as a list makes a sweep: one scenario per value (every combination when
 * several are lists), as Node's own benchmark/ does.
 */
import { readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as v from 'valibot'
import { cpuCapQuotaUs } from '../lib/cpu-cap.ts'
import { PbOptionError } from '../lib/errors.ts'
import { checkPlannedLoad } from '../lib/load-bound.ts'
import {
  checkChoice,
  checkNumber,
  DEFAULT_PARAMS,
  PARAM_RANGES,
  resolveParams,
  type ScenarioParams,
  serverIntervalArgs,
} from '../lib/params.ts'
import { describeIssues } from '../lib/results-io.ts'
import {
  defaultTransports,
  type Transport,
  transport,
  transportNames,
  transportsOfKind,
} from '../lib/transports.ts'
import { DEFAULT_WORKLOAD, isTwoWay, WORKLOADS, type Workload } from '../lib/workloads.ts'
import { planAutocannonNofile } from '../load/autocannon.ts'
import { FAULT_TRANSPORTS } from '../load/fault-probe.ts'
import { FAULT_DEFAULTS, FAULT_KINDS, type FaultKind, type FaultOptions } from '../load/fault-run.ts'
import type { ClientKind } from '../load/generator-ipc.ts'
import { GENERATORS_RANGE, planConnections } from '../load/session.ts'
import { checkPlanSize, PLAN_LIMITS } from './plan-size.ts'

export const PROFILES = ['quick', 'ci', 'full', 'browser', 'scale', 'faults'] as const
export type Profile = (typeof PROFILES)[number]

const PROFILE_DIR = fileURLToPath(new URL('./profiles/', import.meta.url))

const numOrList = v.union([v.number(), v.pipe(v.array(v.number()), v.minLength(1))])
const ParamsInput = v.strictObject({
  clients: v.optional(numOrList),
  tickHz: v.optional(numOrList),
  updatesPerTick: v.optional(numOrList),
  payloadBytes: v.optional(numOrList),
  pollIntervalMs: v.optional(numOrList),
  durationS: v.optional(numOrList),
  warmupS: v.optional(numOrList),
  maxWarmupS: v.optional(numOrList),
  seed: v.optional(numOrList),
  symbols: v.optional(numOrList),
  rttMs: v.optional(numOrList),
  rooms: v.optional(numOrList),
  sendHz: v.optional(numOrList),
  writePolicy: v.optional(v.union([v.string(), v.pipe(v.array(v.string()), v.minLength(1))])),
})

const CapacityInput = v.strictObject({
  /** clients during the search (default: the scenario's) */
  clients: v.optional(v.number()),
  transports: v.optional(v.array(v.string())),
  minDeliveryRatio: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  maxP99Ms: v.optional(v.pipe(v.number(), v.minValue(0))),
  stepS: v.optional(v.pipe(v.number(), v.minValue(0.5))),
  settleS: v.optional(v.pipe(v.number(), v.minValue(0))),
  maxSteps: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(20))),
  /**
   * search with the server under a CPU quota of this many cores (one search per value), so the server
   * saturates before the generator does; two values check that capacity scales with the quota
   */
  serverCpu: v.optional(v.union([v.number(), v.pipe(v.array(v.number()), v.minLength(1), v.maxLength(4))])),
  /** what doubles at each step: `batch` (updates per tick, the default) or `rate` (ticks a second) */
  step: v.optional(v.picklist(['batch', 'rate'])),
  /** after the first failing step, halve the interval to the last pass this many times (default 0) */
  refine: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(4))),
})

const ScenarioInput = v.strictObject({
  name: v.pipe(v.string(), v.minLength(1)),
  description: v.optional(v.string()),
  transports: v.optional(v.pipe(v.array(v.string()), v.minLength(1))),
  params: v.optional(ParamsInput),
  /** capacity search for the push transports (short polling: see autocannon) */
  capacity: v.optional(CapacityInput),
  /** the poll endpoint's ceiling with autocannon */
  autocannon: v.optional(
    v.strictObject({
      connections: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)),
      durationS: v.pipe(v.number(), v.minValue(1), v.maxValue(600)),
    }),
  ),
  /** run the bare baseline servers too (same params), to hold pushbench's servers against them */
  baseline: v.optional(v.boolean()),
  /** what the server publishes (lib/workloads.ts); default `ticker` */
  workload: v.optional(v.string()),
  /** what the server sends a held connection with nothing to say, ms (servers/options.ts defaults otherwise) */
  server: v.optional(
    v.strictObject({
      heartbeatMs: v.optional(v.number()),
      pingIntervalMs: v.optional(v.number()),
      longPollTimeoutMs: v.optional(v.number()),
    }),
  ),
  /** every run of the scenario over TLS (https, wss), a certificate made per run */
  tls: v.optional(v.boolean()),
  /** generator processes each run's clients are split over (load/session.ts; default 1) */
  generators: v.optional(v.number()),
  /**
   * instead of steady-state runs: each transport's connection lifecycle (load/lifecycle-probe.ts),
   * `connections` one after another; short polling also `pollsPerConnection` polls with and without
   * keep-alive; `wire`: between two network namespaces where the machine allows it (link bytes)
   */
  lifecycle: v.optional(
    v.strictObject({
      connections: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)),
      pollsPerConnection: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000))),
      wire: v.optional(v.boolean()),
    }),
  ),
  /**
   * instead of steady-state runs: fault runs (load/fault-run.ts), each kind for each transport, with
   * `clients` reconnecting clients (default: the params' clients)
   */
  faults: v.optional(
    v.strictObject({
      kinds: v.pipe(v.array(v.picklist(FAULT_KINDS)), v.minLength(1)),
      clients: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5000))),
      steadyS: v.optional(v.pipe(v.number(), v.minValue(0.5), v.maxValue(600))),
      downtimeMs: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(60_000))),
      ringSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(10_000_000))),
      gapRingSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000))),
      recoverS: v.optional(v.pipe(v.number(), v.minValue(1), v.maxValue(600))),
      slowFraction: v.optional(v.pipe(v.number(), v.minValue(0.01), v.maxValue(0.9))),
      slowReadBytesPerSecond: v.optional(
        v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1024 ** 3)),
      ),
      maxBufferedBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1024), v.maxValue(1024 ** 3))),
      latencyBound: v.optional(
        v.strictObject({
          ratio: v.pipe(v.number(), v.minValue(1), v.maxValue(100)),
          plusMs: v.pipe(v.number(), v.minValue(0), v.maxValue(60_000)),
        }),
      ),
    }),
  ),
})

export const ConfigSchema = v.strictObject({
  $schema: v.optional(v.string()),
  description: v.optional(v.string()),
  defaults: v.optional(ParamsInput),
  scenarios: v.pipe(v.array(ScenarioInput), v.minLength(1)),
})

export type ConfigInput = v.InferOutput<typeof ConfigSchema>

export interface CapacityPlan {
  clients: number
  transports: Transport[]
  minDeliveryRatio: number
  maxP99Ms: number
  stepS: number
  settleS: number
  maxSteps: number
  /** CPU quotas of the server, cores: one search each; empty = no quota */
  serverCpu: number[]
  step: 'batch' | 'rate'
  refine: number
}

/** One scenario after expansion: fixed params, what to run. */
export interface PlannedScenario {
  name: string
  /** the parent scenario's name (several planned scenarios share it in a sweep) */
  group: string
  params: ScenarioParams
  transports: Transport[]
  capacity: CapacityPlan | undefined
  autocannon: { connections: number; durationS: number } | undefined
  baseline: boolean
  workload: Workload
  /** server flags that set the scenario's `server` intervals (checked) */
  serverArgs: string[]
  tls: boolean
  lifecycle: LifecyclePlan | undefined
  faults: FaultPlan | undefined
  /** generator processes per run */
  generators: number
}

export interface LifecyclePlan {
  connections: number
  pollsPerConnection: number
  wire: boolean
}

export interface FaultPlan {
  kinds: FaultKind[]
  /** reconnecting clients per run */
  clients: number
  options: FaultOptions
}

export interface Overrides {
  transports?: Transport[] | undefined
  /** the client that will measure (default lean): source addresses are for lean clients only */
  client?: ClientKind | undefined
  scenario?: string | undefined
  seed?: number | undefined
}

export function profilePath(profile: Profile): string {
  return `${PROFILE_DIR}${profile}.json`
}

/** Reads and validates a config; every error names the file and the field. */
export function loadConfig(path: string, field = '--config'): ConfigInput {
  let data: unknown
  try {
    const st = statSync(path)
    if (st.isDirectory()) throw new Error('it is a folder; name a config file (JSON)')
    // read whole into memory: a config is a few KiB (bench/plan-size.ts)
    if (st.size > PLAN_LIMITS.configBytes)
      throw new Error(`${st.size} bytes, above the limit of ${PLAN_LIMITS.configBytes} for a config file`)
    data = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new PbOptionError(field, `cannot read ${path}: ${(err as Error).message}`)
  }
  return parseConfig(data, path, field)
}

/** Validates a config already parsed from JSON; an error names `field` and the file's fields by path. */
export function parseConfig(data: unknown, path: string, field = '--config'): ConfigInput {
  const r = v.safeParse(ConfigSchema, data)
  if (!r.success) throw new PbOptionError(field, `${path}: ${describeIssues(r.issues)}`)
  return r.output
}

type ParamKey = keyof ScenarioParams

/** Expands lists into one scenario per combination and checks every value (naming file and field). */
export function planScenarios(config: ConfigInput, source: string, o: Overrides = {}): PlannedScenario[] {
  const out: PlannedScenario[] = []
  const names = config.scenarios.map((s) => s.name)
  // `--scenario a,b`: several by name (the chat and its ticker twin, set side by side in one results file)
  const wanted = o.scenario?.split(',').map((n) => n.trim())
  for (const name of wanted ?? [])
    if (!names.includes(name))
      throw new PbOptionError(
        '--scenario',
        `no scenario ${JSON.stringify(name)} in ${source}; there are: ${names.join(', ')}`,
      )
  // counted from the list lengths, before a single combination is made
  checkPlanSize(config, source, o)
  config.scenarios.forEach((s, si) => {
    if (wanted !== undefined && !wanted.includes(s.name)) return
    const at = `${source}: scenarios[${si}]`
    const generators =
      s.generators === undefined ? 1 : checkNumber(`${at}.generators`, s.generators, GENERATORS_RANGE)
    const merged: Record<string, unknown> = { ...DEFAULT_PARAMS, ...config.defaults, ...s.params }
    if (o.seed !== undefined) merged.seed = o.seed
    const swept = (Object.keys(merged) as ParamKey[]).filter((k) => Array.isArray(merged[k]))
    const transports = (s.transports ?? defaultTransports()).map((t, i) =>
      checkChoice(`${at}.transports[${i}]`, t, transportNames()),
    )
    if (s.faults) {
      // the fault probe speaks the suite's four transports (a plugin's protocol is its own)
      transports.forEach((t, i) => {
        checkChoice(`${at}.transports[${i}]`, t, FAULT_TRANSPORTS)
      })
    }
    const chosen = o.transports ? transports.filter((t) => o.transports?.includes(t)) : transports
    const autocannon =
      s.autocannon && (!o.transports || o.transports.some((t) => transport(t).kind === 'poll'))
        ? s.autocannon
        : undefined
    if (chosen.length === 0 && !autocannon) return
    // a bad value is reported where the file sets it: the scenario's params, else the file's defaults
    const field = (key: string) =>
      s.params && key in s.params
        ? `${at}.params.${key}`
        : config.defaults && key in config.defaults
          ? `${source}: defaults.${key}`
          : `${at}.params.${key}`
    for (const combo of combinations(merged, swept)) {
      // the one validation of params (lib/params.ts), naming the field where the file sets it
      const params = { ...resolveParams(combo, field) }
      // what the host can deliver (lib/load-bound.ts), naming the fields to shrink
      checkPlannedLoad(params, field)
      // what the connection count asks of this host (open files, source addresses), checked before any run
      planConnections({
        transport: chosen[0] ?? 'websocket',
        params,
        generators,
        client: o.client,
        clientsField: field('clients'),
      })
      const label = swept.map((k) => `${k}=${String(params[k])}`).join(' ')
      const cap = s.capacity
      const capTransports = (cap?.transports ?? transportsOfKind('push')).map((t, i) =>
        checkChoice(`${at}.capacity.transports[${i}]`, t, transportNames()),
      )
      const capClients =
        cap?.clients === undefined
          ? params.clients
          : checkNumber(`${at}.capacity.clients`, cap.clients, PARAM_RANGES.clients)
      const capRuns = capTransports.filter((t) => transport(t).kind === 'push' && chosen.includes(t))
      // the search's clients ask the same of this host as a run's
      if (cap && capRuns.length > 0 && cap.clients !== undefined)
        planConnections({
          transport: capRuns[0] ?? 'websocket',
          params: { ...params, clients: capClients },
          client: o.client,
          clientsField: `${at}.capacity.clients`,
        })
      // autocannon's connections are descriptors in the server and in its worker (load/autocannon.ts)
      if (autocannon) planAutocannonNofile(autocannon.connections, `${at}.autocannon.connections`)
      // the chat is steady-state runs of the suite's own servers with node clients: what steps the publish
      // rate, replays a poll endpoint or probes connections has no sender (load/chat/)
      if (isTwoWay(s.workload))
        for (const [key, given] of [
          ['capacity', cap !== undefined],
          ['autocannon', autocannon !== undefined],
          ['baseline', s.baseline === true],
          ['lifecycle', s.lifecycle !== undefined],
          ['faults', s.faults !== undefined],
        ] as const)
          if (given)
            throw new PbOptionError(
              `${at}.${key}`,
              `not with workload ${s.workload}: its clients send (POST /send, WebSocket messages), which only steady-state runs of the suite's own servers do`,
            )
      if (isTwoWay(s.workload) && o.client === 'browser')
        throw new PbOptionError(`${at}.workload`, `${s.workload} has no browser client: use lean or library`)
      out.push({
        name: label ? `${s.name} ${label}` : s.name,
        group: s.name,
        params,
        transports: chosen,
        capacity: cap
          ? {
              clients: capClients,
              transports: capRuns,
              minDeliveryRatio: cap.minDeliveryRatio ?? 0.99,
              maxP99Ms: cap.maxP99Ms ?? 100,
              stepS: cap.stepS ?? 3,
              settleS: cap.settleS ?? 1,
              maxSteps: cap.maxSteps ?? 12,
              step: cap.step ?? 'batch',
              refine: cap.refine ?? 0,
              serverCpu: (cap.serverCpu === undefined ? [] : [cap.serverCpu].flat()).map((c, i) => {
                try {
                  cpuCapQuotaUs(c)
                } catch (err) {
                  throw new PbOptionError(`${at}.capacity.serverCpu[${i}]`, (err as PbOptionError).message)
                }
                return c
              }),
            }
          : undefined,
        autocannon,
        baseline: s.baseline === true,
        workload: checkChoice(`${at}.workload`, s.workload ?? DEFAULT_WORKLOAD, WORKLOADS),
        serverArgs: serverIntervalArgs(s.server ?? {}, (key) => `${at}.server.${key}`),
        tls: s.tls === true,
        generators,
        lifecycle: s.lifecycle
          ? {
              connections: s.lifecycle.connections,
              pollsPerConnection: s.lifecycle.pollsPerConnection ?? 10,
              wire: s.lifecycle.wire === true,
            }
          : undefined,
        faults: s.faults
          ? (() => {
              const { kinds, clients, ...rest } = s.faults
              return {
                kinds: [...new Set(kinds)],
                clients: clients ?? params.clients,
                options: { ...FAULT_DEFAULTS, ...rest },
              }
            })()
          : undefined,
      })
    }
  })
  if (out.length === 0)
    throw new PbOptionError('--transports', `nothing to run in ${source} for the transports chosen`)
  return out
}

function* combinations(
  merged: Record<string, unknown>,
  swept: ParamKey[],
  i = 0,
): Generator<Record<string, unknown>> {
  if (i === swept.length) {
    yield { ...merged }
    return
  }
  const key = swept[i] as ParamKey
  for (const value of merged[key] as unknown[]) yield* combinations({ ...merged, [key]: value }, swept, i + 1)
}

/**
 * Seconds `clients` take to connect: Node clients ~1 ms each; a page takes Chromium about 1 s to open on
 * one core, and it settles for a few seconds after (load/generator.ts).
 */
export function connectSeconds(clients: number, client?: ClientKind): number {
  return client === 'browser' ? 5 + clients : clients / 1000
}

/** Seconds a scenario is planned to take, for the progress estimate (connect and stop included). */
export function plannedSeconds(s: PlannedScenario, client?: ClientKind): number {
  const p = s.params
  if (s.lifecycle) {
    // a server start, then connections one after another: a few ms each on loopback, plus ~3 RTT
    const l = s.lifecycle
    return (
      s.transports.length * (3 + (l.connections + 2 * l.pollsPerConnection) * (0.05 + (3 * p.rttMs) / 1000))
    )
  }
  if (s.faults)
    return (
      s.transports.length * s.faults.kinds.reduce((t, k) => t + faultSeconds(k, s.faults as FaultPlan), 0)
    )
  const overhead = 2 + connectSeconds(s.params.clients, client)
  const drainS = (t: Transport) => (transport(t).kind === 'poll' ? (2 * p.pollIntervalMs + 500) / 1000 : 1)
  const servers = s.baseline ? 2 : 1
  let total = 0
  for (const t of s.transports) total += servers * (overhead + p.warmupS + p.durationS + drainS(t))
  if (s.capacity) {
    const perStep = (s.capacity.settleS + s.capacity.stepS + 1) * (1 + s.capacity.refine / 6)
    const searches = s.capacity.transports.length * servers * Math.max(1, s.capacity.serverCpu.length)
    total += searches * (overhead + perStep * Math.min(s.capacity.maxSteps, 6))
  }
  if (s.autocannon) total += servers * (s.autocannon.durationS + 2)
  return total
}

/** Seconds one fault run is planned to take: two servers' starts, connect, steady before and after, the fault. */
export function faultSeconds(kind: FaultKind, f: FaultPlan): number {
  const o = f.options
  const base = 3 + f.clients / 500 + 2 * o.steadyS
  if (kind.startsWith('restart')) return base + o.downtimeMs / 1000 + 4
  if (kind === 'storm') return base + 3
  if (kind === 'slow-consumers') return base + o.steadyS + 5
  return base
}
