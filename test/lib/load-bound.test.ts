/**
 * lib/load-bound.ts: a planned load above what a host delivers is refused naming the flags to shrink;
 * every shipped profile, and the load advise's focused run may plan, stay within the limits.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FOCUSED_LIMITS } from '../../bench/advise-run.ts'
import { loadConfig, PROFILES, planScenarios, profilePath } from '../../bench/config.ts'
import { PbOptionError } from '../../lib/errors.ts'
import { checkPlannedLoad, checkRingBytes, LOAD_LIMITS } from '../../lib/load-bound.ts'
import { flagName, PARAM_RANGES } from '../../lib/params.ts'
import { resolveServerOptions } from '../../servers/options.ts'
import { defaultRingSize } from '../../servers/ticker.ts'

const base = { clients: 100, tickHz: 10, updatesPerTick: 1, payloadBytes: 128 }

test("the issue's 100 GiB/s: refused naming the three flags, the figure and the limit", () => {
  assert.throws(
    () =>
      checkPlannedLoad(
        { ...base, clients: 1, tickHz: 100, updatesPerTick: 1000, payloadBytes: 1_048_576 },
        flagName,
      ),
    (err: unknown) => {
      assert.ok(err instanceof PbOptionError)
      assert.equal(err.field, '--tick-hz x --updates-per-tick x --payload-bytes')
      assert.match(err.message, /97\.7 GiB\/s published, above the limit of 256 MiB\/s/)
      return true
    },
  )
})

test('delivered: clients x published, per shard; the clients named first', () => {
  const load = { clients: 10_000, tickHz: 10, updatesPerTick: 1, payloadBytes: 100_000 }
  assert.throws(
    () => checkPlannedLoad(load, flagName),
    /--clients x --tick-hz x --updates-per-tick x --payload-bytes: 10000 clients/,
  )
  // ten shards: each host receives a tenth (0.93 GiB/s), within the limit
  checkPlannedLoad(load, flagName, 10)
})

test("every shipped profile, and the most advise's focused run plans, are within the limits", () => {
  for (const p of PROFILES) {
    const plan = planScenarios(loadConfig(profilePath(p)), p, {
      client: p === 'browser' ? 'browser' : 'lean',
    })
    for (const s of plan) checkPlannedLoad(s.params)
  }
  assert.ok(FOCUSED_LIMITS.bytesPerS <= LOAD_LIMITS.deliveredBytesPerS)
})

test('the ring: the default at any payload is within the limit, and so is the largest --ring-size at the default payload', () => {
  for (const payload of [PARAM_RANGES.payloadBytes.min, 128, 65_536, PARAM_RANGES.payloadBytes.max])
    checkRingBytes(defaultRingSize(payload), payload, '--ring-size', '--payload-bytes')
  resolveServerOptions({ transport: 'sse', ringSize: 10_000_000 })
  assert.throws(
    () =>
      resolveServerOptions(
        { transport: 'sse', ringSize: 10_000_000, payloadBytes: 1_048_576 },
        { ringSize: '--ring-size', payloadBytes: '--payload-bytes' },
      ),
    /--ring-size x --payload-bytes: 10000000 updates x 1048576 B = 9.54 TiB|--ring-size x --payload-bytes: .* above the limit of 2 GiB/,
  )
})
