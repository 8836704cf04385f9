/**
 * "Which transport for this load": the answer and its evidence, from results files alone (no I/O here).
 *
 * The evidence is the measured rows nearest the question; what the rows cannot say for the exact question
 * comes from the models: bytes per update from the byte model (load/model/), the latency a round trip adds
 * from the freshness model (load/model/freshness.ts). CPU per update is carried from the nearest row as
 * measured (short polling's is rescaled by the polls it makes, since its cost follows polls, not updates).
 * Every figure says where it came from, and a question outside what was measured says by how far.
 */
import { DEFAULT_PARAMS, PARAM_RANGES, type ScenarioParams } from '../lib/params.ts'
import {
  type CompletedResult,
  isCompleted,
  type Params,
  type ResultsFile,
  type Scenario,
} from '../lib/results-schema.ts'
import { isTransport, transport, transportNames } from '../lib/transports.ts'
import { expectedUpdates, formatCount, sig3 } from './format.ts'

/** What the user asks about. */
export interface Question {
  clients: number
  /** updates a second the feed publishes; every client receives every one */
  ratePerS: number
  /** bytes of one serialised update */
  payloadBytes: number
  /** short polling's client schedule, ms between polls */
  pollIntervalMs: number
  /** network round trip, ms (0: the loopback the rows were measured on) */
  rttMs: number
  /** the stalest median the feed may have: a transport predicted above it is not a candidate */
  maxP50Ms?: number
}

/** A pick this many times staler than the freshest candidate gets a remark that says so. */
export const STALER = 2

/** A transport must deliver at least this share of what its clients should have seen to be picked. */
export const MIN_DELIVERED = 0.99
/** CPU figures within this of the lowest are a tie (run-to-run noise here is 10-20%, report/metrics.ts). */
export const TIE = 0.1
/** Where the byte model's seqs sit: 6 digits, as a feed that has run a while has. */
const MODEL_CONTEXT = { host: '127.0.0.1', port: 8080, seqFrom: 100_000, seqTo: 999_999 }
const GIB = 2 ** 30

/** A parameter the distance is measured over, and how it is written. */
interface Axis {
  key: keyof Point
  /** the unit after a value: `1,000 clients`, `10 updates/s` */
  unit: string
  /** only for `poll` transports (the poll interval matters to short polling alone) */
  pollOnly: boolean
}

/** Where a question or a row sits: the parameters distance is measured over. */
export interface Point {
  clients: number
  /** updates a second each client receives (tickHz x updatesPerTick) */
  ratePerS: number
  payloadBytes: number
  pollIntervalMs: number
}

const AXES: readonly Axis[] = [
  { key: 'clients', unit: 'clients', pollOnly: false },
  { key: 'ratePerS', unit: 'updates/s', pollOnly: false },
  { key: 'payloadBytes', unit: 'B payload', pollOnly: false },
  { key: 'pollIntervalMs', unit: 'ms poll interval', pollOnly: true },
]

/** One measured row: where it came from and the conditions it was measured under. */
export interface RowRef {
  runId: string
  scenario: string
  transport: string
  point: Point
  tickHz: number
  updatesPerTick: number
}

/** A parameter of the question outside the range measured for a transport. */
export interface Extrapolation {
  param: keyof Point
  value: number
  /** the largest measured (question above it) or the smallest (below it) */
  measured: number
  side: 'above' | 'below'
  /** question / largest, or smallest / question: at least 1 */
  factor: number
  /** `10,000 clients is 10x the largest measured, 1,000` */
  text: string
}

export interface Prediction {
  /** bytes on the wire per delivered update, both directions, from the byte model at the question's params */
  bytesPerUpdate: number
  /** server CPU per delivered update, us, from the nearest row (short polling: rescaled by polls) */
  serverUsPerUpdate: number
  /** cores the load needs: us/update x clients x rate / 1e6 */
  coresNeeded: number
  fitsOneCore: boolean
  /** predicted median latency, ms: the row's measured p50 less its modelled share plus the question's */
  p50Ms: number
  freshness: { rowP50Ms: number; rowModelMs: number; questionModelMs: number }
  /** delivered / expected in the nearest row */
  deliveredShare: number
  missed: number
  expected: number
  /** server memory per connection (serverMemory.bytesPerConnection), from the nearest row that has it */
  bytesPerConnection?: number
  connectionsPerGiB?: number
  /** the row bytesPerConnection came from, when it is not the nearest */
  memoryFrom?: RowRef
  /** the nearest row's generator was busy: its latency is an upper bound */
  latencyUpperBound: boolean
  /** what the run said of the nearest row (a disturbed host, late ticks): the evidence's own caveats */
  rowWarnings: string[]
}

