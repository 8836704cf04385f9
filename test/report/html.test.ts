import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import { readResults } from '../../lib/results-io.ts'
import type { ResultsFile } from '../../lib/results-schema.ts'
import { chartConfigs, chartPlan } from '../../report/chart-configs.ts'
import { renderHtmlReport, writeHtmlReport } from '../../report/html.ts'
import { fixture } from './helpers.ts'

const CHROMIUM = '/usr/bin/chromium'
const quick = readResults(fixture('results-quick.json'))
const sweep = readResults(fixture('results-sweep.json'))

interface CanvasInk {
  id: string
  width: number
  height: number
  /** pixels with any opacity: the page background is not part of the canvas */
  painted: number
  colours: number
}

// runs in the page (the tsconfig has no DOM types, hence a string)
const INK = `Array.from(document.querySelectorAll('canvas')).map((c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
  const colours = new Set()
  let painted = 0
  for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) { painted++; colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]) }
  return { id: c.id, width: c.width, height: c.height, painted: painted / (d.length / 4), colours: colours.size }
})`

test('the HTML report draws every chart in headless Chromium, offline, with no console error', async (t) => {
  if (!existsSync(CHROMIUM)) {
    // CI (.ci/run) installs it; a laptop without it skips with the fix named
    if (process.env.CI) assert.fail(`${CHROMIUM} missing: apt-get install -y chromium`)
    t.skip(`${CHROMIUM} missing: apt-get install -y chromium`)
    return
  }
  const dir = mkdtempSync(join(tmpdir(), 'pb-html-'))
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
  t.after(async () => {
    await browser.close()
    rmSync(dir, { recursive: true, force: true })
  })
  for (const [name, file] of [
    ['quick', quick],
    ['sweep', { ...sweep, partial: true }],
  ] as [string, ResultsFile][]) {
    const path = join(dir, `${name}.html`)
    await writeHtmlReport(file, path)
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const problems: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`)
    })
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    // self-contained: nothing but the file itself may be fetched
    page.on('request', (r) => {
      if (r.url() !== pathToFileURL(path).href) problems.push(`request: ${r.url()}`)
    })
    await page.goto(pathToFileURL(path).href)
    await page.waitForSelector('body[data-charts]', { timeout: 10_000 })
    assert.equal(await page.getAttribute('body', 'data-charts'), 'ready', name)
    const ink = (await page.evaluate(INK)) as CanvasInk[]
    const specs = chartConfigs(file)
    assert.equal(ink.length, specs.length, `${name}: one canvas per chart config`)
    assert.deepEqual(
      // the page shows the sweeps before the scenarios: the same charts, in its own order
      ink.map((c) => c.id).sort(),
      specs.map((s) => `chart-${s.id}`).sort(),
    )
    if (name === 'quick') {
      // the percentile plot, drawn by chart.js in the page: its x axis is the percentile ladder out to the max
      const labels = (await page.evaluate(
        `Chart.getChart('chart-latency-distribution').data.labels`,
      )) as string[]
      assert.deepEqual(labels, [
        'min',
        '68.38%',
        '90%',
        '96.84%',
        '99%',
        '99.68%',
        '99.9%',
        '99.968%',
        '99.99%',
        'max',
      ])
      const lines = (await page.evaluate(
        `Chart.getChart('chart-latency-distribution').data.datasets.map((d) => d.label)`,
      )) as string[]
      assert.deepEqual(lines.sort(), ['long-poll (generator saturated)', 'short-poll', 'sse', 'websocket'])
      assert.ok(
        ink.some((c) => c.id === 'chart-memory'),
        'memory per connection chart',
      )
      // the verdict is the first section, and every chart has a caption with its conditions
      const first = (await page.evaluate(`document.querySelector('main section').className`)) as string
      assert.equal(first, 'verdict')
      assert.match((await page.textContent('section.verdict')) ?? '', /freshest at the median/)
      const captions = (await page.evaluate(
        `Array.from(document.querySelectorAll('figure.chart figcaption')).map((f) => f.textContent)`,
      )) as string[]
      assert.equal(captions.length, ink.length)
      for (const c of captions) assert.match(c, /1,000 clients/)
    }
    for (const c of ink) {
      assert.ok(c.width > 300 && c.height > 200, `${name} ${c.id}: ${c.width}x${c.height}`)
      assert.ok(c.painted > 0.01 && c.colours > 5, `${name} ${c.id} looks blank: ${JSON.stringify(c)}`)
    }
    assert.deepEqual(problems, [], name)
    await page.close()
  }
})

test('the page inlines chart.js, and carries the tables, env, params and warnings', () => {
  const html = renderHtmlReport({ ...sweep, partial: true })
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|https?:\/\/cdn/i)
  assert.ok(html.length > 200_000, 'chart.js is inlined')
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/)
  assert.match(html, /AMD EPYC 7B13/)
  assert.match(html, /<dt>clients<\/dt><dd>5000<\/dd>/)
  assert.match(html, /<li class="warning">partial run: it was interrupted/)
  assert.match(html, /<li class="error">clients-5000 \/ short-poll: errored: timed out/)
  assert.match(html, /clients-1000 \/ long-poll: the load generator saturated/)
  assert.match(
    html,
    /<tr class="errored"><th scope="row">short-poll<\/th><td colspan="13">errored: timed out/,
  )
  assert.match(html, /<td class="num win" title="best in column"><strong>41\.8 ms<\/strong><\/td>/)
  assert.match(html, /<tr class="saturated">/)

  const q = renderHtmlReport(quick)
  assert.match(q, /<h3>Capacity: the highest rate/)
  assert.match(q, /autocannon GET \/poll\?since=0/)
  // the results' own strings are escaped, never markup
  const evil = structuredClone(quick)
  const first = evil.scenarios[0]
  assert.ok(first)
  first.name = '<img src=x onerror=alert(1)>'
  const e = renderHtmlReport(evil)
  assert.doesNotMatch(e, /<img src=x/)
  assert.match(e, /&lt;img src=x onerror=alert\(1\)&gt;/)
})

test('writeHtmlReport writes the file whole (no temp file left behind)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-html-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'nested', 'report.html')
  await writeHtmlReport(quick, path)
  assert.equal(readFileSync(path, 'utf8'), renderHtmlReport(quick))
  const { readdirSync } = await import('node:fs')
  assert.deepEqual(readdirSync(join(dir, 'nested')), ['report.html'])
})

test('a throughput chart whose bars all equal the offered rate is left out, with the reason', () => {
  // the quick profile has no capacity search: its throughput chart would be four equal bars
  const flat: ResultsFile = structuredClone(quick)
  for (const s of flat.scenarios) delete s.capacity
  const { specs, omitted } = chartPlan(flat)
  assert.ok(!specs.some((s) => s.id === 'throughput'), 'no throughput chart')
  assert.deepEqual(
    omitted.map((o) => o.id),
    ['throughput'],
  )
  assert.match(
    renderHtmlReport(flat),
    /<p class="note omitted">throughput chart left out: every transport delivered the offered 10,000 updates\/s/,
  )
  // one transport that fell short: the bars differ, the chart says something
  const short: ResultsFile = structuredClone(flat)
  const r = short.scenarios[0]?.results.find((x) => x.transport === 'sse')
  assert.ok(r && r.state !== 'errored')
  r.deliveredPerSecond = 5000
  assert.ok(chartPlan(short).specs.some((s) => s.id === 'throughput'))
  assert.deepEqual(chartPlan(short).omitted, [])
})

test('every chart has a title, axis titles and a caption with its conditions', () => {
  for (const file of [quick, sweep]) {
    for (const s of chartPlan(file).specs) {
      assert.ok(s.title.length > 10, s.id)
      assert.match(s.caption, /clients|sweep/, `${s.id}: ${s.caption}`)
      const scales = (s.config.options?.scales ?? {}) as Record<
        string,
        { title?: { display?: boolean; text?: string } }
      >
      for (const axis of ['x', 'y'])
        assert.ok(scales[axis]?.title?.display && scales[axis]?.title?.text, `${s.id} ${axis}`)
    }
  }
})
