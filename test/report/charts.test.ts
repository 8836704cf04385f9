import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { test } from 'node:test'
import { createCanvas, loadImage } from '@napi-rs/canvas'
import { readResults } from '../../lib/results-io.ts'
import {
  chartConfigs,
  isLogSpan,
  transportColor,
  transportDash,
  transportFill,
} from '../../report/chart-configs.ts'
import { defaultChartsDir, writeCharts } from '../../report/write-charts.ts'
import { fixture, pngSize, runCli } from './helpers.ts'

const quick = readResults(fixture('results-quick.json'))
const sweep = readResults(fixture('results-sweep.json'))

/** Distinct colours and the share of pixels that are not the white background. */
async function inkOf(png: Buffer): Promise<{ colours: number; inked: number }> {
  const img = await loadImage(png)
  const canvas = createCanvas(img.width, img.height)
  const ctx = canvas.getContext('2d')
  ctx.drawImage(img, 0, 0)
  const { data } = ctx.getImageData(0, 0, img.width, img.height)
  const colours = new Set<number>()
  let inked = 0
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b] = [data[i] ?? 0, data[i + 1] ?? 0, data[i + 2] ?? 0]
    colours.add((r << 16) | (g << 8) | b)
    if (r < 250 || g < 250 || b < 250) inked++
  }
  return { colours: colours.size, inked: inked / (data.length / 4) }
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pb-charts-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('a PNG per chart of the quick fixture, at the asked size, not blank', async (t) => {
  const dir = tempDir(t)
  const specs = chartConfigs(quick)
  assert.deepEqual(
    specs.map((s) => s.id),
    ['latency-distribution', 'latency', 'bytes', 'cpu', 'memory', 'capacity'],
  )
  const paths = await writeCharts(quick, dir, { width: 800, height: 450 })
  assert.deepEqual(
    paths.map((p) => basename(p)),
    specs.map((s) => `${s.id}.png`),
  )
  for (const p of paths) {
    const png = readFileSync(p)
    assert.deepEqual(pngSize(png), { width: 800, height: 450 }, p)
    const ink = await inkOf(png)
    // a white background is filled; bars, lines, axes and text must be drawn on it
    assert.ok(ink.colours > 10, `${p}: only ${ink.colours} colours`)
    assert.ok(ink.inked > 0.01, `${p}: only ${(ink.inked * 100).toFixed(2)}% of pixels drawn`)
  }
})

test('a sweep gets one line chart per metric against the swept param, log axes across decades', async (t) => {
  const all = chartConfigs(sweep)
  // every scenario on the sweep keeps its own latency distribution; the rest are the sweep's lines
  assert.deepEqual(
    all.filter((s) => s.sweep === undefined).map((s) => s.id),
    sweep.scenarios.map((s) => `${s.name}-latency-distribution`),
  )
  const specs = all.filter((s) => s.sweep !== undefined)
  assert.deepEqual(
    specs.map((s) => s.id),
    [
      'sweep-clients-latency-p50',
      'sweep-clients-latency-p99',
      'sweep-clients-bytes',
      'sweep-clients-cpu',
      'sweep-clients-throughput',
    ],
  )
  const p99 = specs[1]
  assert.ok(p99)
  assert.equal(p99.config.type, 'line')
  const scales = p99.config.options?.scales as Record<string, { type: string; title: { text: string } }>
  // clients 10 -> 5,000 and latency 1.2 ms -> 412 ms both span more than 100x
  assert.equal(scales.x?.type, 'logarithmic')
  assert.equal(scales.x?.title.text, 'clients')
  assert.equal(scales.y?.type, 'logarithmic')
  // bytes per update are flat across the sweep: linear
  const bytesScales = specs[2]?.config.options?.scales as Record<string, { type: string }>
  assert.equal(bytesScales.y?.type, 'linear')
  assert.deepEqual(
    p99.config.data.datasets.map((d) => d.label),
    ['short-poll', 'long-poll', 'sse', 'websocket'],
  )
  // the errored short-poll run at 5,000 clients is a gap, not a made-up point
  const shortPoll = p99.config.data.datasets[0]?.data as { x: number; y: number | null }[]
  assert.deepEqual(shortPoll.at(-1), { x: 5000, y: null })
  // titles state units and conditions
  assert.match(p99.title, /Latency p99 vs clients \(ms; lower is better; log x, log y\)/)
  const subtitle =
    (p99.config.options?.plugins?.subtitle as { text: string[] } | undefined)?.text.join(' ') ?? ''
  assert.match(subtitle, /10 updates\/s .* 128 B payload .* per-tick writes .* poll every 250 ms/)

  const paths = await writeCharts(sweep, tempDir(t))
  assert.equal(paths.length, all.length)
  for (const p of paths) assert.ok((await inkOf(readFileSync(p))).inked > 0.01, p)
})

test('chart configs are plain data: they survive JSON (the HTML report embeds them)', () => {
  for (const f of [quick, sweep]) {
    const specs = chartConfigs(f)
    assert.deepEqual(JSON.parse(JSON.stringify(specs)), specs)
  }
})

test('log axes only where values span 100x and none is zero', () => {
  assert.equal(isLogSpan([1, 99]), false)
  assert.equal(isLogSpan([1, 100]), true)
  assert.equal(isLogSpan([0, 1000]), false)
  assert.equal(isLogSpan([5, null, 600]), true)
})

