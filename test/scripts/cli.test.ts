/**
 * The one CLI, `pushbench <subcommand> [flags]` (bin/pushbench.js), as users run it: the top-level help
 * and version, an unknown subcommand, each subcommand's help, and a bad flag of each subcommand, which
 * exits 2 naming the flag and what it allows, under the error prefix `pushbench <subcommand>`.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { PbOptionError } from '../../lib/errors.ts'
import { RAMP_RANGES, SERVER_RANGES } from '../../lib/params.ts'
import { resolveServerOptions } from '../../servers/options.ts'
import { fixture, type Ran, ROOT, runCli } from '../report/helpers.ts'

const SUBCOMMANDS = [
  'bench',
  'run',
  'serve',
  'compare',
  'merge',
  'charts',
  'micro',
  'advise',
  'pages',
] as const
type Sub = (typeof SUBCOMMANDS)[number]

/** flags each subcommand's --help must list */
const FLAGS: Record<Sub, string[]> = {
  bench: [
    '--profile',
    '--config',
    '--transports',
    '--scenario',
    '--seed',
    '--out',
    '--no-charts',
    '--no-report',
  ],
  run: [
    '--transport',
    '--clients',
    '--tick-hz',
    '--payload-bytes',
    '--duration-s',
    '--write-policy',
    '--server',
    '--out',
    '--ramp-batch',
    '--ramp-pause-ms',
  ],
  serve: ['--transport', '--server', '--host', '--port', '--tick-hz', '--payload-bytes', '--backlog'],
  compare: ['--threshold', '--allow-missing', '--json', '--html'],
  merge: ['--out'],
  charts: ['--out', '--width', '--height', '--html'],
  micro: ['--time-ms', '--group', '--out', '--no-charts'],
  advise: [
    '--clients',
    '--rate',
    '--payload',
    '--rtt',
    '--poll-interval-ms',
    '--max-p50-ms',
    '--from',
    '--json',
    '--no-run',
  ],
  pages: ['--host', '--port', '--tick-hz', '--poll-interval-ms', '--screenshot', '--screenshot-after-s'],
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const ALLOWED = SUBCOMMANDS.join(', ')

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pb-cli-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function assertUsage(r: Ran, what: string): void {
  assert.equal(r.status, 2, `${what}: exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  assert.equal(r.stdout, '', `${what}: errors go to stderr only`)
}

test('pushbench --help lists every subcommand, one line each, and exits 0', () => {
  for (const flag of ['--help', '-h']) {
    const r = runCli(undefined, [flag])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stderr, '')
    assert.match(r.stdout, /^Usage: pushbench <subcommand> \[flags\]/)
    for (const sub of SUBCOMMANDS) assert.match(r.stdout, new RegExp(`^  ${sub} +\\S.*$`, 'm'), sub)
    assert.match(r.stdout, /pushbench <subcommand> --help/)
  }
})

test('pushbench with no subcommand: the list on stderr, exit 2', () => {
  const r = runCli(undefined, [])
  assertUsage(r, 'no subcommand')
  assert.match(r.stderr, /a subcommand is required/)
  for (const sub of SUBCOMMANDS) assert.match(r.stderr, new RegExp(`^  ${sub} `, 'm'), sub)
})

test('pushbench --version prints the package version', () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  const r = runCli(undefined, ['--version'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, `${version}\n`)
})

test('an unknown subcommand or option exits 2 naming it and the allowed subcommands', () => {
  const sub = runCli('serv', ['--transport', 'sse'])
  assertUsage(sub, 'serv')
  assert.match(sub.stderr, new RegExp(`unknown subcommand 'serv' \\(allowed: ${esc(ALLOWED)}`))
  const opt = runCli('--bogus', [])
  assertUsage(opt, '--bogus')
  assert.match(opt.stderr, new RegExp(`unknown option '--bogus' \\(allowed: ${esc(ALLOWED)}`))
})

test('pushbench <subcommand> --help: exit 0, the usage under its name, its flags listed', () => {
  for (const sub of SUBCOMMANDS) {
    const r = runCli(sub, ['--help'])
    assert.equal(r.status, 0, `${sub}: ${r.stderr}`)
    assert.equal(r.stderr, '', sub)
    assert.match(r.stdout, new RegExp(`^Usage: pushbench ${sub} `), sub)
    for (const flag of FLAGS[sub])
      assert.match(r.stdout, new RegExp(`^\\s+(-\\w, )?${flag}\\b`, 'm'), `${sub} --help lists ${flag}`)
  }
})

test('a bad flag value of each subcommand exits 2, prefixed with its name, naming the flag and its range', (t) => {
  const dir = tempDir(t)
  const out = join(dir, 'out')
  const cases: [Sub, string[], RegExp][] = [
    [
      'bench',
      ['--seed', '-1', '--out', out],
      /^pushbench bench: error: --seed: must be an integer from 0 to/m,
    ],
    [
      'run',
      ['--transport', 'sse', '--clients', '0', '--out', join(out, 'r.json')],
      /^pushbench run: error: --clients: must be an integer from 1 to 100000 clients, got 0/m,
    ],
    [
      'serve',
      ['--transport', 'sse', '--port', '99999'],
      /^pushbench serve: error: --port: must be an integer from 0 to 65535, got 99999/m,
    ],
    [
      'compare',
      [fixture('compare-base.json'), fixture('compare-head.json'), '--threshold', 'p99=lots'],
      /^pushbench compare: error: --threshold: p99: percent must be a number/m,
    ],
    [
      'charts',
      [fixture('results-quick.json'), '--height', '5', '--out', out],
      /^pushbench charts: error: --height: must be an integer from 100 to 8000 pixels, got 5/m,
    ],
    [
      'micro',
      ['--time-ms', '0', '--out', out],
      /^pushbench micro: error: --time-ms: must be an integer from 1 to 60000 ms, got 0/m,
    ],
    [
      'advise',
      ['--clients', '1000', '--rate', '10', '--payload', '128', '--max-p50-ms', '-5', '--no-run'],
      /^pushbench advise: error: --max-p50-ms: must be a number from 0\.1 to 600000 ms, got -5/m,
    ],
  ]
  for (const [sub, args, re] of cases) {
    const r = runCli(sub, args)
    assertUsage(r, `${sub} ${args.join(' ')}`)
    assert.match(r.stderr, re, sub)
  }
  assert.equal(existsSync(out), false, 'a bad flag writes nothing')
})

test('a flag that is not a number, or unknown, exits 2 naming it (and the range, where there is one)', () => {
  const cases: [Sub, string[], RegExp][] = [
    ['bench', ['--seed', 'abc'], /--seed.*'abc'.*not a number \(allowed: 0\.\.4294967295\)/],
    [
      'run',
      ['--transport', 'sse', '--tick-hz', 'abc'],
      /--tick-hz.*'abc'.*not a number \(allowed: 0\.1\.\.1000\)/,
    ],
    [
      'serve',
      ['--transport', 'sse', '--tick-hz', 'abc'],
      /--tick-hz.*'abc'.*not a number \(allowed: 0\.1\.\.1000\)/,
    ],
    [
      'serve',
      ['--transport', 'sse', '--backlog', 'lots'],
      /--backlog.*'lots'.*not a number \(allowed: 1\.\.65535\)/,
    ],
    [
      'charts',
      [fixture('results-quick.json'), '--width', 'wide'],
      /--width.*'wide'.*not a number \(allowed: 100\.\.8000\)/,
    ],
    ['micro', ['--time-ms', 'fast'], /--time-ms.*'fast'.*not a number \(allowed: 1\.\.60000\)/],
    [
      'compare',
      [fixture('compare-base.json'), fixture('compare-head.json'), '--bogus'],
      /unknown option '--bogus'/,
    ],
  ]
  for (const [sub, args, re] of cases) {
    const r = runCli(sub, args)
    assertUsage(r, `${sub} ${args.join(' ')}`)
    assert.match(r.stderr, re, `${sub} ${args.join(' ')}`)
  }
})

test('run --ramp-batch and --ramp-pause-ms out of range: exit 2 naming the flag and its range', (t) => {
  const dir = tempDir(t)
  const b = RAMP_RANGES.batch
  const p = RAMP_RANGES.pauseMs
  const cases: [string[], RegExp][] = [
    [
      ['--ramp-batch', '0'],
      new RegExp(`--ramp-batch: must be an integer from ${b.min} to ${b.max} clients, got 0`),
    ],
    [['--ramp-batch', '-1'], /--ramp-batch: must be an integer .*got -1/],
    [['--ramp-batch', '1.5'], /--ramp-batch: must be an integer .*got 1\.5/],
    [
      ['--ramp-batch', 'many'],
      new RegExp(`--ramp-batch.*not a number \\(allowed: ${b.min}\\.\\.${b.max}\\)`),
    ],
    [
      ['--ramp-pause-ms', '-1'],
      new RegExp(`--ramp-pause-ms: must be an integer from ${p.min} to ${p.max} ms, got -1`),
    ],
    [['--ramp-pause-ms', '1.5'], /--ramp-pause-ms: must be an integer .*got 1\.5/],
  ]
  cases.forEach(([args, re], i) => {
    const out = join(dir, `case-${i}.json`)
    const r = runCli('run', ['--transport', 'sse', ...args, '--out', out])
    assertUsage(r, args.join(' '))
    assert.match(r.stderr, re, args.join(' '))
    assert.equal(existsSync(out), false, `${args.join(' ')}: no results file`)
  })
})

test("serve's ranges in lib/params.ts are the ones servers/options.ts enforces", () => {
  for (const [key, r] of Object.entries(SERVER_RANGES) as [
    keyof typeof SERVER_RANGES,
    { min: number; max: number },
  ][]) {
    const at = (v: number) => resolveServerOptions({ transport: 'sse', [key]: v }, { [key]: key })
    assert.equal(at(r.min)[key], r.min, `${key} takes its min`)
    assert.equal(at(r.max)[key], r.max, `${key} takes its max`)
    for (const bad of [r.min - 1, r.max + 1])
      assert.throws(
        () => at(bad),
        (e: unknown) => e instanceof PbOptionError && e.field === key,
        `${key} refuses ${bad}`,
      )
  }
})
