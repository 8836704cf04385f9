import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readResults } from '../../lib/results-io.ts'
import type { CompletedResult, Scenario } from '../../lib/results-schema.ts'
import { formatSummary } from '../../report/summary.ts'
import { NOISE, verdict } from '../../report/verdict.ts'
import { fixture } from './helpers.ts'

const quick = readResults(fixture('results-quick.json'))
const base = quick.scenarios[0] as Scenario
const rowOf = (s: Scenario, t: string) =>
  structuredClone(s.results.find((r) => r.transport === t)) as CompletedResult

/** A scenario of the given rows, each made from the fixture's row of that transport and changed by `edit`. */
function crafted(rows: { t: string; edit?: (r: CompletedResult) => void }[]): Scenario {
  return {
    ...structuredClone(base),
    results: rows.map(({ t, edit }) => {
      const r = rowOf(base, t)
      r.generator.saturated = false
      r.updates.missed = 0
      r.updates.delivered = r.updates.expected ?? r.updates.delivered
      edit?.(r)
      return r
    }),
  }
}

const set = (r: CompletedResult, p50: number, us: number, bytes: number, mem?: number) => {
  r.latencyMs.p50 = p50
  r.serverCpu.usPerDeliveredUpdate = us
  r.bytes.perDeliveredUpdate = bytes
  if (mem === undefined) delete r.serverMemory.bytesPerConnection
  else r.serverMemory.bytesPerConnection = mem
}

test('the freshest and the cheapest are named, with their figures and the factor', () => {
  const s = crafted([
    { t: 'short-poll', edit: (r) => set(r, 125, 23.4, 220) },
    { t: 'long-poll', edit: (r) => set(r, 11.7, 51.3, 366) },
    { t: 'sse', edit: (r) => set(r, 7, 13.4, 152) },
    { t: 'websocket', edit: (r) => set(r, 5.17, 9.73, 130) },
  ])
  const v = verdict(s)
  const fresh = v.find((x) => x.kind === 'freshest')
  assert.deepEqual(fresh?.transports, ['websocket'])
  assert.match(
    fresh?.text ?? '',
    /^WebSocket was freshest at the median: 5\.17 ms, against SSE 7 ms \(1\.35x\), long polling 11\.7 ms \(2\.26x\) and short polling 125 ms \(24\.2x\)/,
  )
  const cpu = v.find((x) => x.kind === 'cpu')
  assert.deepEqual(cpu?.transports, ['websocket'])
  assert.match(
    cpu?.text ?? '',
    /WebSocket cost the server least CPU per delivered update: 9\.73 us, against SSE 13\.4 us \(1\.38x\)/,
  )
  assert.match(cpu?.text ?? '', /long polling 51\.3 us \(5\.27x\)/)
  const bytes = v.find((x) => x.kind === 'bytes')
  assert.deepEqual(bytes?.transports, ['websocket'])
  assert.match(bytes?.text ?? '', /130 B, against SSE 152 B \(1\.17x\)/)
  // no memory figures in any row: no memory sentence
  assert.equal(
    v.find((x) => x.kind === 'memory'),
    undefined,
  )
  // nothing untrusted
  assert.deepEqual(
    v.filter((x) => x.kind === 'untrusted' || x.kind === 'errored'),
    [],
  )
})

test('a winner is whoever is lowest, not whoever is listed first', () => {
  const s = crafted([
    { t: 'websocket', edit: (r) => set(r, 9, 30, 500, 40_000) },
    { t: 'sse', edit: (r) => set(r, 4, 10, 140, 12_000) },
  ])
  const v = verdict(s)
  for (const kind of ['freshest', 'cpu', 'bytes', 'memory'] as const)
    assert.deepEqual(v.find((x) => x.kind === kind)?.transports, ['sse'], kind)
  assert.match(
    v.find((x) => x.kind === 'memory')?.text ?? '',
    /SSE held a connection in the least server memory: 11\.7 KiB/,
  )
})

test('figures within noise of each other make no sentence', () => {
  // 4% apart in latency and CPU, 1% in bytes, 5% in memory: all below NOISE
  const s = crafted([
    { t: 'sse', edit: (r) => set(r, 8.0, 10.0, 150, 20_000) },
    { t: 'websocket', edit: (r) => set(r, 8.3, 10.4, 151.5, 21_000) },
  ])
  assert.ok(0.04 < NOISE.p50.share && 0.01 < NOISE.bytes.share)
  assert.deepEqual(verdict(s), [])
})

