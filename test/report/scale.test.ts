import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as v from 'valibot'
import { loadConfig, planScenarios, profilePath } from '../../bench/config.ts'
import { nofileFor, planNofile, readNofile } from '../../lib/nofile.ts'
import { readResults } from '../../lib/results-io.ts'
import {
  type CompletedResult,
  isCompleted,
  type ResultsFile,
  ResultsFileSchema,
  type Scenario,
} from '../../lib/results-schema.ts'
import { transportNames } from '../../lib/transports.ts'
import { type ChartSpec, chartConfigs, findSweeps, scaleSweeps } from '../../report/chart-configs.ts'
import { type CostPoint, describeGrowth, flatUntil } from '../../report/cost-growth.ts'
import { renderHtmlReport } from '../../report/html.ts'
import { formatSummary } from '../../report/summary.ts'
import { buildScaleTable } from '../../report/summary-table.ts'
import { fixture } from './helpers.ts'

const quick = readResults(fixture('results-quick.json'))
const sweepFixture = readResults(fixture('results-sweep.json'))

const PUSH_CLIENTS = [100, 300, 1000, 3000, 10000, 20000]
const POLL_CLIENTS = [100, 300, 1000, 3000, 10000]
/** the shipped profile's steps: 19,900 at the top, what a 20,000 open-files limit per process holds */
const PROFILE_PUSH_CLIENTS = [100, 300, 1000, 3000, 10000, 19900]

/** Server us per delivered update at each count (PUSH_CLIENTS or POLL_CLIENTS order). */
const COST: Record<string, number[]> = {
  // falls while fixed costs dominate, flat from 1,000 (around 11.5), up 56.5% at 20,000
  sse: [40, 20, 12, 11, 12.5, 18],
  // flat; its generator saturated at 20,000 (the point is left out of the growth)
  websocket: [10, 10, 9, 9.5, 10, 30],
  // around 49 to 1,000, above the band from 3,000, +145% at 10,000
  'long-poll': [50, 48, 52, 70, 120],
  // flat throughout
  'short-poll': [30, 31, 29, 30, 32],
}

function run(transport: string, clients: number, i: number): CompletedResult {
  const base = quick.scenarios[0]?.results.find((r) => r.transport === transport)
  assert.ok(base && isCompleted(base), transport)
  const r = structuredClone(base)
  const us = COST[transport]?.[i] ?? 0
  r.serverCpu.usPerDeliveredUpdate = us
  r.serverCpu.eventLoopUtilization = Math.min(1, (us * clients) / 1e6)
  r.bytes.perDeliveredUpdate = 100 + i
  r.latencyMs.p99 = 1 + i
  r.serverMemory.bytesPerConnection = 10 * 1024 + i * 512
  r.updates.missed = 0
  r.generator = {
    ...r.generator,
    saturated: transport === 'websocket' && clients === 20000,
    busy: transport === 'sse' && clients === 20000,
    eventLoopUtilization: 0.1 + i / 10,
    connectMs: clients / 2,
    sourceAddresses: clients > 14000 ? 2 : 1,
    // sse at 300 clients: the generator's growth was too small to measure, so no figure
    ...(transport === 'sse' && clients === 300 ? {} : { bytesPerConnection: 2048 + i * 100 }),
  }
  if (transport === 'long-poll' && clients === 10000) r.updates.missed = 42
  return r
}

/** The `scale` profile's results: `scale` (SSE, WebSocket to 20,000) and `scale-poll` (polling to 10,000). */
function scaleFile(): ResultsFile {
  const base = quick.scenarios[0]
  assert.ok(base)
  const params = { ...base.params, tickHz: 1, pollIntervalMs: 1000, durationS: 8, warmupS: 3 }
  const scenario = (group: string, transports: string[], clients: number, i: number): Scenario => ({
    name: `${group} clients=${clients}`,
    params: { ...params, clients },
    results: transports.map((t) => run(t, clients, i)),
  })
  const file: ResultsFile = {
    ...quick,
    profile: 'scale',
    scenarios: [
      ...PUSH_CLIENTS.map((c, i) => scenario('scale', ['sse', 'websocket'], c, i)),
      ...POLL_CLIENTS.map((c, i) => scenario('scale-poll', ['long-poll', 'short-poll'], c, i)),
    ],
  }
  // as a results file must be
  return v.parse(ResultsFileSchema, file)
}