export interface TransportAdvice {
  transport: string
  label: string
  /** the nearest usable row, absent when there is none */
  nearest?: RowRef
  /** distance from the question in log10 space (1 = one parameter 10x off) */
  distance?: number
  /** the largest factor between question and nearest row over any one parameter */
  maxFactor?: number
  /** usable rows of this transport */
  rows: number
  /** the question's parameters outside the measured range of this transport's rows */
  extrapolated: Extrapolation[]
  prediction?: Prediction
  /** fits one core and delivered enough: a candidate for the pick */
  eligible: boolean
  /** why it is not a candidate */
  excluded?: string
}

export interface SkippedRows {
  reason: string
  /** `long-poll in quick (quick-2026...)` */
  rows: string[]
}

export interface Advice {
  question: Question
  /** the params the byte and freshness models were given for the question */
  modelParams: Pick<
    ScenarioParams,
    'clients' | 'tickHz' | 'updatesPerTick' | 'payloadBytes' | 'pollIntervalMs'
  >
  /** the transport picked, absent when none fits */
  pick?: string
  /** the answer in one or two sentences */
  verdict: string
  /** one line each: freshness, CPU per update, bytes per update, connections per GiB, with the figures */
  reasons: string[]
  transports: TransportAdvice[]
  evidence: { files: number; rows: number; used: number; skipped: SkippedRows[] }
  /** what the reader must know: extrapolation, modelled round trip, rows skipped */
  notes: string[]
}

interface Row {
  ref: RowRef
  result: CompletedResult
  params: Params
}

/** Answers the question from the rows of `files`. */
export function advise(question: Question, files: readonly ResultsFile[]): Advice {
  const { rows, skipped, total } = collectRows(files)
  const modelParams = questionParams(question)
  // every registered transport, one without evidence too (the answer says it could not judge it); an
  // opt-in one (Socket.IO, HTTP/2) only where the files measured it
  const measured = new Set(rows.map((r) => r.ref.transport))
  const named = transportNames().filter((n) => !transport(n).optIn || measured.has(n))
  const transports = named.map((name) =>
    adviseTransport(
      name,
      question,
      modelParams,
      rows.filter((r) => r.ref.transport === name),
    ),
  )
  const pick = choose(transports)
  const notes = buildNotes(question, modelParams, transports, skipped)
  return {
    question,
    modelParams: {
      clients: modelParams.clients,
      tickHz: modelParams.tickHz,
      updatesPerTick: modelParams.updatesPerTick,
      payloadBytes: modelParams.payloadBytes,
      pollIntervalMs: modelParams.pollIntervalMs,
    },
    ...(pick === undefined ? {} : { pick }),
    verdict: verdict(question, transports, pick),
    reasons: reasons(question, transports, pick),
    transports,
    evidence: { files: files.length, rows: total, used: rows.length, skipped },
    notes,
  }
}

/** True when some transport's nearest row is within `factor` of the question in every parameter. */
export function hasCloseEvidence(a: Advice, factor = 10): boolean {
  return a.transports.some((t) => t.maxFactor !== undefined && t.maxFactor <= factor * (1 + 1e-9))
}

/**
 * The scenario params the models get for the question: each update its own tick (what a live feed does),
 * up to the tick rate params allow (PARAM_RANGES.tickHz.max); above it, updates share ticks.
 */
export function questionParams(q: Question): ScenarioParams {
  const updatesPerTick = Math.max(1, Math.ceil(q.ratePerS / PARAM_RANGES.tickHz.max))
  return {
    ...DEFAULT_PARAMS,
    clients: q.clients,
    tickHz: q.ratePerS / updatesPerTick,
    updatesPerTick,
    payloadBytes: q.payloadBytes,
    pollIntervalMs: q.pollIntervalMs,
    writePolicy: 'per-tick',
  }
}

/** The round trip a row ran under: `params.rttMs` where a newer file carries it, else loopback (0). */
function rowRttMs(p: Params): number {
  const rtt = (p as { rttMs?: unknown }).rttMs
  return typeof rtt === 'number' && Number.isFinite(rtt) && rtt >= 0 ? rtt : 0
}