test('a winner within noise of a second is named together with it, against the rest', () => {
  const s = crafted([
    { t: 'sse', edit: (r) => set(r, 8.0, 10, 150) },
    { t: 'websocket', edit: (r) => set(r, 8.4, 10, 150) },
    { t: 'short-poll', edit: (r) => set(r, 125, 10, 150) },
  ])
  const v = verdict(s)
  assert.equal(v.length, 1)
  const fresh = v[0]
  assert.deepEqual(fresh?.transports, ['sse', 'websocket'])
  assert.match(
    fresh?.text ?? '',
    /^SSE and WebSocket were freshest at the median \(SSE 8 ms and WebSocket 8\.4 ms, within noise of each other\), against short polling 125 ms/,
  )
})

test('a saturated or lossy row is called out and never wins', () => {
  const s = crafted([
    {
      t: 'long-poll',
      edit: (r) => {
        set(r, 1, 1, 100)
        r.generator.saturated = true
        r.generator.cpuPercent = 99.1
      },
    },
    {
      t: 'short-poll',
      edit: (r) => {
        set(r, 2, 2, 90)
        const e = r.updates.expected ?? 0
        r.updates.delivered = Math.round(e * 0.9)
        r.updates.missed = e - r.updates.delivered
      },
    },
    { t: 'sse', edit: (r) => set(r, 8, 13, 152) },
    { t: 'websocket', edit: (r) => set(r, 5, 9, 130) },
  ])
  const v = verdict(s)
  for (const x of v.filter((x) => x.kind !== 'untrusted'))
    assert.ok(!x.transports.includes('long-poll') && !x.transports.includes('short-poll'), x.text)
  const untrusted = v.filter((x) => x.kind === 'untrusted')
  assert.deepEqual(untrusted.map((x) => x.transports[0]).sort(), ['long-poll', 'short-poll'])
  assert.match(
    untrusted.find((x) => x.transports[0] === 'long-poll')?.text ?? '',
    /generator saturated \(99\.1% CPU\)/,
  )
  assert.match(
    untrusted.find((x) => x.transports[0] === 'short-poll')?.text ?? '',
    /delivered 90% of the updates/,
  )
  assert.deepEqual(v.find((x) => x.kind === 'freshest')?.transports, ['websocket'])
})

test('a server that could not keep its tick rate, and an errored run, are called out', () => {
  const s = crafted([
    { t: 'sse', edit: (r) => set(r, 8, 13, 152) },
    {
      t: 'websocket',
      edit: (r) => {
        set(r, 5, 9, 130)
        r.updates.publishedRatio = 0.8
      },
    },
  ])
  s.results.push({ state: 'errored', transport: 'long-poll', error: 'timed out\nstack' })
  const v = verdict(s)
  assert.match(
    v.find((x) => x.transports[0] === 'websocket')?.text ?? '',
    /published 80% of the offered updates/,
  )
  assert.equal(
    v.find((x) => x.kind === 'errored')?.text,
    'Long polling errored, so it has no figures: timed out',
  )
  // one trusted row left: nothing to compare it with
  assert.equal(
    v.find((x) => x.kind === 'freshest'),
    undefined,
  )
})

test('the terminal summary carries the verdict under each scenario', () => {
  const text = formatSummary(quick)
  assert.match(text, /verdict:\n- WebSocket and SSE were freshest at the median/)
  assert.match(text, /- Do not read the long polling row as the transport's cost: its generator saturated/)
})

test('rows measured on a busy host carry a caveat under the claims', () => {
  const s = crafted([
    { t: 'sse', edit: (r) => set(r, 8, 13, 152) },
    {
      t: 'websocket',
      edit: (r) => {
        set(r, 5, 9, 130)
        r.generator.otherHostCpuPercent = 137
      },
    },
  ])
  const v = verdict(s)
  assert.equal(v.at(-1)?.kind, 'disturbed')
  assert.deepEqual(v.at(-1)?.transports, ['websocket'])
  assert.match(
    v.at(-1)?.text ?? '',
    /during the WebSocket window \(other processes used up to 137% of a core\): rerun on a quiet machine/,
  )
  // a quiet host: no caveat
  const quiet = crafted([
    { t: 'sse', edit: (r) => set(r, 8, 13, 152) },
    { t: 'websocket', edit: (r) => set(r, 5, 9, 130) },
  ])
  assert.ok(!verdict(quiet).some((x) => x.kind === 'disturbed'))
})
