/**
 * Open files: a run that needs more descriptors than the host allows is refused before anything starts
 * (exit 2, the clients field named, the number needed and how to raise it); one that needs more than the
 * soft limit, within what the process may raise, gets its children started under `prlimit`.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { PbOptionError } from '../../lib/errors.ts'
import { NOFILE_MARGIN, nofileFor, planNofile, readNofile } from '../../lib/nofile.ts'
import { ROOT, tempDir } from '../helpers/load-cli.ts'

const limits = (soft: number, hard: number, canRaiseHard = false) => ({
  soft,
  hard,
  canRaiseHard,
  ceiling: 1_048_576,
})

test('this process reads its own limits', () => {
  const l = readNofile()
  assert.ok(l.soft > 0 && l.hard >= l.soft)
})

test('within the soft limit nothing changes; within the hard limit (or with the privilege) the child is raised', () => {
  assert.equal(planNofile(nofileFor(1000), limits(4096, 4096), '--clients', 'server'), undefined)
  assert.equal(planNofile(20_064, limits(1024, 65_536), '--clients', 'server'), 20_064)
  assert.equal(planNofile(20_064, limits(1024, 1024, true), '--clients', 'server'), 20_064)
})

test('past the hard limit without the privilege: a PbOptionError naming the field, the need and the fix', () => {
  assert.throws(
    () => planNofile(nofileFor(20_000), limits(1024, 4096), 'scenarios[0].params.clients', 'generator'),
    (e: unknown) =>
      e instanceof PbOptionError &&
      e.field === 'scenarios[0].params.clients' &&
      e.message.includes(`needs ${20_000 + NOFILE_MARGIN} open files in the generator`) &&
      e.message.includes('ulimit -n is 1024') &&
      e.message.includes(`ulimit -n ${20_000 + NOFILE_MARGIN}`) &&
      e.message.includes('--generators'),
  )
})

const tools = ['/usr/bin/setpriv', '/usr/bin/prlimit'].every((p) => existsSync(p))

test('pushbench run with a too-low ulimit -n: exit 2 before any connection, nothing written', {
  skip: !tools && 'needs setpriv and prlimit (util-linux)',
}, (t) => {
  const out = join(tempDir(t), 'r.json')
  // a hard limit of 256, and no CAP_SYS_RESOURCE to raise it (root keeps it otherwise)
  const r = spawnSync(
    'setpriv',
    [
      '--bounding-set=-sys_resource',
      '--inh-caps=-sys_resource',
      'prlimit',
      '--nofile=256:256',
      process.execPath,
      'bin/pushbench.js',
      'run',
      '--transport',
      'websocket',
      '--clients',
      '1000',
      '--duration-s',
      '1',
      '--out',
      out,
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
  )
  assert.equal(r.status, 2, r.stderr)
  assert.match(
    r.stderr,
    new RegExp(
      `--clients: needs ${1000 + NOFILE_MARGIN} open files in the server .*ulimit -n is 256 \\(hard limit 256\\)`,
    ),
  )
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
  assert.doesNotMatch(r.stderr, /connect \(/, 'no connect phase began')
  assert.equal(existsSync(out), false, 'no results file')
})

test('a soft limit below the need and a hard limit above it: the children are started under prlimit and the run completes', {
  skip: !tools && 'needs prlimit (util-linux)',
}, (t) => {
  const out = join(tempDir(t), 'r.json')
  // 1,200 connections in the server and in the generator, each needing 1,264 descriptors of a soft 1,024
  const r = spawnSync(
    'prlimit',
    [
      '--nofile=1024:4096',
      process.execPath,
      'bin/pushbench.js',
      'run',
      '--transport',
      'websocket',
      '--clients',
      '1200',
      '--duration-s',
      '1',
      '--warmup-s',
      '0.5',
      '--quiet',
      '--out',
      out,
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
  )
  assert.equal(r.status, 0, r.stderr)
  const result = JSON.parse(readFileSync(out, 'utf8')).scenarios[0].results[0]
  assert.equal(result.state, 'completed')
  assert.equal(result.updates.missed, 0)
  assert.ok(result.updates.delivered >= 1200, `delivered ${result.updates.delivered}`)
})

test('pushbench bench with a too-low ulimit -n: every planned run checked before the first starts (exit 2, the field named, nothing written)', {
  skip: !tools && 'needs setpriv and prlimit (util-linux)',
}, (t) => {
  const dir = tempDir(t)
  const defaults = { clients: 10, durationS: 1, warmupS: 0 }
  // in each, the first run would fit: only one planned later needs more than 256 descriptors
  const configs: Record<string, [object, RegExp]> = {
    sweep: [
      {
        defaults,
        scenarios: [
          { name: 'small', transports: ['sse'] },
          { name: 'big', params: { clients: [10, 1000] } },
        ],
      },
      new RegExp(
        `scenarios\\[1\\]\\.params\\.clients: needs ${1000 + NOFILE_MARGIN} open files in the server`,
      ),
    ],
    capacity: [
      { defaults, scenarios: [{ name: 'c', transports: ['sse'], capacity: { clients: 1000 } }] },
      new RegExp(
        `scenarios\\[0\\]\\.capacity\\.clients: needs ${1000 + NOFILE_MARGIN} open files in the server`,
      ),
    ],
    autocannon: [
      {
        defaults,
        scenarios: [
          { name: 'a', transports: ['short-poll'], autocannon: { connections: 300, durationS: 1 } },
        ],
      },
      new RegExp(`scenarios\\[0\\]\\.autocannon\\.connections: needs ${300 + NOFILE_MARGIN} open files`),
    ],
  }
  for (const [name, [config, message]] of Object.entries(configs)) {
    const file = join(dir, `${name}.json`)
    writeFileSync(file, JSON.stringify(config))
    const out = join(dir, `out-${name}`)
    const r = spawnSync(
      'setpriv',
      [
        '--bounding-set=-sys_resource',
        '--inh-caps=-sys_resource',
        'prlimit',
        '--nofile=256:256',
        process.execPath,
        'bin/pushbench.js',
        'bench',
        '--config',
        file,
        '--out',
        out,
        '--no-charts',
        '--no-report',
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
    )
    assert.equal(r.status, 2, `${name}: ${r.stderr}`)
    assert.match(r.stderr, message, name)
    assert.match(r.stderr, /ulimit -n is 256 \(hard limit 256\).*run `ulimit -n \d+` first/, name)
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${name}: no stack trace`)
    assert.doesNotMatch(r.stderr, /scenario\(s\), \d+ run\(s\)/, `${name}: no run began`)
    assert.equal(existsSync(out) && readdirSync(out).length > 0, false, `${name}: nothing written`)
  }
})
