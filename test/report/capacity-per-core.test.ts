/** Capacity per core from searches under two CPU quotas: said only when they scale linearly. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Capacity } from '../../lib/results-schema.ts'
import { buildCapacityTable, perCore } from '../../report/summary-table.ts'

const cap = (o: Partial<Capacity>): Capacity => ({
  transport: 'websocket',
  server: 'pushbench',
  unit: 'updates/s',
  clients: 1000,
  limits: { minDeliveryRatio: 0.99, maxP99Ms: 100 },
  maxSustainedPerSecond: 640,
  steps: [],
  stoppedBecause: 'p99 over',
  limitedBy: 'server',
  ...o,
})

test('two quotas that agree within 20% give the per-core figure', () => {
  const a = cap({ serverCpuCores: 0.25, maxSustainedPerSecond: 320 })
  const b = cap({ serverCpuCores: 0.5, maxSustainedPerSecond: 600 })
  assert.equal(perCore(a, [a, b]), '1,280 (linear)')
  assert.equal(perCore(b, [a, b]), '1,200 (linear)')
})

test('quotas that do not scale, or a search the generator limited, give no figure', () => {
  const a = cap({ serverCpuCores: 0.25, maxSustainedPerSecond: 320 })
  const b = cap({ serverCpuCores: 0.5, maxSustainedPerSecond: 400 })
  assert.match(perCore(a, [a, b]), /^not linear \(0\.625x\)$/)
  const g = cap({ serverCpuCores: 0.5, maxSustainedPerSecond: 640, limitedBy: 'generator' })
  assert.equal(perCore(a, [a, g]), 'not all limited by the server')
  assert.equal(perCore(a, [a]), '1,280 (one quota: linearity unchecked)')
  assert.equal(perCore(cap({}), [cap({})]), '')
  const none = cap({ serverCpuCores: 0.1, maxSustainedPerSecond: 0 })
  assert.equal(perCore(none, [none, a]), 'nothing sustained')
})

test('the capacity table shows the quota columns only when a search ran under one', () => {
  assert.ok(!buildCapacityTable([cap({})]).columns.some((c) => c.key === 'perCore'))
  const t = buildCapacityTable([cap({ serverCpuCores: 0.25 })])
  assert.ok(t.columns.some((c) => c.key === 'perCore'))
  assert.ok(t.rows[0]?.includes('0.25 core'))
})
