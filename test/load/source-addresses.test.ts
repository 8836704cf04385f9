/**
 * The planner of source addresses: a client count above one address's share of the ephemeral port range
 * is spread over several loopback addresses, evenly, each under its share; toward a server that is not on
 * loopback it is refused naming the field.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PbOptionError } from '../../lib/errors.ts'
import { PORT_SHARE, planSourceAddresses, sourceAddressOf } from '../../load/source-addresses.ts'

const RANGE = { low: 32768, high: 60999 }
const SHARE = Math.floor((RANGE.high - RANGE.low + 1) * PORT_SHARE)

test('up to one address share, no socket is bound (the kernel picks, as it always did)', () => {
  const plan = planSourceAddresses(SHARE, '127.0.0.1', RANGE)
  assert.deepEqual(plan.addresses, [])
  assert.equal(sourceAddressOf(plan, 0), undefined)
})

test('above one share, clients spread evenly over 127.N.0.2, 127.N.0.3, ... each within its share', () => {
  for (const clients of [SHARE + 1, 20_000, 50_000, 100_000]) {
    const plan = planSourceAddresses(clients, '127.0.0.1', RANGE, '--clients', 0, 7)
    assert.equal(plan.addresses.length, Math.ceil(clients / SHARE), `${clients} clients`)
    assert.equal(plan.addresses[0], '127.7.0.2')
    const count = new Map<string, number>()
    for (let k = 0; k < clients; k++) {
      const a = sourceAddressOf(plan, k)
      assert.ok(a !== undefined)
      count.set(a, (count.get(a) ?? 0) + 1)
    }
    assert.deepEqual([...count.keys()], plan.addresses, 'every address used, in order')
    const sizes = [...count.values()]
    assert.ok(Math.max(...sizes) <= SHARE, `no address above its share (${Math.max(...sizes)} > ${SHARE})`)
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= plan.perAddress, 'spread evenly')
  }
})

test('each run takes its addresses from a /24 of 127/8 of its own (TIME_WAIT of the last run stays behind)', () => {
  const subnets = new Set(
    Array.from(
      { length: 20 },
      () => planSourceAddresses(20_000, '127.0.0.1', RANGE).addresses[0]?.split('.')[1],
    ),
  )
  assert.ok(subnets.size > 1, 'not the same /24 every time')
  for (const n of subnets) assert.ok(Number(n) >= 1 && Number(n) <= 254)
})

test('a smaller port range spreads sooner', () => {
  const plan = planSourceAddresses(1000, '127.0.0.1', { low: 40000, high: 40999 })
  assert.equal(plan.addresses.length, 2)
})

test('more clients than one address holds toward a non-loopback server: refused naming the field', () => {
  assert.throws(
    () => planSourceAddresses(20_000, '10.201.0.1', RANGE, 'scenarios[0].params.clients'),
    (e: unknown) =>
      e instanceof PbOptionError &&
      e.field === 'scenarios[0].params.clients' &&
      /only a server on 127\.0\.0\.1/.test(e.message),
  )
  // within one share it is fine anywhere
  assert.deepEqual(planSourceAddresses(1000, '10.201.0.1', RANGE).addresses, [])
})