type Point = { x: number; y: number | null }
type Line = { label: string; data: Point[]; pointStyle: string[]; borderDash?: number[] }
const linesOf = (c: ChartSpec): Line[] => c.config.data.datasets as unknown as Line[]
const scalesOf = (c: ChartSpec) =>
  c.config.options?.scales as Record<string, { type: string; title: { text: string } }>
const subtitleOf = (c: ChartSpec): string =>
  ((c.config.options?.plugins?.subtitle as { text: string[] } | undefined)?.text ?? []).join(' | ')

test('the scale profile: its two scenarios are one clients sweep, every transport on it', () => {
  const file = scaleFile()
  const sweeps = findSweeps(file)
  assert.equal(sweeps.length, 1)
  const [sw] = sweeps
  assert.ok(sw)
  assert.equal(sw.param, 'clients')
  assert.deepEqual(
    sw.scenarios.map((s) => s.params.clients),
    PUSH_CLIENTS,
  )
  // the scenarios of a count that ran disjoint transports are merged: 100 to 10,000 carry all four
  assert.deepEqual(
    sw.scenarios.map((s) => s.results.map((r) => r.transport).sort()),
    [...POLL_CLIENTS.map(() => ['long-poll', 'short-poll', 'sse', 'websocket']), ['sse', 'websocket']],
  )
  assert.equal(sw.members?.length, file.scenarios.length)
  assert.deepEqual(scaleSweeps(file), sweeps)
  // every scenario is on the sweep: each keeps only its latency distribution, no bar charts
  const own = chartConfigs(file).filter((c) => c.sweep === undefined)
  assert.deepEqual(
    own.map((c) => c.id),
    file.scenarios.map((s) => `${s.name.replace(/[^a-z0-9]+/g, '-')}-latency-distribution`),
  )
})

