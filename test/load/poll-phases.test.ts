import assert from 'node:assert/strict'
import { test } from 'node:test'
import { mulberry32 } from '../../lib/random.ts'
import { stratifiedPhases } from '../../load/poll-phases.ts'

test('short-poll phases: one per 1/n of the interval, from one epoch, whatever the random draw', () => {
  for (const n of [1, 7, 100, 1000]) {
    // a draw that always says 0.999 still spreads the phases: client k lands in [k/n, (k+1)/n)
    for (const random of [mulberry32(1), () => 0.999, () => 0]) {
      const next = stratifiedPhases(n, random, 1234)
      const phases = Array.from({ length: n }, () => next())
      phases.forEach((p, k) => {
        assert.equal(p.epochMs, 1234)
        assert.ok(p.fraction >= k / n && p.fraction < (k + 1) / n, `n ${n}, client ${k}: ${p.fraction}`)
      })
      // so the mean phase is within 1/(2n) of the middle of the interval
      const mean = phases.reduce((a, p) => a + p.fraction, 0) / n
      assert.ok(Math.abs(mean - 0.5) <= 1 / (2 * n) + 1e-12, `n ${n}: mean ${mean}`)
    }
  }
})
