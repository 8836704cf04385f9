/**
 * Capacity search (load/capacity.ts) at small scale: the offered rate doubles on one connected session,
 * each step is judged against the limits, and the answer is the highest rate that passed. Limits are
 * chosen so the outcome does not depend on how fast this machine is.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as v from 'valibot'
import { resolveParams } from '../../lib/params.ts'
import { CapacitySchema } from '../../lib/results-schema.ts'
import { bottleneck, searchCapacity } from '../../load/capacity.ts'
import { wsFrameHeaderLength } from '../../servers/frames.ts'

const params = resolveParams({ clients: 20, tickHz: 10, updatesPerTick: 1, durationS: 1, warmupS: 0.3 })
const frame = wsFrameHeaderLength(params.payloadBytes) + params.payloadBytes

test('capacity: the rate doubles each step; passing steps deliver everything; the answer is the last pass', async () => {
  const [generous, impossible] = await Promise.all([
    // 10 s of p99 latency allowed: every step passes, the search ends at maxSteps
    searchCapacity(
      { transport: 'websocket', params },
      { limits: { minDeliveryRatio: 0.99, maxP99Ms: 10_000 }, stepS: 1, settleS: 0.3, maxSteps: 3 },
    ),
    // 1 us of p99 latency allowed: no step can pass, the search ends at the first
    searchCapacity(
      { transport: 'websocket', params },
      { limits: { minDeliveryRatio: 0.99, maxP99Ms: 0.001 }, stepS: 1, settleS: 0.3, maxSteps: 3 },
    ),
  ])
  for (const c of [generous, impossible]) {
    v.parse(CapacitySchema, c) // the shape the results file stores
    assert.equal(c.transport, 'websocket')
    assert.equal(c.unit, 'updates/s')
    assert.equal(c.clients, params.clients)
  }

  assert.deepEqual(
    generous.steps.map((s) => s.offeredPerSecond),
    [10, 20, 40],
  )
  for (const s of generous.steps) {
    assert.equal(s.passed, true, JSON.stringify(s))
    assert.equal(s.deliveryRatio, 1, 'a push transport at 20 clients delivers every update of the step')
    // and a server this far from its CPU publishes what was offered (one tick allowed at the edges)
    assert.equal(s.publishedRatio, 1, JSON.stringify(s))
    // each step's window holds only its own rate's ticks: the bytes are its frames, exactly
    assert.equal(s.bytesPerUpdate, frame)
    assert.equal(s.generatorSaturated, false)
  }
  assert.equal(generous.maxSustainedPerSecond, 40)
  assert.equal(generous.maxSustainedDeliveredPerSecond, generous.steps[2]?.deliveredPerSecond)
  assert.equal(generous.stoppedBecause, 'reached 3 steps')

  assert.equal(impossible.steps.length, 1)
  const [first] = impossible.steps
  assert.ok(first)
  assert.equal(first.passed, false)
  assert.equal(first.deliveryRatio, 1)
  assert.equal(impossible.maxSustainedPerSecond, 0)
  assert.equal(impossible.stoppedBecause, `p99 ${first.latencyP99Ms} ms > 0.001 ms at 10 updates/s`)
  // both processes near idle: the limit, not the generator, failed the step
  assert.equal(impossible.limitedBy, 'server')
  assert.equal(generous.limitedBy, 'none')
})

test('capacity: short polling is refused (its ceiling is measured with autocannon)', async () => {
  await assert.rejects(
    searchCapacity(
      { transport: 'short-poll', params },
      { limits: { minDeliveryRatio: 0.99, maxP99Ms: 100 }, stepS: 1, settleS: 0.3, maxSteps: 1 },
    ),
    /short-poll is polled \(its endpoint's ceiling is autocannon's\)/,
  )
})

test('a failed capacity step is blamed on the busier process', () => {
  const step = {
    offeredPerSecond: 320,
    deliveredPerSecond: 309_333,
    deliveryRatio: 1,
    latencyP99Ms: 140,
    serverCpuPercent: 13,
    bytesPerUpdate: 132,
    generatorSaturated: false,
    passed: false,
  }
  // measured here: WebSocket at 1,000 clients failed p99 with the server at 13% of its core
  assert.equal(bottleneck({ ...step, generatorCpuPercent: 85 }), 'generator')
  assert.equal(bottleneck({ ...step, serverCpuPercent: 97, generatorCpuPercent: 60 }), 'server')
  assert.equal(bottleneck({ ...step, generatorSaturated: true, serverCpuPercent: 99 }), 'generator')
  // an older results file without the generator's CPU blames nobody but the server
  assert.equal(bottleneck(step), 'server')
  // a generator that is busier but far from busy did not hold the step back
  assert.equal(bottleneck({ ...step, serverCpuPercent: 1, generatorCpuPercent: 2 }), 'server')
  // under a 0.25-core quota, 24% of a core is a server at 96% of its budget: busier than a generator at 60%
  assert.equal(bottleneck({ ...step, serverCpuPercent: 24, generatorCpuPercent: 60 }, 0.25), 'server')
  assert.equal(bottleneck({ ...step, serverCpuPercent: 24, generatorCpuPercent: 60 }), 'generator')
})
