/**
 * A scenario's `faults` (bench/config.ts): planned as written with its defaults, the faults profile loads,
 * and a bad field is exit 2 from `pushbench bench`, naming the file, the field and what is allowed.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig, plannedSeconds, planScenarios, profilePath } from '../../bench/config.ts'
import { PbOptionError } from '../../lib/errors.ts'
import { FAULT_DEFAULTS, FAULT_KINDS } from '../../load/fault-run.ts'
import { runCli } from '../report/helpers.ts'

test('a faults scenario is planned with its kinds, clients and defaults', () => {
  const [s] = planScenarios(
    {
      scenarios: [
        {
          name: 'f',
          transports: ['sse', 'websocket'],
          params: { clients: 30 },
          faults: {
            kinds: ['restart', 'storm', 'restart'],
            downtimeMs: 300,
            latencyBound: { ratio: 3, plusMs: 1 },
          },
        },
      ],
    },
    'my.json',
  )
  assert.deepEqual(s?.faults?.kinds, ['restart', 'storm'])
  assert.equal(s?.faults?.clients, 30)
  assert.deepEqual(s?.faults?.options, {
    ...FAULT_DEFAULTS,
    downtimeMs: 300,
    latencyBound: { ratio: 3, plusMs: 1 },
  })
  assert.ok(s && plannedSeconds(s) > 0)
})

test('the faults profile runs every kind for the four transports, in a few minutes', () => {
  const plan = planScenarios(loadConfig(profilePath('faults')), 'profile faults')
  const kinds = new Set(plan.flatMap((s) => s.faults?.kinds ?? []))
  assert.deepEqual([...kinds].sort(), [...FAULT_KINDS].sort())
  for (const s of plan) assert.deepEqual(s.transports, ['short-poll', 'long-poll', 'sse', 'websocket'])
  const seconds = plan.reduce((t, s) => t + plannedSeconds(s), 0)
  assert.ok(seconds < 600, `planned ${seconds} s`)
})

test('a plugin transport in a faults scenario is refused naming the field', () => {
  assert.throws(
    () =>
      planScenarios(
        { scenarios: [{ name: 'f', transports: ['mqtt'], faults: { kinds: ['storm'] } }] },
        'my.json',
      ),
    (e: unknown) => e instanceof PbOptionError && e.field.startsWith('my.json: scenarios[0].transports[0]'),
  )
})

test('bench --config with a bad faults field: exit 2 naming the file, the field and the allowed values', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-faults-config-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const cases: [unknown, RegExp][] = [
    [{ kinds: ['restart', 'earthquake'] }, /scenarios\.0\.faults\.kinds\.1: .*"restart".*"earthquake"/],
    [{ kinds: [] }, /scenarios\.0\.faults\.kinds: /],
    [{ kinds: ['storm'], slowFraction: 2 }, /scenarios\.0\.faults\.slowFraction: .*0\.9/],
    [{ kinds: ['storm'], downtimeMz: 5 }, /scenarios\.0\.faults\.downtimeMz: unknown field/],
  ]
  cases.forEach(([faults, re], i) => {
    const file = join(dir, `bad-${i}.json`)
    writeFileSync(file, JSON.stringify({ scenarios: [{ name: 'f', faults }] }))
    const out = join(dir, `out-${i}`)
    const r = runCli('bench', ['--config', file, '--out', out])
    assert.equal(r.status, 2, `${JSON.stringify(faults)}: ${r.stderr}`)
    assert.ok(r.stderr.includes(file), r.stderr)
    assert.match(r.stderr, re)
    assert.equal(existsSync(out), false, 'nothing written')
  })
})
