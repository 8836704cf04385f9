/**
 * `pushbench merge` as users run it (`node bin/pushbench.js merge ...`): shard files merged into a valid
 * results file with a summary on stdout; bad input (a file that is not a results file, shards of different
 * scenarios, no --out) exits 2 naming what is wrong, and writes nothing.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { readResults } from '../../lib/results-io.ts'
import type { CompletedResult, ResultsFile } from '../../lib/results-schema.ts'
import { buildShards } from '../helpers/shard-files.ts'
import { type Ran, runCli } from '../report/helpers.ts'

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pb-merge-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function writeShards(dir: string, files: ResultsFile[]): string[] {
  return files.map((f, i) => {
    const path = join(dir, `shard-${i}.json`)
    writeFileSync(path, `${JSON.stringify(f, null, 2)}\n`)
    return path
  })
}

function assertUsage(r: Ran, re: RegExp): void {
  assert.equal(r.status, 2, `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  assert.equal(r.stdout, '')
  assert.match(r.stderr, re)
}

test('merge: shard files into one valid results file, and a summary', (t) => {
  const dir = tempDir(t)
  const paths = writeShards(dir, buildShards().files)
  const out = join(dir, 'nested', 'merged.json')
  const r = runCli(
    'merge',
    [paths[1], paths[0], paths[2], '--out', out].filter((x) => x !== undefined),
  )
  assert.equal(r.status, 0, r.stderr)
  const merged = readResults(out)
  assert.equal(merged.scenarios.length, 1)
  const sse = merged.scenarios[0]?.results.find((x) => x.transport === 'sse') as CompletedResult
  assert.equal(sse.shards?.length, 3)
  assert.deepEqual(
    sse.shards?.map((s) => s.file),
    [paths[0], paths[1], paths[2]],
  )
  assert.ok(sse.latencyMs.hdr)
  assert.match(r.stdout, /^merged 3 shards, 1 scenario into .*merged\.json/)
  for (const transport of ['short-poll', 'long-poll', 'sse', 'websocket'])
    assert.match(r.stdout, new RegExp(`^ {2}${transport} +1000 clients {2}p50 \\S+ \\S+ {2}p99 `, 'm'))
  assert.match(r.stdout, /^warnings \(\d+\):/m)
})

test('merge --help names the arguments and --out', () => {
  const r = runCli('merge', ['--help'])
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /^Usage: pushbench merge /)
  assert.match(r.stdout, /^\s+-o, --out <file>/m)
})

test('merge: a file that is not a results file exits 2 naming it', (t) => {
  const dir = tempDir(t)
  const [p0] = writeShards(dir, buildShards([1000]).files)
  assert.ok(p0)
  const notJson = join(dir, 'notes.json')
  writeFileSync(notJson, 'hello\n')
  const notResults = join(dir, 'other.json')
  writeFileSync(notResults, '{"schemaVersion": 1, "hello": true}\n')
  const out = join(dir, 'merged.json')
  assertUsage(
    runCli('merge', [p0, notJson, '--out', out]),
    /^pushbench merge: error: FILE: .*notes\.json is not JSON/m,
  )
  assertUsage(
    runCli('merge', [notResults, p0, '--out', out]),
    /^pushbench merge: error: FILE: .*other\.json does not match the results schema/m,
  )
  assertUsage(runCli('merge', [join(dir, 'missing.json'), '--out', out]), /cannot read .*missing\.json/)
  assert.equal(existsSync(out), false, 'nothing written')
})

test('merge: shards of different scenarios exit 2 naming both files', (t) => {
  const dir = tempDir(t)
  const files = buildShards([500, 500]).files
  const sc = files[1]?.scenarios[0]
  assert.ok(sc)
  sc.name = 'another'
  const paths = writeShards(dir, files)
  const out = join(dir, 'merged.json')
  assertUsage(
    runCli('merge', [...paths, '--out', out]),
    /^pushbench merge: error: FILE: scenarios differ: .*shard-0\.json has \["quick"\], .*shard-1\.json has \["another"\]/m,
  )
  assert.equal(existsSync(out), false)
})

test('merge: no --out, or an --out that is a shard, exits 2', (t) => {
  const dir = tempDir(t)
  const [p0] = writeShards(dir, buildShards([1000]).files)
  assert.ok(p0)
  assertUsage(runCli('merge', [p0]), /required option '-o, --out <file>' not specified/)
  assertUsage(runCli('merge', [p0, '--out', p0]), /--out: .* is one of the shard files/)
  assertUsage(runCli('merge', [p0, '--out', dir]), /--out: cannot write .*: it is a folder/)
  assert.deepEqual(JSON.parse(readFileSync(p0, 'utf8')).runId, buildShards([1000]).files[0]?.runId)
})
