/**
 * The freshness model: the latency a transport adds, on average, on top of the server's own processing
 * (publish to the last write), for a network round trip of `rttMs`. One function per transport, named in
 * the transport registry (lib/transports.ts) beside its byte model. The measured rows run on loopback,
 * where the round trip is next to nothing; this is what carries a measured latency to a real network
 * (`pushbench advise --rtt`), and what a run's own modelled share is taken out of before it is carried.
 *
 * `ratePerS` counts publish events (ticks): the updates of one tick leave together, so it is the tick
 * rate, not the update rate, that decides how often a long poll is caught between requests.
 */

export interface FreshnessParams {
  /** publish events (ticks) a second */
  ratePerS: number
  /** short polling: ms between a client's polls */
  pollIntervalMs: number
  /** network round-trip time, ms (0 on loopback) */
  rttMs: number
}

/** ms a transport adds on average to an update's latency, on top of the server's processing. */
export type FreshnessModel = (p: FreshnessParams) => number

/** SSE: the server writes to a stream it holds open; the update is half a round trip from the client. */
export const sseFreshness: FreshnessModel = ({ rttMs }) => rttMs / 2

/** WebSocket: as SSE, a frame written to an open socket arrives half a round trip later. */
export const websocketFreshness: FreshnessModel = ({ rttMs }) => rttMs / 2

/**
 * Long polling: rttMs/2 + min(1, R·RTT) · rttMs/2.
 *
 * The server answers a held request at the publish event; the answer reaches the client RTT/2 later and
 * the client's next request reaches the server RTT/2 after that. So after every answer there is a gap of
 * one RTT with no request held. An event outside a gap leaves at once and arrives RTT/2 later. An event in
 * a gap waits for the next request, which comes at the gap's end: uniform over the gap, RTT/2 on average,
 * then rides the answer back, RTT/2. The share of events that land in a gap:
 * - at R·RTT < 1 (R events a second), one gap of RTT follows each event, so gaps cover R·RTT of the
 *   time, and an event (independent of them) falls in one with that probability;
 * - at R·RTT >= 1 the next event is already waiting when each request arrives: every event is caught.
 * Hence p = min(1, R·RTT), the first-order form of 1 - e^(-R·RTT) for Poisson events (which it overstates
 * near R·RTT = 1, by at most 0.37·RTT/2: a bound kept simple on purpose).
 */
export const longPollFreshness: FreshnessModel = ({ ratePerS, rttMs }) => {
  const caught = Math.min(1, (ratePerS * rttMs) / 1000)
  return rttMs / 2 + (caught * rttMs) / 2
}

/**
 * Short polling: I/2 + rttMs/2. Polls reach the server every I, at instants that do not depend on the
 * publish instants, so an update waits uniformly 0 to I for the next poll (I/2 on average and at the
 * median), then the answer takes RTT/2 back. The poll's way out overlaps the wait: it is not added.
 */
export const shortPollFreshness: FreshnessModel = ({ pollIntervalMs, rttMs }) =>
  pollIntervalMs / 2 + rttMs / 2
