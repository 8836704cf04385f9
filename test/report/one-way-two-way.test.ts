/** The one-way ticker against two-way chat table: built from a results file alone, printed and in the HTML report. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readResults, validateResults } from '../../lib/results-io.ts'
import type { CompletedResult, ResultsFile } from '../../lib/results-schema.ts'
import { renderHtmlReport } from '../../report/html.ts'
import { buildOneWayTwoWay, chatTwins, oneWayTwoWayTables } from '../../report/one-way-two-way.ts'
import { formatSummary } from '../../report/summary.ts'
import { fixture } from './helpers.ts'

/** The quick fixture's scenario as a ticker twin, and a chat made from it (the chat's own figures set). */
function twinFile(): ResultsFile {
  const quick = readResults(fixture('results-quick.json'))
  const base = quick.scenarios[0]
  assert.ok(base)
  const ticker = { ...base, name: 'chat-ticker-twin' }
  const chatResults = base.results.map((r, i) => {
    const c = structuredClone(r) as CompletedResult
    c.workload = 'chat'
    c.bytes.perDeliveredUpdate = 200 + i
    c.bytes.clientToServer = c.updates.delivered * (30 + i)
    c.serverCpu.usPerDeliveredUpdate = 5 + i
    c.latencyMs.p50 = 1.5
    c.latencyMs.p99 = 9
    c.chat = {
      rooms: 10,
      sendHz: 1,
      sent: 100,
      accepted: 100,
      refused: 0,
      delivered: c.updates.delivered,
      recipientsPerMessage: 10,
      senderRttMs: { p50: 1.25, p90: 2, p99: 7.5, p999: 8, max: 8, mean: 1.4, count: 100 },
      modelUpstreamPerSent: { clientToServer: 240, serverToClient: 138 },
    }
    return c
  })
  const chat = {
    ...base,
    name: 'chat',
    params: { ...base.params, rooms: 10, sendHz: 1 },
    results: chatResults,
  }
  // through the validating reader: the chat block and the chat params are part of the schema
  return validateResults(JSON.parse(JSON.stringify({ ...quick, scenarios: [chat, ticker] })), 'test')
}

test('one-way-two-way: a row per transport in both, ticker beside chat, sender round trip and upstream bytes', () => {
  const file = twinFile()
  const pairs = chatTwins(file)
  assert.equal(pairs.length, 1)
  const pair = pairs[0]
  assert.ok(pair)
  const t = buildOneWayTwoWay(pair.chat, pair.ticker)
  assert.ok(t)
  assert.equal(t.rows.length, pair.chat.results.length)
  const ws = t.rows.find((r) => r[0] === 'websocket')
  assert.ok(ws)
  const keys = t.columns.map((c) => c.key)
  const cell = (k: string): string | undefined => ws[keys.indexOf(k)]
  const i = pair.chat.results.findIndex((r) => r.transport === 'websocket')
  assert.equal(cell('bytesC'), String(200 + i))
  assert.equal(cell('cpuC'), String(5 + i))
  assert.equal(cell('p50C'), '1.5')
  assert.equal(cell('rtt50'), '1.25')
  assert.equal(cell('rtt99'), '7.5')
  assert.equal(cell('upC'), String(30 + i))
  const tw = pair.ticker.results.find((r) => r.transport === 'websocket') as CompletedResult
  assert.equal(cell('bytesT'), String(Number(tw.bytes.perDeliveredUpdate.toPrecision(3))))
})

test('one-way-two-way: printed in the summary and the HTML report only when both scenarios are there', () => {
  const file = twinFile()
  const text = formatSummary(file)
  assert.match(text, /== one-way ticker against two-way chat: chat-ticker-twin vs chat ==/)
  assert.match(text, /sender RTT p50/)
  assert.match(renderHtmlReport(file), /One-way ticker against two-way chat/)
  const alone = { ...file, scenarios: file.scenarios.filter((s) => s.name === 'chat') }
  assert.equal(oneWayTwoWayTables(alone).length, 0)
  assert.doesNotMatch(formatSummary(alone), /one-way ticker against two-way chat/)
  assert.doesNotMatch(renderHtmlReport(alone), /One-way ticker against two-way chat/)
})
