/** Warm-up until steady (`--max-warmup-s`): slices until the server's CPU per update agrees within 10%. */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { readResults } from '../../lib/results-io.ts'
import { isCompleted } from '../../lib/results-schema.ts'
import { runLoad, tempDir } from '../helpers/load-cli.ts'

test('a steady warm-up stops when two slices agree, or says it did not; a fixed one is not recorded', async (t) => {
  const dir = tempDir(t)
  const base = ['--transport', 'websocket', '--clients', '50', '--tick-hz', '20', '--updates-per-tick', '5']
  const out = join(dir, 'steady.json')
  const ran = await runLoad([
    ...base,
    '--duration-s',
    '1',
    '--warmup-s',
    '1',
    '--max-warmup-s',
    '6',
    '--out',
    out,
    '--quiet',
  ])
  assert.equal(ran.code, 0, ran.stderr)
  const file = readResults(out)
  assert.equal(file.scenarios[0]?.params.maxWarmupS, 6)
  const r = file.scenarios[0]?.results[0]
  assert.ok(r && isCompleted(r) && r.warmup, JSON.stringify(r))
  const w = r.warmup
  assert.ok(w.usedS >= 1 && w.usedS <= 6 + 1.5, `warm-up ${w.usedS} s`)
  assert.ok(w.sliceUsPerUpdate.length >= 1)
  for (const us of w.sliceUsPerUpdate) assert.ok(us > 0, `slice ${us} us/update`)
  const [a, b] = w.sliceUsPerUpdate.slice(-2)
  if (w.steady) {
    assert.ok(a !== undefined && b !== undefined && Math.abs(b - a) <= 0.1 * a + 0.001, `${a} vs ${b}`)
  } else {
    assert.ok(w.usedS >= 6, 'an unsteady warm-up runs to its bound')
    assert.ok(r.warnings?.some((x) => x.includes('not steady')))
  }
  assert.equal(r.updates.delivered, r.updates.expected)

  const fixed = join(dir, 'fixed.json')
  const ran2 = await runLoad([...base, '--duration-s', '1', '--warmup-s', '0.5', '--out', fixed, '--quiet'])
  assert.equal(ran2.code, 0, ran2.stderr)
  const r2 = readResults(fixed).scenarios[0]?.results[0]
  assert.ok(r2 && isCompleted(r2))
  assert.equal(r2.warmup, undefined)
})