test('npm run charts writes beside the results file by default and prints the paths', (t) => {
  const dir = tempDir(t)
  const copy = join(dir, '2026-11-25T06-23-51Z.json')
  writeFileSync(copy, readFileSync(fixture('results-quick.json')))
  const r = runCli('charts', [copy])
  assert.equal(r.status, 0, r.stderr)
  const outDir = defaultChartsDir(copy)
  assert.equal(outDir, join(dir, '2026-11-25T06-23-51Z'))
  const printed = r.stdout.trim().split('\n')
  assert.deepEqual(
    printed,
    ['latency-distribution', 'latency', 'bytes', 'cpu', 'memory', 'capacity'].map((id) =>
      join(outDir, `${id}.png`),
    ),
  )
  for (const p of printed) assert.ok(existsSync(p), p)
})

test('npm run charts: bad input exits 2 naming it', () => {
  const missing = runCli('charts', ['no/such/file.json'])
  assert.equal(missing.status, 2)
  assert.match(missing.stderr, /results file: cannot read no\/such\/file\.json/)
  const badFlag = runCli('charts', [fixture('results-quick.json'), '--width', 'wide'])
  assert.equal(badFlag.status, 2)
  assert.match(badFlag.stderr, /--width/)
})

test('a sweep over a non-numeric param (write policy) gets a category axis and still renders', async (t) => {
  const s = quick.scenarios[0]
  assert.ok(s)
  const file = {
    ...quick,
    scenarios: [
      { ...s, name: 'per-tick', capacity: undefined },
      {
        ...s,
        name: 'per-update',
        params: { ...s.params, writePolicy: 'per-update' as const },
        capacity: undefined,
      },
    ],
  }
  const specs = chartConfigs(file).filter((s) => s.sweep !== undefined)
  assert.equal(specs[0]?.id, 'sweep-writepolicy-latency-p50')
  assert.deepEqual(specs[0]?.config.data.labels, ['per-tick', 'per-update'])
  const scales = specs[0]?.config.options?.scales as Record<string, { type: string }> | undefined
  assert.equal(scales?.x?.type, 'category')
  const paths = await writeCharts(file, tempDir(t))
  for (const p of paths) assert.ok((await inkOf(readFileSync(p))).inked > 0.01, p)
})

test('an RTT sweep gets a freshness chart: measured mean beside the loopback mean plus what the model adds', () => {
  // the sweep fixture's four scenarios, turned into a sweep of rttMs whose means follow the model but for
  // short polling, 3 ms above it at 50 ms (its run at the last point errored: a gap)
  const f = structuredClone(sweep)
  const rtts = [0, 10, 50, 200]
  f.scenarios.forEach((s, i) => {
    const rtt = rtts[i] ?? 0
    s.name = `rtt rttMs=${rtt}`
    s.params = { ...s.params, clients: 100, rttMs: rtt }
    for (const r of s.results) {
      if (r.state === 'errored') continue
      const added = r.transport === 'short-poll' ? 125 + rtt / 2 : rtt / 2
      r.latencyModel = { rttMs: rtt, addedMeanMs: added, setupRoundTrips: 2, setupMs: 2 * rtt }
      r.latencyMs.mean = 1 + added + (r.transport === 'short-poll' && rtt === 50 ? 3 : 0)
    }
  })
  const chart = chartConfigs(f).find((c) => c.id === 'sweep-rttms-freshness')
  assert.ok(chart, 'a freshness chart')
  const sets = chart.config.data.datasets as { label: string; data: { x: number; y: number }[] }[]
  const ws = sets.find((d) => d.label === 'websocket measured')
  const wsModel = sets.find((d) => d.label === 'websocket model')
  assert.deepEqual(
    ws?.data.map((p) => p.x),
    rtts,
  )
  assert.deepEqual(
    wsModel?.data.map((p) => p.y),
    ws?.data.map((p) => p.y),
  )
  const sp = sets.find((d) => d.label === 'short-poll measured')?.data.map((p) => p.y)
  const spModel = sets.find((d) => d.label === 'short-poll model')?.data.map((p) => p.y)
  assert.deepEqual(sp, [126, 131, 1 + 125 + 25 + 3, null])
  assert.deepEqual(spModel, [126, 131, 1 + 125 + 25, null])
})

test('an HTTP/2 row is drawn in its twin colour: its lines dashed, its bars lighter inside a border', () => {
  // the quick fixture's results renamed to the HTTP/2 rows, beside the originals
  const twins: Record<string, string> = { sse: 'sse-h2', 'long-poll': 'long-poll-h2' }
  const file = structuredClone(quick)
  const s = file.scenarios[0]
  assert.ok(s)
  s.results = [
    ...s.results,
    ...s.results
      .filter((r) => r.transport in twins)
      .map((r) => ({ ...r, transport: twins[r.transport] as string })),
  ]
  assert.equal(transportColor('sse-h2'), transportColor('sse'))
  assert.deepEqual(transportDash('sse-h2'), [6, 3])
  assert.equal(transportDash('sse'), undefined)
  const specs = chartConfigs(file)
  const line = specs.find((c) => c.id.endsWith('latency-distribution'))
  assert.ok(line, specs.map((c) => c.id).join(', '))
  const sets = line.config.data.datasets as { label?: string; borderDash?: number[]; borderColor?: string }[]
  const h2 = sets.find((d) => d.label?.includes('HTTP/2') || d.label?.includes('sse-h2'))
  const h1 = sets.find((d) => d.borderColor === h2?.borderColor && d !== h2)
  assert.ok(h2 && h1, JSON.stringify(sets.map((d) => d.label)))
  assert.deepEqual(h2.borderDash, [6, 3])
  assert.equal(h1.borderDash, undefined)
  assert.equal(transportFill('sse-h2'), `${transportColor('sse')}66`)
  assert.equal(transportFill('sse'), transportColor('sse'))
})
