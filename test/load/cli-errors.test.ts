/**
 * `pushbench run` refuses bad scenario values before it starts anything: exit 2, the flag named with what it
 * allows, nothing written. `--help` exits 0 and documents every flag of the single-run contract.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { PARAM_RANGES, WRITE_POLICIES } from '../../lib/params.ts'
import { transportNames } from '../../lib/transports.ts'
import { MIN_PAYLOAD_BYTES } from '../../servers/update.ts'
import { runLoad, tempDir } from '../helpers/load-cli.ts'

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

test('bad scenario values exit 2 naming the flag and what it allows, and write no results file', async (t) => {
  const dir = tempDir(t)
  const R = PARAM_RANGES
  assert.equal(
    R.payloadBytes.min,
    MIN_PAYLOAD_BYTES,
    'the range the CLI names is the one the server enforces',
  )
  const cases: [string, string[], RegExp][] = [
    [
      'no clients',
      ['--clients', '0'],
      new RegExp(`--clients: must be an integer from ${R.clients.min} to ${R.clients.max}\\b.*got 0`),
    ],
    [
      'a payload below the smallest update',
      ['--payload-bytes', '10'],
      new RegExp(
        `--payload-bytes: must be an integer from ${MIN_PAYLOAD_BYTES} to ${R.payloadBytes.max} bytes, got 10`,
      ),
    ],
    [
      'an unknown write policy',
      ['--write-policy', 'foo'],
      new RegExp(`--write-policy.*'foo'.*${esc(WRITE_POLICIES.join(', '))}`),
    ],
    [
      'not a number',
      ['--tick-hz', 'abc'],
      new RegExp(`--tick-hz.*'abc'.*not a number.*${esc(`${R.tickHz.min}..${R.tickHz.max}`)}`),
    ],
    [
      'a window under the minimum',
      ['--duration-s', '0.1'],
      new RegExp(`--duration-s: must be a number from ${R.durationS.min} to`),
    ],
    ['a fractional client count', ['--clients', '1.5'], /--clients: must be an integer .*got 1\.5/],
    ['a negative round trip', ['--rtt-ms', '-1'], /--rtt-ms: must be a number from 0 to 2000 ms, got -1/],
    [
      'a round trip for clients without the delay line',
      ['--rtt-ms', '20', '--client', 'library'],
      /--rtt-ms: is emulated by the lean clients only .*--client library it must be 0, got 20/,
    ],
    [
      'a heartbeat under the least',
      ['--heartbeat-ms', '1'],
      /--heartbeat-ms: must be an integer from 10 to 3600000 ms, got 1/,
    ],
  ]
  const outs = cases.map((_, i) => join(dir, `case-${i}.json`))
  const runs = await Promise.all([
    ...cases.map(([, args], i) =>
      runLoad(['--transport', 'sse', ...args, '--out', outs[i] as string], 30_000),
    ),
    runLoad(['--transport', 'bogus', '--out', join(dir, 'bogus.json')], 30_000),
    runLoad(['--clients', '10', '--out', join(dir, 'none.json')], 30_000),
  ])
  cases.forEach(([name, args, re], i) => {
    const ran = runs[i]
    assert.ok(ran)
    assert.equal(
      ran.code,
      2,
      `${name} (${args.join(' ')}): exit ${ran.code ?? ran.signal}, stderr ${ran.stderr}`,
    )
    assert.match(ran.stderr, re, name)
    assert.equal(ran.stdout, '', `${name}: no results path printed`)
    assert.equal(existsSync(outs[i] as string), false, `${name}: no results file`)
  })
  const [bogus, missing] = runs.slice(cases.length)
  assert.ok(bogus && missing)
  assert.equal(bogus.code, 2, bogus.stderr)
  assert.match(bogus.stderr, new RegExp(`--transport.*'bogus'.*${esc(transportNames().join(', '))}`))
  assert.equal(existsSync(join(dir, 'bogus.json')), false)
  assert.equal(missing.code, 2, missing.stderr)
  assert.match(missing.stderr, /required option '--transport <name>' not specified/)
  assert.equal(existsSync(join(dir, 'none.json')), false)
})

test('--help exits 0 and documents every flag of the single-run contract', async () => {
  const ran = await runLoad(['--help'], 30_000)
  assert.equal(ran.code, 0, ran.stderr)
  assert.equal(ran.stderr, '')
  const contract = [
    '--transport',
    '--clients',
    '--tick-hz',
    '--updates-per-tick',
    '--payload-bytes',
    '--poll-interval-ms',
    '--duration-s',
    '--warmup-s',
    '--seed',
    '--write-policy',
    '--out',
  ]
  for (const flag of contract)
    assert.match(ran.stdout, new RegExp(`^\\s+${flag} `, 'm'), `--help lists ${flag}`)
  // the ranges and choices are in the help too
  assert.match(
    ran.stdout,
    new RegExp(`${PARAM_RANGES.payloadBytes.min}\\.\\.${PARAM_RANGES.payloadBytes.max}`),
  )
  for (const t of transportNames()) assert.match(ran.stdout, new RegExp(`"${t}"`))
  for (const p of WRITE_POLICIES) assert.match(ran.stdout, new RegExp(`"${p}"`))
})
