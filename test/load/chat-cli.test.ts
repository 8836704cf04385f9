/** The chat's flags on `pushbench run` and `pushbench serve`: bad values and what does not fit exit 2 naming the flag. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEFAULT_PARAMS, PARAM_RANGES, resolveParams } from '../../lib/params.ts'
import { resultParams, WORKLOADS, workload } from '../../lib/workloads.ts'
import { runLoad } from '../helpers/load-cli.ts'

test('params: rooms and sendHz, their defaults and ranges; the chat workload spreads clients i % rooms', () => {
  assert.equal(DEFAULT_PARAMS.rooms, 10)
  assert.equal(DEFAULT_PARAMS.sendHz, 1)
  assert.deepEqual([PARAM_RANGES.rooms.min, PARAM_RANGES.rooms.max], [1, 10_000])
  assert.deepEqual([PARAM_RANGES.sendHz.min, PARAM_RANGES.sendHz.max], [0.01, 100])
  assert.throws(() => resolveParams({ rooms: 0 }), /rooms/)
  assert.throws(() => resolveParams({ sendHz: 101 }), /sendHz/)
  assert.ok(WORKLOADS.includes('chat'))
  const p = resolveParams({ rooms: 4 })
  assert.equal(workload('chat').streams(p), 4)
  assert.deepEqual(
    [0, 1, 4, 7].map((i) => workload('chat').streamOf(i, p)),
    [0, 1, 0, 3],
  )
  assert.equal('rooms' in resultParams(p, 'ticker'), false)
  assert.equal(resultParams(p, 'chat').rooms, 4)
})

const BAD: [string[], string][] = [
  [['--rooms', '0'], '--rooms'],
  [['--rooms', '2.5'], '--rooms'],
  [['--send-hz', '1000'], '--send-hz'],
  [['--send-hz', '0'], '--send-hz'],
  [['--client', 'browser'], '--client'],
  [['--server', 'baseline'], '--server'],
]

for (const [args, flag] of BAD)
  test(`run --workload chat ${args.join(' ')}: exit 2 naming ${flag}`, async () => {
    const ran = await runLoad(['--transport', 'sse', '--workload', 'chat', '--quiet', ...args], 30_000)
    assert.equal(ran.code, 2, ran.stderr)
    assert.match(ran.stderr, new RegExp(flag))
  })
