/**
 * `pushbench micro` (`npm run bench:micro`) as users run it, with a 1 ms budget per case: every case of every group is
 * checked, timed and written to a results file that validates against the results schema (its
 * `micro` section), with a PNG per group; bad flags exit 2 naming the flag.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { readResults } from '../../lib/results-io.ts'
import type { MicroCase } from '../../lib/results-schema.ts'
import { caseLabel, GROUPS, type Group } from '../../micro/case.ts'
import { buildCases } from '../../micro/groups.ts'
import { pngSize, runCli } from '../report/helpers.ts'

const MICRO = 'micro'

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pb-micro-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The one results file the run wrote into `out`, read through the schema-validating reader. */
function readOnlyResults(out: string): { path: string; micro: MicroCase[] } {
  const files = readdirSync(out).filter((f) => f.endsWith('.json'))
  assert.equal(files.length, 1, `one results file: ${readdirSync(out).join(', ')}`)
  const name = files[0] as string
  assert.match(name, /^micro-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.json$/)
  const path = join(out, name)
  const file = readResults(path) // throws PB_ERR_RESULTS_SCHEMA unless it matches lib/results-schema.ts
  assert.equal(file.profile, 'micro')
  assert.deepEqual(file.scenarios, [])
  assert.ok(file.finishedAt)
  assert.ok(file.micro, 'a micro section')
  return { path, micro: file.micro }
}

/** The label the runner gave the case (the results file types `group` as any string). */
const labelOf = (c: MicroCase): string => caseLabel({ ...c, group: c.group as Group })

function assertTimed(c: MicroCase): void {
  const label = labelOf(c)
  assert.ok((GROUPS as readonly string[]).includes(c.group), `${label}: a known group`)
  assert.ok(c.opsPerSecond > 0, `${label}: ops/s ${c.opsPerSecond}`)
  assert.ok(c.samples > 0, `${label}: samples ${c.samples}`)
  assert.ok(c.meanNs > 0, `${label}: mean ${c.meanNs}`)
  assert.ok((c.batch ?? 0) >= 1, `${label}: batch ${c.batch}`)
  // ops/s is the reciprocal of the mean in every row
  assert.ok(Math.abs((c.opsPerSecond * c.meanNs) / 1e9 - 1) < 1e-9, `${label}: ops/s x mean ns = 1e9`)
}

test('every case of every group is checked, timed and written; a chart per group', async (t) => {
  const out = join(tempDir(t), 'out')
  const r = runCli(MICRO, ['--time-ms', '1', '--out', out], { timeoutMs: 60_000 })
  assert.equal(r.status, 0, `exit status\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  const { path, micro } = readOnlyResults(out)

  // the cases the groups define, built here in-process, are exactly the ones in the file
  const want: string[] = []
  for (const g of GROUPS) for (const c of await buildCases(g)) want.push(caseLabel(c))
  assert.deepEqual(micro.map(labelOf), want)
  for (const c of micro) assertTimed(c)

  assert.ok(r.stdout.includes(`results: ${path}\n`), r.stdout)
  const chartsDir = path.slice(0, -'.json'.length)
  assert.deepEqual(readdirSync(chartsDir).sort(), GROUPS.map((g) => `${g}.png`).sort())
  for (const g of GROUPS) {
    const png = join(chartsDir, `${g}.png`)
    assert.ok(r.stdout.includes(`chart: ${png}\n`), `stdout names ${png}`)
    const size = pngSize(readFileSync(png))
    assert.ok(size.width > 0 && size.height > 0, png)
  }
  assert.match(r.stderr, new RegExp(`^\\[${GROUPS.length}/${GROUPS.length}\\] measure: \\d+ cases`, 'm'))
})

test('--group, repeated, runs only those groups; --no-charts makes no charts', (t) => {
  const out = join(tempDir(t), 'out')
  const r = runCli(MICRO, [
    '--time-ms',
    '1',
    '--group',
    'measure',
    '--group',
    'sse-event',
    '--no-charts',
    '--out',
    out,
  ])
  assert.equal(r.status, 0, r.stderr)
  const { micro } = readOnlyResults(out)
  // in the suite's group order, whatever the order of the flags
  assert.deepEqual([...new Set(micro.map((c) => c.group))], ['sse-event', 'measure'])
  for (const c of micro) assertTimed(c)
  assert.deepEqual(
    readdirSync(out).filter((f) => !f.endsWith('.json')),
    [],
    'no charts folder',
  )
  assert.doesNotMatch(r.stdout, /chart:/)
})

test('bad flags exit 2 naming the flag, and write nothing', (t) => {
  const dir = tempDir(t)
  const out = join(dir, 'out')
  const group = runCli(MICRO, ['--group', 'nope', '--out', out])
  assert.equal(group.status, 2, group.stderr)
  assert.match(group.stderr, /--group/)
  assert.match(group.stderr, /'nope'/)
  assert.match(group.stderr, /serialise, ws-frame, sse-event, poll-response, parse, measure/)

  const zero = runCli(MICRO, ['--time-ms', '0', '--out', out])
  assert.equal(zero.status, 2, zero.stderr)
  assert.match(zero.stderr, /--time-ms: must be an integer from 1 to 60000 ms, got 0/)

  const word = runCli(MICRO, ['--time-ms', 'fast', '--out', out])
  assert.equal(word.status, 2, word.stderr)
  assert.match(word.stderr, /--time-ms/)
  assert.match(word.stderr, /not a number/)

  assert.equal(existsSync(out), false, 'bad flags must not create the output folder')
})
