import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readResults } from '../../lib/results-io.ts'
import type { ResultsFile } from '../../lib/results-schema.ts'
import { formatSummary } from '../../report/summary.ts'
import { buildSummaryTable } from '../../report/summary-table.ts'
import { fixture } from './helpers.ts'

const quick = readResults(fixture('results-quick.json'))
const rowOf = (text: string, transport: string) =>
  text.split('\n').find((l) => l.startsWith(`${transport} `)) ?? ''

test('the summary has env, params and a row per transport', () => {
  const text = formatSummary(quick)
  assert.match(text, /profile quick/)
  assert.match(text, /node v20\.20\.2 · AMD EPYC 7B13 · 2 cores/)
  assert.match(
    text,
    /1,000 clients · 10 updates\/s \(10 Hz x 1\) · 128 B payload · per-tick writes · poll every 250 ms/,
  )
  for (const t of ['short-poll', 'long-poll', 'sse', 'websocket']) assert.notEqual(rowOf(text, t), '', t)
  // sub-millisecond latency in us, the rest in ms
  assert.match(rowOf(text, 'websocket'), /8\.4 ms/)
  assert.match(rowOf(text, 'short-poll'), /126 ms/)
})

test('winners are marked, and a saturated run cannot win', () => {
  const text = formatSummary(quick)
  const ws = rowOf(text, 'websocket')
  // websocket has the best latency, bytes and CPU among runs whose generator kept up
  assert.match(ws, /8\.4 ms\*/)
  assert.match(ws, /16\.4 ms\*/)
  assert.match(ws, /130\*/)
  // long-poll's p50 (3.1 ms) is lowest of all, but its generator saturated
  assert.doesNotMatch(rowOf(text, 'long-poll'), /\*/)
  const table = buildSummaryTable(quick.scenarios[0] as ResultsFile['scenarios'][0])
  const p50 = table.columns.findIndex((c) => c.key === 'p50') - 1
  assert.deepEqual(
    table.rows.filter((r) => r.cells[p50]?.winner).map((r) => r.transport),
    ['websocket'],
  )
  // the three runs that kept up all delivered 100%: a column where every candidate ties marks none
  const delivered = table.columns.findIndex((c) => c.key === 'delivered') - 1
  assert.equal(table.rows.filter((r) => r.cells[delivered]?.winner).length, 0)
})

test('the saturated generator is flagged in its row and warned about under the table', () => {
  const text = formatSummary(quick)
  assert.match(rowOf(text, 'long-poll'), /YES$/)
  assert.match(rowOf(text, 'sse'), /no$/)
  assert.match(text, /! long-poll: the load generator saturated .* measure the generator, not the server/)
})

test('capacity table and autocannon line are printed', () => {
  const text = formatSummary(quick)
  assert.match(text, /capacity: the highest rate/)
  assert.match(text, /websocket\s+700,000 updates\/s/)
  assert.match(text, /autocannon GET \/poll\?since=0, 50 connections, 10 s: 38,412 req\/s/)
})

test('an errored run is a row with its error; a partial run is warned about on top', () => {
  const sweep = readResults(fixture('results-sweep.json'))
  const text = formatSummary({ ...sweep, partial: true })
  assert.match(text, /short-poll\s+ERRORED: timed out after 60 s waiting for 5,000 clients/)
  assert.match(text.split('\n').slice(0, 4).join('\n'), /! partial run/)
})

test('colour is opt-in: ANSI codes only when asked, winners in bold green', () => {
  const ESC = '\x1b'
  assert.ok(!formatSummary(quick).includes(ESC))
  assert.ok(formatSummary(quick, { color: true }).includes(`${ESC}[1;32m8.4 ms*${ESC}[0m`))
})