/** Every row usable as evidence, and the rest with the reason each was left out. */
function collectRows(files: readonly ResultsFile[]): { rows: Row[]; skipped: SkippedRows[]; total: number } {
  const rows: Row[] = []
  const skips = new Map<string, string[]>()
  const skip = (reason: string, what: string) => skips.set(reason, [...(skips.get(reason) ?? []), what])
  let total = 0
  for (const file of files) {
    for (const s of file.scenarios) {
      for (const r of s.results) {
        total++
        const what = `${r.transport} in ${s.name} (${file.runId})`
        if (!isCompleted(r)) skip('that errored', what)
        else if (r.generator.saturated)
          skip('whose generator saturated (they measure the generator, not the server)', what)
        else if (r.server === 'baseline') skip("of a bare baseline server, not the suite's own", what)
        else if ((r.workload ?? 'ticker') !== 'ticker') skip('of another workload than the ticker', what)
        else if (!isTransport(r.transport)) skip('of a transport not registered here', what)
        else if (s.params.writePolicy === 'per-update' && s.params.updatesPerTick > 1)
          skip('with per-update writes of several updates a tick (advise assumes per-tick writes)', what)
        else if (r.updates.delivered === 0) skip('that delivered nothing', what)
        else rows.push({ ref: rowRef(file, s, r), result: r, params: s.params })
      }
    }
  }
  const skipped = [...skips].map(([reason, list]) => ({ reason, rows: list }))
  return { rows, skipped, total }
}

function rowRef(file: ResultsFile, s: Scenario, r: CompletedResult): RowRef {
  const p = s.params
  return {
    runId: file.runId,
    scenario: s.name,
    transport: r.transport,
    point: {
      clients: p.clients,
      ratePerS: p.tickHz * p.updatesPerTick,
      payloadBytes: p.payloadBytes,
      pollIntervalMs: p.pollIntervalMs,
    },
    tickHz: p.tickHz,
    updatesPerTick: p.updatesPerTick,
  }
}

const questionPoint = (q: Question): Point => ({
  clients: q.clients,
  ratePerS: q.ratePerS,
  payloadBytes: q.payloadBytes,
  pollIntervalMs: q.pollIntervalMs,
})

const axesOf = (name: string): readonly Axis[] =>
  AXES.filter((a) => !a.pollOnly || transport(name).kind === 'poll')

/** Euclidean distance of log10 ratios: 1 = one parameter a factor of 10 off. */
function distance(q: Point, r: Point, axes: readonly Axis[]): number {
  return Math.hypot(...axes.map((a) => Math.log10(q[a.key] / r[a.key])))
}

function maxFactor(q: Point, r: Point, axes: readonly Axis[]): number {
  return Math.max(...axes.map((a) => 10 ** Math.abs(Math.log10(q[a.key] / r[a.key]))))
}

function adviseTransport(
  name: string,
  q: Question,
  modelParams: ScenarioParams,
  rows: readonly Row[],
): TransportAdvice {
  const entry = transport(name)
  const base = { transport: name, label: entry.label, rows: rows.length }
  const axes = axesOf(name)
  const qp = questionPoint(q)
  const byDistance = rows
    .map((row) => ({ row, d: distance(qp, row.ref.point, axes) }))
    .sort((a, b) => a.d - b.d)
  const nearest = byDistance[0]
  if (!nearest) {
    return { ...base, extrapolated: [], eligible: false, excluded: 'no usable measured row' }
  }
  const row = nearest.row
  const extrapolated = extrapolations(
    qp,
    rows.map((r) => r.ref.point),
    axes,
  )
  const prediction = predict(name, q, modelParams, row, byDistance.map((x) => x.row).slice(1))
  const excluded = !prediction.fitsOneCore
    ? `needs ${sig3(prediction.coresNeeded)} cores of server CPU`
    : prediction.deliveredShare < MIN_DELIVERED
      ? `its row delivered ${pct(prediction.deliveredShare)} (${formatCount(prediction.missed)} of ${formatCount(prediction.expected)} missed), under ${pct(MIN_DELIVERED)}`
      : q.maxP50Ms !== undefined && prediction.p50Ms > q.maxP50Ms
        ? `predicted p50 ${msText(prediction.p50Ms)} is over --max-p50-ms ${msText(q.maxP50Ms)}`
        : undefined
  return {
    ...base,
    nearest: row.ref,
    distance: nearest.d,
    maxFactor: maxFactor(qp, row.ref.point, axes),
    extrapolated,
    prediction,
    eligible: excluded === undefined,
    ...(excluded === undefined ? {} : { excluded }),
  }
}