test('scale charts: against clients on a log x axis; memory of server and generator, connect time', () => {
  const specs = chartConfigs(scaleFile()).filter((c) => c.sweep === 'clients')
  assert.deepEqual(
    specs.map((c) => c.id),
    [
      'sweep-clients-latency-p50',
      'sweep-clients-latency-p99',
      'sweep-clients-bytes',
      'sweep-clients-cpu',
      'sweep-clients-throughput',
      'sweep-clients-memory',
      'sweep-clients-connect',
    ],
  )
  for (const c of specs) {
    assert.equal(scalesOf(c).x?.type, 'logarithmic', c.id)
    assert.equal(scalesOf(c).x?.title.text, 'clients', c.id)
    assert.match(c.title, /log x/, c.id)
  }
  const byId = (id: string) => specs.find((c) => c.id === `sweep-clients-${id}`) as ChartSpec

  // server CPU per update: a line per transport with the file's figures; polling stops at 10,000
  const cpu = linesOf(byId('cpu'))
  assert.deepEqual(
    cpu.map((d) => d.label),
    ['sse', 'websocket', 'long-poll', 'short-poll'],
  )
  assert.deepEqual(
    cpu[0]?.data,
    PUSH_CLIENTS.map((x, i) => ({ x, y: COST.sse?.[i] })),
  )
  assert.deepEqual(cpu[2]?.data.at(-1), { x: 20000, y: null })
  assert.deepEqual(cpu[2]?.data.at(-2), { x: 10000, y: 120 })
  // the saturated point is a triangle, and the subtitle says why
  assert.deepEqual(cpu[1]?.pointStyle, ['circle', 'circle', 'circle', 'circle', 'circle', 'triangle'])
  assert.match(subtitleOf(byId('cpu')), /triangle = generator saturated/)

  // memory: server solid, generator dashed, KiB; a run without the generator's figure has no point
  const mem = byId('memory')
  assert.match(
    mem.title,
    /^Memory per connection, server and generator vs clients \(KiB; lower is better; log x/,
  )
  const lines = linesOf(mem)
  assert.deepEqual(
    lines.map((d) => d.label),
    ['sse', 'websocket', 'long-poll', 'short-poll'].flatMap((t) => [`${t} server`, `${t} generator`]),
  )
  assert.equal(lines[0]?.borderDash, undefined)
  assert.deepEqual(lines[1]?.borderDash, [6, 4])
  assert.deepEqual(
    lines[0]?.data.map((p) => p.y),
    [10, 10.5, 11, 11.5, 12, 12.5],
  )
  assert.deepEqual(
    lines[1]?.data.map((p) => p.y),
    [2, null, 2.2, 2.29, 2.39, 2.49],
  )
  const wsGen = lines.find((d) => d.label === 'websocket generator')
  assert.equal(wsGen?.pointStyle.at(-1), 'triangle')
  assert.match(subtitleOf(mem), /websocket at 20,000 clients/)

  // connect time in s
  const connect = linesOf(byId('connect'))
  assert.deepEqual(
    connect[0]?.data,
    PUSH_CLIENTS.map((x) => ({ x, y: x / 2000 })),
  )
  assert.match(byId('connect').title, /^Connect time vs clients \(s; lower is better; log x, log y\)/)

  // plain data, as the HTML report embeds them
  assert.deepEqual(JSON.parse(JSON.stringify(specs)), specs)
})

test('a clients sweep gets a log x axis from a 30x span; a file without the ramp figures no scale charts', () => {
  const file = scaleFile()
  const narrow = (clients: number[]) => ({
    ...file,
    scenarios: file.scenarios.slice(0, clients.length).map((s, i) => ({
      ...s,
      params: { ...s.params, clients: clients[i] as number },
    })),
  })
  const xType = (f: ResultsFile) =>
    scalesOf(chartConfigs(f).find((c) => c.id === 'sweep-clients-cpu') as ChartSpec).x?.type
  assert.equal(xType(narrow([100, 300, 1000, 3000])), 'logarithmic')
  assert.equal(xType(narrow([100, 300, 1000])), 'linear')
  // below 30x it is no scale sweep: neither the scale charts nor the table
  const small = narrow([100, 300, 1000])
  assert.equal(chartConfigs(small).filter((c) => /memory|connect/.test(c.id)).length, 0)
  assert.deepEqual(scaleSweeps(small), [])
  // the sweep fixture predates the generator's ramp figures: its charts are unchanged, its table has dashes
  assert.equal(chartConfigs(sweepFixture).filter((c) => /memory|connect/.test(c.id)).length, 0)
  const [sw] = scaleSweeps(sweepFixture)
  assert.ok(sw)
  const t = buildScaleTable(sw)
  assert.ok(t)
  const sse10 = t.rows.find((r) => r[0] === 'sse' && r[1] === '10')
  assert.equal(sse10?.[5], '-')
  const errored = t.rows.find((r) => r[0] === 'short-poll' && r[1] === '5,000')
  assert.match(errored?.at(-1) ?? '', /^errored: timed out/)
})

test('buildScaleTable: a row per transport and client count with the figures of the file', () => {
  const [sw] = scaleSweeps(scaleFile())
  assert.ok(sw)
  const t = buildScaleTable(sw)
  assert.ok(t)
  assert.equal(t.title, 'scale, scale-poll')
  assert.match(
    t.conditions,
    /1 updates\/s \(1 Hz x 1\) · 128 B payload · per-tick writes · poll every 1,000 ms/,
  )
  assert.deepEqual(
    t.columns.map((c) => c.header),
    [
      'transport',
      'clients',
      'us/upd',
      'B/upd',
      'srv KiB/conn',
      'gen KiB/conn',
      'p99',
      'connect',
      'srv ELU',
      'gen ELU',
      'src addrs',
      'flags',
    ],
  )
  assert.deepEqual(
    t.rows.map((r) => `${r[0]} ${r[1]}`),
    [
      ...PUSH_CLIENTS.map((c) => `sse ${c.toLocaleString('en-US')}`),
      ...PUSH_CLIENTS.map((c) => `websocket ${c.toLocaleString('en-US')}`),
      ...POLL_CLIENTS.map((c) => `long-poll ${c.toLocaleString('en-US')}`),
      ...POLL_CLIENTS.map((c) => `short-poll ${c.toLocaleString('en-US')}`),
    ],
  )
  const row = (label: string) => t.rows.find((r) => `${r[0]} ${r[1]}` === label)
  // sse at 20,000: 18 us, 105 B, 12.5 KiB server, 2.49 KiB generator, p99 6 ms, 10 s to connect,
  // server ELU 18 x 20,000 / 1e6 = 36%, generator 60%, two source addresses, busy
  assert.deepEqual(row('sse 20,000'), [
    'sse',
    '20,000',
    '18',
    '105',
    '12.5',
    '2.49',
    '6 ms',
    '10 s',
    '36%',
    '60%',
    '2',
    'busy',
  ])
  assert.equal(row('sse 300')?.[5], '-')
  assert.equal(row('websocket 20,000')?.[11], 'saturated')
  assert.equal(row('long-poll 10,000')?.[11], 'missed 42')
  assert.equal(row('short-poll 100')?.[11], '')

  assert.deepEqual(t.growth, [
    'sse: cost flat to 10,000 clients (around 11.5 us/update); rises 56.5% by 20,000; counted from 1,000 clients, below which fixed costs dominate',
    'websocket: cost flat to 10,000 clients (the largest count judged), around 10 us/update (left out, generator saturated: 20,000)',
    'long-poll: cost flat to 1,000 clients (around 49 us/update); rises 145% by 10,000 (first above +25% at 3,000)',
    'short-poll: cost flat to 10,000 clients (the largest count judged), around 30.5 us/update',
  ])
})

test('the summary and the HTML report carry the scale table and the growth lines', () => {
  const file = scaleFile()
  const text = formatSummary(file)
  assert.match(text, /== cost against clients: scale, scale-poll ==/)
  const at = text.split('\n').findIndex((l) => l.startsWith('== cost against clients'))
  const lines = text.split('\n').slice(at)
  assert.match(
    lines.find((l) => l.startsWith('sse ') && / 20,000 /.test(l)) ?? '',
    /\b18\s+105\s+12\.5\s+2\.49\s+6 ms\s+10 s\s+36%\s+60%\s+2\s+busy$/,
  )
  assert.match(text, /- long-poll: cost flat to 1,000 clients \(around 49 us\/update\); rises 145% by 10,000/)
  const html = renderHtmlReport(file)
  assert.match(html, /<section class="scale"><h2>Cost against clients<\/h2>/)
  assert.match(
    html,
    /<li>sse: cost flat to 10,000 clients \(around 11\.5 us\/update\); rises 56\.5% by 20,000/,
  )
  assert.match(html, /<td>websocket<\/td><td class="num">20,000<\/td>/)
})

const pts = (costs: number[], clients = [100, 300, 1000, 3000, 10000, 20000]): CostPoint[] =>
  costs.map((cost, i) => ({ clients: clients[i] as number, cost }))

test('flatUntil: a flat series is flat to its last count and never rises', () => {
  const g = flatUntil(pts([10, 10.5, 9.8, 10.2, 10.1, 9.9]))
  assert.ok(g)
  assert.equal(g.flatUntil, 20000)
  assert.equal(g.firstRiseAt, undefined)
  assert.equal(g.from, 100)
  assert.equal(g.reference, 10.25)
  assert.match(
    describeGrowth(g),
    /^cost flat to 20,000 clients \(the largest count judged\), around 10\.3 us\/update$/,
  )
})

test('flatUntil: a rising series is flat until the first point above +25%', () => {
  const g = flatUntil(pts([10, 10, 11, 14, 20, 30]))
  assert.ok(g)
  assert.equal(g.reference, 10)
  assert.equal(g.flatUntil, 1000)
  assert.equal(g.firstRiseAt, 3000)
  assert.deepEqual(g.last, { clients: 20000, change: 2 })
  assert.equal(
    describeGrowth(g),
    'cost flat to 1,000 clients (around 10 us/update); rises 200% by 20,000 (first above +25% at 3,000)',
  )
  // it is sorted by clients first
  assert.deepEqual(flatUntil(pts([10, 10, 11, 14, 20, 30]).reverse()), g)
})

test('flatUntil: a noisy series within +/-25% of the first two points is flat', () => {
  const g = flatUntil(pts([10, 12, 9, 11.5, 8.7, 12.8]))
  assert.ok(g)
  assert.equal(g.reference, 11)
  assert.equal(g.flatUntil, 20000)
  assert.equal(g.firstRiseAt, undefined)
  // a tighter tolerance calls the same series not flat past 300: 9 is 18% below 11
  assert.equal(flatUntil(pts([10, 12, 9, 11.5, 8.7, 12.8]), 0.1)?.flatUntil, 300)
})

test('flatUntil: the smallest counts, still falling steeply with fixed costs, do not set the reference', () => {
  const g = flatUntil(pts([40, 20, 10, 10, 11, 20]))
  assert.ok(g)
  assert.equal(g.from, 1000)
  assert.equal(g.fixedCostPoints, 2)
  assert.equal(g.reference, 10)
  assert.equal(g.flatUntil, 10000)
  assert.equal(g.firstRiseAt, 20000)
  assert.equal(
    describeGrowth(g),
    'cost flat to 10,000 clients (around 10 us/update); rises 100% by 20,000; counted from 1,000 clients, below which fixed costs dominate',
  )
})

test('flatUntil: a drop ends the flat run but is no rise; nothing to judge, undefined', () => {
  const g = flatUntil(pts([10, 10, 5, 5], [100, 300, 1000, 3000]))
  assert.ok(g)
  assert.equal(g.flatUntil, 300)
  assert.equal(g.firstRiseAt, undefined)
  assert.match(describeGrowth(g), /; falls 50% by 3,000$/)
  assert.equal(flatUntil([]), undefined)
  assert.equal(flatUntil(pts([0, Number.NaN])), undefined)
  assert.equal(flatUntil(pts([7]))?.flatUntil, 100)
})

test('the scale profile loads with the config loader and plans its polling scenario', () => {
  const config = loadConfig(profilePath('scale'), '--profile')
  assert.match(config.description ?? '', /About \d+ minutes/)
  assert.deepEqual(
    config.scenarios.map((s) => [s.name, s.transports, s.params?.clients]),
    [
      ['scale', ['sse', 'websocket'], PROFILE_PUSH_CLIENTS],
      ['scale-poll', ['long-poll', 'short-poll'], POLL_CLIENTS],
    ],
  )
  const plan = planScenarios(config, 'profile scale', { scenario: 'scale-poll' })
  assert.deepEqual(
    plan.map((s) => s.name),
    POLL_CLIENTS.map((c) => `scale-poll clients=${c}`),
  )
  for (const s of plan) {
    assert.equal(s.group, 'scale-poll')
    assert.deepEqual(s.transports, ['long-poll', 'short-poll'])
    assert.equal(s.generators, 2)
    const { clients: _c, ...rest } = s.params
    assert.deepEqual(rest, {
      tickHz: 1,
      updatesPerTick: 1,
      payloadBytes: 128,
      pollIntervalMs: 1000,
      durationS: 8,
      warmupS: 3,
      maxWarmupS: 0,
      writePolicy: 'per-tick',
      seed: 1,
      symbols: 50,
      rttMs: 0,
      // the chat's params are planned for every scenario (its results file leaves them out for a ticker)
      rooms: 10,
      sendHz: 1,
    })
  }
})

/** Whether this host lets a process open the descriptors `clients` connections need (lib/nofile.ts). */
function holds(clients: number): true | string {
  try {
    planNofile(nofileFor(clients), readNofile(), 'clients', 'server')
    return true
  } catch (err) {
    return (err as Error).message
  }
}

const canHold = holds(19900)
test('the scale profile plans 22 runs: SSE and WebSocket to 19,900 clients, polling to 10,000', {
  skip: canHold === true ? false : `this host cannot plan 19,900 clients: ${canHold}`,
}, () => {
  const plan = planScenarios(loadConfig(profilePath('scale')), 'profile scale')
  assert.deepEqual(
    plan.map((s) => [s.name, s.transports.join(',')]),
    [
      ...PROFILE_PUSH_CLIENTS.map((c) => [`scale clients=${c}`, 'sse,websocket']),
      ...POLL_CLIENTS.map((c) => [`scale-poll clients=${c}`, 'long-poll,short-poll']),
    ],
  )
  assert.equal(
    plan.reduce((n, s) => n + s.transports.length, 0),
    22,
  )
  for (const s of plan) assert.ok(s.transports.every((t) => transportNames().includes(t)))
})
