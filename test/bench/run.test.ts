/**
 * `npm run bench` end to end on a tiny config of one scenario: the four transports at 10 clients for
 * a 1 s window, and the autocannon ceiling of the poll endpoint for 1 s. It must exit 0 and leave a
 * results file that validates, non-empty PNG charts and the HTML report, say where they are, and keep
 * its progress to plain lines under CI=true.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { readResults } from '../../lib/results-io.ts'
import { isCompleted } from '../../lib/results-schema.ts'
import { transportNames } from '../../lib/transports.ts'
import { pngSize, runCli } from '../report/helpers.ts'

// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for escape codes is the point
const CONTROL = /[\x1b\r]/

const CONFIG = {
  description: 'test/bench/run.test.ts: the smallest run that still measures something',
  defaults: { clients: 10, tickHz: 10, durationS: 1, warmupS: 0.5, pollIntervalMs: 100, seed: 7 },
  scenarios: [
    {
      name: 'tiny',
      transports: transportNames(),
      autocannon: { connections: 2, durationS: 1 },
    },
  ],
}

test('a one-scenario tiny run: exit 0, a valid results file, charts, report, plain progress', {
  timeout: 150_000,
}, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-bench-run-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const config = join(dir, 'tiny.json')
  writeFileSync(config, JSON.stringify(CONFIG, null, 2))
  const out = join(dir, 'out')

  const r = runCli('bench', ['--config', config, '--out', out], {
    env: { CI: 'true' },
    timeoutMs: 120_000,
  })
  assert.equal(r.status, 0, `exit status\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)

  // one results file, named after the config file
  const jsons = readdirSync(out).filter((f) => f.endsWith('.json'))
  assert.equal(jsons.length, 1, `one results file in ${readdirSync(out).join(', ')}`)
  const name = jsons[0] as string
  assert.match(name, /^tiny-\d{8}-\d{6}-[0-9a-f]{4}\.json$/)
  const resultsPath = join(out, name)
  const file = readResults(resultsPath) // validates against lib/results-schema.ts
  const runId = name.slice(0, -'.json'.length)
  assert.equal(file.runId, runId)
  assert.equal(file.profile, 'tiny')
  assert.ok(file.finishedAt, 'finishedAt is set')
  assert.notEqual(file.partial, true)
  assert.equal(file.scenarios.length, 1)
  const [s] = file.scenarios
  assert.ok(s)
  assert.equal(s.name, 'tiny')
  assert.deepEqual(
    { ...s.params },
    {
      clients: 10,
      tickHz: 10,
      updatesPerTick: 1,
      payloadBytes: 128,
      pollIntervalMs: 100,
      durationS: 1,
      warmupS: 0.5,
      maxWarmupS: 0,
      writePolicy: 'per-tick',
      seed: 7,
      symbols: 50,
      rttMs: 0,
    },
  )
  assert.deepEqual(
    s.results.map((x) => x.transport),
    transportNames(),
  )
  for (const x of s.results) {
    assert.ok(isCompleted(x), `${x.transport} completed: ${JSON.stringify(x)}`)
    assert.equal(x.server ?? 'pushbench', 'pushbench')
    assert.ok(x.updates.published > 0, `${x.transport}: updates published in the window`)
    assert.ok(x.updates.delivered > 0, `${x.transport}: updates delivered`)
    assert.equal(x.latencyMs.count, x.updates.delivered, `${x.transport}: one latency per delivered update`)
    assert.ok(x.bytes.serverToClient > 0, `${x.transport}: bytes to the clients`)
    // push clients send nothing once connected (the request or handshake is before the window)
    if (x.transport.endsWith('-poll')) assert.ok(x.bytes.clientToServer > 0, `${x.transport}: requests`)
    assert.ok(x.serverCpu.userMs + x.serverCpu.systemMs > 0, `${x.transport}: server CPU measured`)
  }
  assert.ok(s.autocannon, 'the autocannon ceiling is in the results')
  assert.equal(s.autocannon.connections, 2)
  assert.ok(s.autocannon.requestsPerSecond > 0)

  // charts: a folder named after the run, every file a non-empty PNG
  const chartsDir = join(out, runId)
  const pngs = readdirSync(chartsDir)
  assert.ok(pngs.length >= 3, `charts: ${pngs.join(', ')}`)
  for (const p of pngs) {
    assert.match(p, /\.png$/)
    const size = pngSize(readFileSync(join(chartsDir, p)))
    assert.ok(size.width > 0 && size.height > 0, `${p}: ${size.width}x${size.height}`)
  }
  assert.ok(pngs.includes('latency.png'), 'a latency chart')

  // the HTML report, a page about this run
  const htmlPath = join(out, `${runId}.html`)
  assert.ok(existsSync(htmlPath))
  const html = readFileSync(htmlPath, 'utf8')
  assert.match(html, /^<!doctype html>/i)
  assert.ok(html.includes(runId), 'the report names its run')

  // where things are, on stdout; the plan and the results path on stderr first
  assert.ok(r.stdout.includes(`results: ${resultsPath}\n`), r.stdout)
  assert.ok(r.stdout.includes(`charts:  ${chartsDir}/ (${pngs.length} PNG)\n`), r.stdout)
  assert.ok(r.stdout.includes(`report:  ${htmlPath}\n`), r.stdout)
  assert.ok(r.stderr.includes(`results -> ${resultsPath}\n`), r.stderr)
  // one run per registered transport (the opt-in Socket.IO and HTTP/2 rows included: the scenario names them all), and autocannon
  const runs = transportNames().length + 1
  assert.match(r.stderr, new RegExp(`pushbench: tiny: 1 scenario\\(s\\), ${runs} run\\(s\\)`))

  // CI=true: plain lines only, one per phase, in both streams
  assert.doesNotMatch(r.stderr, CONTROL, 'no escape codes or carriage returns in the progress')
  assert.doesNotMatch(r.stdout, CONTROL, 'no escape codes or carriage returns in the summary')
  transportNames().forEach((tr, i) => {
    assert.match(
      r.stderr,
      new RegExp(`^\\[${i + 1}/${runs}\\] tiny · ${tr} · measure 1 s · ~\\d+s left$`, 'm'),
    )
  })
  assert.match(
    r.stderr,
    new RegExp(`^\\[${runs}/${runs}\\] tiny · short-poll autocannon · autocannon 2 connections, 1 s`, 'm'),
  )
  // the summary table has a row per transport
  for (const tr of transportNames()) assert.match(r.stdout, new RegExp(`^${tr}\\s`, 'm'))
})