/** The question's parameters outside [smallest, largest] measured, as factors. */
function extrapolations(q: Point, points: readonly Point[], axes: readonly Axis[]): Extrapolation[] {
  const out: Extrapolation[] = []
  for (const a of axes) {
    const values = points.map((p) => p[a.key])
    const hi = Math.max(...values)
    const lo = Math.min(...values)
    const v = q[a.key]
    const fmt = (n: number) => (n >= 1000 ? formatCount(n) : sig3(n))
    if (v > hi * (1 + 1e-9)) {
      const factor = v / hi
      out.push({
        param: a.key,
        value: v,
        measured: hi,
        side: 'above',
        factor,
        text: `${fmt(v)} ${a.unit} is ${sig3(factor)}x the largest measured, ${fmt(hi)}`,
      })
    } else if (v < lo * (1 - 1e-9)) {
      const factor = lo / v
      out.push({
        param: a.key,
        value: v,
        measured: lo,
        side: 'below',
        factor,
        text: `${fmt(v)} ${a.unit} is ${sig3(factor)}x below the smallest measured, ${fmt(lo)}`,
      })
    }
  }
  return out
}

function predict(
  name: string,
  q: Question,
  modelParams: ScenarioParams,
  row: Row,
  others: readonly Row[],
): Prediction {
  const entry = transport(name)
  const r = row.result
  const bytesPerUpdate = entry.model(modelParams, { ...MODEL_CONTEXT, path: entry.path }).perUpdate
  const serverUsPerUpdate = usPerUpdate(entry.kind, row, q)
  const coresNeeded = (serverUsPerUpdate * q.clients * q.ratePerS) / 1e6
  const rowModelMs = entry.freshness({
    ratePerS: row.params.tickHz,
    pollIntervalMs: row.params.pollIntervalMs,
    rttMs: rowRttMs(row.params),
    // the row's ticker published on a strict period
    periodic: true,
  })
  const questionModelMs = entry.freshness({
    ratePerS: modelParams.tickHz,
    pollIntervalMs: q.pollIntervalMs,
    rttMs: q.rttMs,
  })
  const expected = expectedUpdates(r, row.params)
  const deliveredShare = expected > 0 ? 1 - r.updates.missed / expected : 0
  const memoryRow = [row, ...others].find((x) => (x.result.serverMemory.bytesPerConnection ?? 0) > 0)
  const bytesPerConnection = memoryRow?.result.serverMemory.bytesPerConnection
  return {
    bytesPerUpdate,
    serverUsPerUpdate,
    coresNeeded,
    fitsOneCore: coresNeeded <= 1,
    p50Ms: Math.max(0, r.latencyMs.p50 - rowModelMs + questionModelMs),
    freshness: { rowP50Ms: r.latencyMs.p50, rowModelMs, questionModelMs },
    deliveredShare,
    missed: r.updates.missed,
    expected,
    latencyUpperBound: r.generator.busy === true,
    rowWarnings: r.warnings ?? [],
    ...(bytesPerConnection === undefined
      ? {}
      : { bytesPerConnection, connectionsPerGiB: GIB / bytesPerConnection }),
    ...(memoryRow && memoryRow !== row ? { memoryFrom: memoryRow.ref } : {}),
  }
}

/**
 * Server CPU per delivered update at the question. Push transports: the row's, as measured. Short
 * polling pays per request, whatever the request carries: the row's CPU per request times the polls a
 * client makes a second, over the updates it receives a second.
 */
function usPerUpdate(kind: 'push' | 'poll', row: Row, q: Question): number {
  const r = row.result
  const us = r.serverCpu.usPerDeliveredUpdate
  if (kind !== 'poll' || r.requests === 0) return us
  const usPerRequest = (us * r.updates.delivered) / r.requests
  return (usPerRequest * (1000 / q.pollIntervalMs)) / q.ratePerS
}

/**
 * The pick: among the candidates (fit one core, delivered >= 99%), the lowest server CPU per update.
 * Within 10% of it is a tie, broken by the fresher p50 (again within 10% a tie), then by fewer bytes.
 */
