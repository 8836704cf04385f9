/**
 * The freshness model against values worked by hand from its derivation (load/model/freshness.ts): the
 * latency each transport adds on top of the server's processing, for a round trip, a rate and a poll
 * interval. The registry carries each as its entry's `freshness`.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { registerTransport, transport, transportNames } from '../../../lib/transports.ts'
import {
  longPollFreshness,
  shortPollFreshness,
  sseFreshness,
  websocketFreshness,
} from '../../../load/model/freshness.ts'

const at = (ratePerS: number, rttMs: number, pollIntervalMs = 250) => ({ ratePerS, rttMs, pollIntervalMs })

test('push streams add half a round trip, whatever the rate and the poll interval', () => {
  for (const f of [sseFreshness, websocketFreshness]) {
    assert.equal(f(at(10, 0)), 0)
    assert.equal(f(at(10, 40)), 20)
    assert.equal(f(at(1000, 80, 10)), 40)
  }
})

test('short polling adds half the poll interval and half a round trip', () => {
  assert.equal(shortPollFreshness(at(10, 0, 250)), 125)
  assert.equal(shortPollFreshness(at(10, 40, 250)), 145)
  // the rate does not enter: a poll waits for its schedule, not for updates
  assert.equal(shortPollFreshness(at(0.1, 100, 1000)), 550)
})

test('long polling: RTT/2, plus RTT/2 for the share min(1, R·RTT) of events caught between requests', () => {
  assert.equal(longPollFreshness(at(10, 0)), 0)
  // 1 event/s, 20 ms: 2% of events fall in a gap and wait 10 ms on average: 10 + 0.02 x 10
  assert.equal(longPollFreshness(at(1, 20)), 10.2)
  // 10 events/s, 50 ms: half the time is gap: 25 + 0.5 x 25
  assert.equal(longPollFreshness(at(10, 50)), 37.5)
  // R·RTT = 1 and beyond: every event waits for the next request, a whole round trip in all
  assert.equal(longPollFreshness(at(20, 50)), 50)
  assert.equal(longPollFreshness(at(100, 50)), 50)
  // between push (RTT/2) and a full round trip
  for (const rate of [0.1, 1, 5, 30]) {
    const ms = longPollFreshness(at(rate, 40))
    assert.ok(ms >= 20 && ms <= 40, `rate ${rate}: ${ms}`)
  }
})

test('the registry names each built-in transport its freshness model', () => {
  assert.equal(transport('short-poll').freshness, shortPollFreshness)
  assert.equal(transport('long-poll').freshness, longPollFreshness)
  assert.equal(transport('sse').freshness, sseFreshness)
  assert.equal(transport('websocket').freshness, websocketFreshness)
  for (const name of transportNames()) assert.equal(typeof transport(name).freshness, 'function', name)
})

test('a plugin entry without a freshness model gets its kind’s', () => {
  const { freshness: _, ...base } = transport('sse')
  registerTransport('toy-freshness-push', { ...base, path: '/toy-freshness-push' })
  registerTransport('toy-freshness-poll', { ...base, kind: 'poll', path: '/toy-freshness-poll' })
  assert.equal(transport('toy-freshness-push').freshness(at(10, 40)), 20)
  assert.equal(transport('toy-freshness-poll').freshness(at(10, 40, 250)), 145)
})