test('a transport run against its bare baseline gets a ratio of CPU per update, and the 0.9x target is judged', () => {
  const file = structuredClone(quick)
  const s = file.scenarios[0]
  assert.ok(s)
  const ws = s.results.find((r) => r.transport === 'websocket' && r.state !== 'errored')
  const sse = s.results.find((r) => r.transport === 'sse' && r.state !== 'errored')
  assert.ok(ws && ws.state !== 'errored' && sse && sse.state !== 'errored')
  // the baseline costs 8 us where the suite costs 10: the suite pushes 0.8x what the baseline does
  ws.serverCpu.usPerDeliveredUpdate = 10
  const wsBase = structuredClone(ws)
  wsBase.server = 'baseline'
  wsBase.serverCpu.usPerDeliveredUpdate = 8
  // the baseline costs 10 us where the suite costs 10.5: 0.952x, within the target
  sse.serverCpu.usPerDeliveredUpdate = 10.5
  const sseBase = structuredClone(sse)
  sseBase.server = 'baseline'
  sseBase.serverCpu.usPerDeliveredUpdate = 10
  s.results.push(wsBase, sseBase)
  const text = formatSummary(file as ResultsFile)
  const lines = text.split('\n')
  const at = lines.findIndex((l) => l.startsWith('held against the bare baselines'))
  assert.ok(at > 0, 'the baseline table is printed')
  const held = lines.slice(at + 2, at + 4)
  const wsRow = held.find((l) => l.startsWith('websocket')) ?? ''
  const sseRow = held.find((l) => l.startsWith('sse')) ?? ''
  assert.match(wsRow, /\b10\s+8\s+100,000\s+125,000\s+0\.8x\s+NO$/)
  assert.match(sseRow, /\b10\.5\s+10\s+95,238\s+100,000\s+0\.952x\s+yes$/)
  // baselines are references: they never win a column of the main table
  const table = buildSummaryTable(s)
  for (const row of table.rows.filter((r) => r.transport.endsWith('(baseline)')))
    assert.ok(
      row.cells.every((c) => !c.winner),
      row.transport,
    )
})

test('a capacity search stopped by the generator reads as a lower bound, and gives no server ratio', () => {
  const file = structuredClone(quick)
  const s = file.scenarios[0]
  assert.ok(s?.capacity)
  const ws = s.capacity.find((c) => c.transport === 'websocket')
  assert.ok(ws)
  ws.limitedBy = 'generator'
  ws.serverCeilingPerSecond = 90_000
  ws.maxSustainedDeliveredPerSecond = 700_000_000
  const wsBase = { ...structuredClone(ws), server: 'baseline' as const, limitedBy: 'server' as const }
  s.capacity.push(wsBase)
  const own = s.results.find((r) => r.transport === 'websocket' && r.state !== 'errored')
  assert.ok(own && own.state !== 'errored')
  s.results.push({ ...structuredClone(own), server: 'baseline' })
  const lines = formatSummary(file as ResultsFile).split('\n')
  const capRow = lines.find((l) => /^websocket\s+>= 700,000 updates\/s/.test(l))
  assert.ok(capRow, 'the maximum is printed as a lower bound')
  assert.match(capRow, /\bgenerator\b/)
  assert.match(capRow, /~90,000 updates\/s/)
  const held = lines.slice(lines.findIndex((l) => l.startsWith('held against the bare baselines')))
  assert.match(held.find((l) => l.startsWith('websocket')) ?? '', /n\/a \(generator-bound\)/)
})

test('a run made while the host was slower than for the rest of the file is flagged by its host probe', () => {
  const file = structuredClone(quick)
  const s = file.scenarios[0]
  assert.ok(s)
  for (const r of s.results) if (r.state !== 'errored') r.hostProbeNsPerOp = 800
  const sse = s.results.find((r) => r.transport === 'sse' && r.state !== 'errored')
  const ws = s.results.find((r) => r.transport === 'websocket' && r.state !== 'errored')
  assert.ok(sse && sse.state !== 'errored' && ws && ws.state !== 'errored')
  sse.hostProbeNsPerOp = 1_100 // 37.5% slower: past the 25% limit
  ws.hostProbeNsPerOp = 950 // 18.75% slower: within it
  const text = formatSummary(file as ResultsFile)
  assert.match(
    text,
    /! sse: the host was 38% slower before this run .* \(host probe 1100 ns\/op against 800\)/,
  )
  assert.doesNotMatch(text, /websocket: the host was/)
  // a file without probes (older) warns about nothing of the kind
  assert.doesNotMatch(formatSummary(quick), /the host was/)
})

test('a server out of file descriptors is flagged with what it turned away and skipped', () => {
  const file = structuredClone(quick)
  const r = file.scenarios[0]?.results.find((x) => x.transport === 'sse')
  assert.ok(r && 'connections' in r && r.connections)
  r.connections.acceptErrors = 1200
  r.connections.fdExhausted = 3
  assert.match(
    formatSummary(file),
    /sse: the server ran out of file descriptors \(ulimit -n\): 1,200 connections turned away, 3 of its own reads skipped/,
  )
  assert.doesNotMatch(formatSummary(quick), /out of file descriptors/)
})
