/**
 * A fault scenario in the report: the results file keeps its rows (the schema), and the terminal summary and
 * the HTML report show one table per kind, a row per transport, with what failed said as NO.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readResults, validateResults } from '../../lib/results-io.ts'
import type { FaultRow, ResultsFile } from '../../lib/results-schema.ts'
import { renderHtmlReport } from '../../report/html.ts'
import { formatSummary } from '../../report/summary.ts'
import { fixture } from './helpers.ts'

const p = (p50: number, max: number) => ({ count: 20, p50, p99: max, max })
const back = { back: 20, backMs: p(1014, 1075), noticedMs: p(3, 4), allBackMs: 1075 }
const updates = { expected: 4000, delivered: 4000, missed: 0, duplicated: 0, other: 0 }
const ROWS: FaultRow[] = [
  {
    kind: 'restart',
    transport: 'sse',
    clients: 20,
    ok: true,
    back,
    updates,
    connectErrors: 20,
    restart: { signal: 'SIGTERM', stopMs: 11, downMs: 1064, lastSeqBefore: 104 },
    errors: [],
  },
  {
    kind: 'restart-gap',
    transport: 'websocket',
    clients: 20,
    ok: true,
    back,
    updates: { ...updates, delivered: 2600, missed: 1400 },
    connectErrors: 32,
    restart: { signal: 'SIGTERM', stopMs: 14, downMs: 998, ringSize: 10, lastSeqBefore: 94 },
    errors: [],
  },
  {
    kind: 'storm',
    transport: 'long-poll',
    clients: 20,
    ok: false,
    back: { ...back, back: 19, allBackMs: undefined },
    updates,
    connectErrors: 20,
    storm: {
      dropped: 20,
      cpuBeforeCores: 0.2,
      cpuPeakCores: 0.9,
      rssBeforeBytes: 100e6,
      rssPeakBytes: 110e6,
    },
    errors: ['socket hang up'],
  },
  {
    kind: 'slow-consumers',
    transport: 'websocket',
    clients: 20,
    ok: true,
    updates,
    connectErrors: 0,
    slow: {
      clients: 2,
      readBytesPerSecond: [0, 2048],
      disconnects: 2,
      allCutMs: 4500,
      rssBeforeBytes: 100e6,
      rssGrowthBytes: 15e6,
      maxBufferedBytes: 262144,
      baseline: p(0.4, 4.5),
      withSlow: p(0.38, 3.8),
      boundMs: 14.1,
      held: true,
      bound: 'healthy p99 <= 2 x baseline p99 + 5 ms',
    },
    errors: [],
  },
  {
    kind: 'kill-server',
    transport: 'sse',
    clients: 20,
    ok: true,
    updates,
    kill: {
      process: 'server',
      signal: 'SIGKILL',
      noticedMs: 5.3,
      endedMs: 12.2,
      message: 'server (pid 27187) killed by SIGKILL during the fault run <b>',
      kept: "the clients' account up to seq 91",
      keptUpdates: 1000,
    },
    errors: [],
  },
]

function withFaults(): ResultsFile {
  const base = readResults(fixture('results-quick.json'))
  const s = base.scenarios[0]
  assert.ok(s)
  return validateResults(
    { ...base, scenarios: [{ name: 'reconnect', params: s.params, results: [], faults: ROWS }] },
    'faults',
  )
}

test('fault rows fit the results schema, and a bad one is refused', () => {
  assert.equal(withFaults().scenarios[0]?.faults?.length, ROWS.length)
  const base = readResults(fixture('results-quick.json'))
  assert.throws(() =>
    validateResults(
      {
        ...base,
        scenarios: [
          { name: 'x', params: base.scenarios[0]?.params, results: [], faults: [{ kind: 'storm' }] },
        ],
      },
      'bad',
    ),
  )
})

test('the summary shows a table per kind, a row per transport, and NO where the fault test failed', () => {
  const text = formatSummary(withFaults())
  for (const kind of ['restart', 'restart-gap', 'storm', 'slow-consumers', 'kill-server'])
    assert.match(text, new RegExp(`^${kind}: `, 'm'), kind)
  assert.match(text, /20 reconnecting clients per transport/)
  const row = (prefix: string) => text.split('\n').filter((l) => l.startsWith(prefix))
  assert.match(row('long-poll (20)')[0] ?? '', /\bNO\b/)
  assert.match(row('websocket (20)').join('\n'), /1,400/, 'the gap row counts the missed')
  assert.match(text, /killed by SIGKILL/)
})

test('the HTML report has the same tables, escaped', () => {
  const html = renderHtmlReport(withFaults())
  assert.match(html, /<h3>storm: reconnect storm/)
  assert.match(html, /<h3>slow-consumers: slow consumers/)
  assert.match(html, /killed by SIGKILL during the fault run &lt;b&gt;/)
  assert.doesNotMatch(html, /fault run <b>/)
})