function choose(ts: readonly TransportAdvice[]): string | undefined {
  const c = ts.filter((t) => t.eligible && t.prediction) as (TransportAdvice & { prediction: Prediction })[]
  if (c.length === 0) return undefined
  const minCpu = Math.min(...c.map((t) => t.prediction.serverUsPerUpdate))
  const cheap = c.filter((t) => t.prediction.serverUsPerUpdate <= minCpu * (1 + TIE))
  const minP50 = Math.min(...cheap.map((t) => t.prediction.p50Ms))
  const fresh = cheap.filter((t) => t.prediction.p50Ms <= minP50 * (1 + TIE))
  fresh.sort(
    (a, b) =>
      a.prediction.bytesPerUpdate - b.prediction.bytesPerUpdate || a.prediction.p50Ms - b.prediction.p50Ms,
  )
  return fresh[0]?.transport
}

const pct = (share: number): string => `${sig3(share * 100)}%`
const msText = (ms: number): string => (ms >= 1000 ? `${formatCount(ms)} ms` : `${sig3(ms)} ms`)
const loadText = (q: Question): string => `${formatCount(q.clients)} clients x ${sig3(q.ratePerS)} updates/s`

function verdict(q: Question, ts: readonly TransportAdvice[], pick: string | undefined): string {
  const predicted = ts.filter((t) => t.prediction)
  if (predicted.length === 0)
    return 'No evidence: the results given have no usable measured row, so nothing can be predicted.'
  if (pick === undefined) {
    const why = predicted.map((t) => `${t.label} ${t.excluded}`).join('; ')
    const cheapest = [...predicted].sort(
      (a, b) => (a.prediction?.coresNeeded ?? 0) - (b.prediction?.coresNeeded ?? 0),
    )[0] as TransportAdvice & { prediction: Prediction }
    const split = cheapest.prediction.fitsOneCore
      ? ''
      : ` The cheapest, ${cheapest.label}, needs ${sig3(cheapest.prediction.coresNeeded)} cores: more than one server process, or fewer clients per server.`
    return `No transport fits ${loadText(q)}: none is predicted to fit one core of server CPU and deliver ${pct(MIN_DELIVERED)} (${why}).${split}`
  }
  const t = ts.find((x) => x.transport === pick) as TransportAdvice & { prediction: Prediction }
  const p = t.prediction
  const rivals = predicted.filter((x) => x.eligible && x.transport !== pick)
  const tie = rivals.some((x) => (x.prediction?.serverUsPerUpdate ?? 0) <= p.serverUsPerUpdate * (1 + TIE))
  const within = q.maxP50Ms !== undefined ? `, are predicted fresh within ${msText(q.maxP50Ms)} at p50` : ''
  let s = `${t.label}: the least server CPU per update (${sig3(p.serverUsPerUpdate)} us, ${sig3(p.coresNeeded)} of a core for ${loadText(q)})${tie ? ', a tie within 10% broken by freshness, then bytes,' : ''} among the transports that fit one core${within} and delivered at least ${pct(MIN_DELIVERED)}.`
  // cost first is the rule, but a reader must see what it costs in freshness
  const fresher = rivals
    .filter((x) => x.prediction && x.prediction.p50Ms * STALER < p.p50Ms)
    .sort((a, b) => (a.prediction?.p50Ms ?? 0) - (b.prediction?.p50Ms ?? 0))[0]
  if (fresher?.prediction)
    s += ` It is ${sig3(p.p50Ms / Math.max(fresher.prediction.p50Ms, 0.001))}x staler than ${fresher.label} (p50 ${msText(p.p50Ms)} against ${msText(fresher.prediction.p50Ms)}); if the feed must be fresher, ask again with --max-p50-ms.`
  if (t.extrapolated.length > 0) s += ` Extrapolated: ${t.extrapolated.map((e) => e.text).join('; ')}.`
  return s
}

/**
 * `title: PICK x (detail), against B y (ratio, detail), ...`: the pick (or, with none, the best) first,
 * the rest best first, each with its ratio to the first.
 */
function compareLine(
  title: string,
  ts: readonly TransportAdvice[],
  pick: string | undefined,
  value: (p: Prediction) => number | undefined,
  text: (n: number) => string,
  detail: (p: Prediction) => string | undefined = () => undefined,
  better: 'lower' | 'higher' = 'lower',
  /** why no transport has the value, when none has */
  unknownWhy?: string,
): string {
  const sign = better === 'lower' ? 1 : -1
  const have = ts
    .filter((t) => t.prediction && value(t.prediction) !== undefined)
    .map((t) => ({ t, p: t.prediction as Prediction, v: value(t.prediction as Prediction) as number }))
    .sort((a, b) => sign * (a.v - b.v))
  const first = have.find((h) => h.t.transport === pick) ?? have[0]
  if (!first) return `${title}: not known for any transport${unknownWhy ? `: ${unknownWhy}` : ''}`
  const paren = (parts: (string | undefined)[]) => {
    const kept = parts.filter((x) => x !== undefined)
    return kept.length > 0 ? ` (${kept.join(', ')})` : ''
  }
  const rest = have
    .filter((h) => h !== first)
    .map((h) => {
      const ratio = first.v > 0 ? `${sig3(h.v / first.v)}x` : undefined
      return `${h.t.label} ${text(h.v)}${paren([ratio, detail(h.p)])}`
    })
  const missing = ts.filter((t) => t.prediction && value(t.prediction) === undefined).map((t) => t.label)
  let line = `${title}: ${first.t.label} ${text(first.v)}${paren([detail(first.p)])}`
  if (rest.length > 0) line += `, against ${rest.join(', ')}`
  if (missing.length > 0) line += `; not measured for ${missing.join(', ')}`
  return line
}

function reasons(q: Question, ts: readonly TransportAdvice[], pick: string | undefined): string[] {
  if (!ts.some((t) => t.prediction)) return []
  const memory = compareLine(
    'connections per GiB of server memory',
    ts,
    pick,
    (p) => p.connectionsPerGiB,
    formatCount,
    (p) => `${formatCount(p.bytesPerConnection ?? 0)} B each`,
    'higher',
    'the rows have no serverMemory.bytesPerConnection (files from before it existed, or runs whose RSS grew under 8 MiB over the ramp: too few connections to tell)',
  )
  return [
    compareLine(
      `freshness (predicted p50${q.rttMs > 0 ? `, RTT ${sig3(q.rttMs)} ms` : ''})`,
      ts,
      pick,
      (p) => p.p50Ms,
      msText,
    ),
    compareLine(
      'server CPU per update',
      ts,
      pick,
      (p) => p.serverUsPerUpdate,
      (n) => `${sig3(n)} us`,
      (p) => `${sig3(p.coresNeeded)} cores`,
    ),
    compareLine(
      'bytes per update (model)',
      ts,
      pick,
      (p) => p.bytesPerUpdate,
      (n) => `${sig3(n)} B`,
    ),
    memory,
  ]
}

function buildNotes(
  q: Question,
  modelParams: ScenarioParams,
  ts: readonly TransportAdvice[],
  skipped: readonly SkippedRows[],
): string[] {
  const notes: string[] = []
  for (const s of skipped) {
    const n = s.rows.length
    notes.push(`skipped ${n} row${n === 1 ? '' : 's'} ${s.reason}: ${s.rows.join(', ')}`)
  }
  for (const t of ts) {
    if (!t.prediction) notes.push(`${t.label}: no usable measured row, so no prediction`)
    else if (t.extrapolated.length > 0)
      notes.push(`${t.label}: extrapolated: ${t.extrapolated.map((e) => e.text).join('; ')}`)
  }
  if (q.rttMs > 0)
    notes.push(
      `the ${sig3(q.rttMs)} ms round trip is modelled (load/model/freshness.ts), not measured: the rows ran on loopback`,
    )
  if (modelParams.updatesPerTick > 1)
    notes.push(
      `${sig3(q.ratePerS)} updates/s is modelled as ${sig3(modelParams.tickHz)} ticks/s of ${modelParams.updatesPerTick} updates (the highest tick rate params allow is ${formatCount(PARAM_RANGES.tickHz.max)})`,
    )
  const shortPoll = ts.find((t) => transport(t.transport).kind === 'poll' && t.prediction)
  if (shortPoll && q.ratePerS > 0)
    notes.push(
      `${shortPoll.label}'s CPU is scaled by polls (${sig3(1000 / q.pollIntervalMs)}/s a client), not by updates; a poll carrying more updates costs somewhat more than the row's did`,
    )
  for (const t of ts) {
    const w = t.prediction?.rowWarnings ?? []
    if (w.length > 0)
      notes.push(
        `${t.label}'s nearest row carries ${w.length} warning${w.length === 1 ? '' : 's'} from its run: ${w.join('; ')}`,
      )
    if (t.prediction?.latencyUpperBound)
      notes.push(
        `${t.label}'s row had a busy generator: its latency, and the p50 predicted from it, is an upper bound`,
      )
  }
  return notes
}
