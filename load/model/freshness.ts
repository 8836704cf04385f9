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
  /**
   * the events come strictly every 1/ratePerS, as the suite's ticker publishes them (the measured rows);
   * absent or false: independent of each other, as a real feed's (`pushbench advise`)
   */
  periodic?: boolean | undefined
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
 * Long polling. The server answers a held request at the publish event; the answer reaches the client
 * RTT/2 later and the client's next request reaches the server RTT/2 after that. So after every answer
 * there is a gap of one RTT with no request held. An event outside a gap leaves at once and arrives RTT/2
 * later; an event in a gap waits for the next request, at the gap's end, then rides the answer back.
 *
 * Periodic events (the suite's ticker, period P = 1/R): rttMs/2, plus rttMs/2 when RTT >= P.
 * - RTT < P: the gap after an event ends before the next event, which finds a request held: no wait.
 * - RTT >= P: every gap of RTT holds an event, so every request is answered the moment it arrives and the
 *   answers come every RTT; the events fall at phases spread over that cycle and wait RTT/2 on average.
 *   (When RTT is close to a multiple of P the phases spread only slowly, through the few hundred us each
 *   cycle the two ends take to turn around: a window of a few seconds then sees a mean anywhere between
 *   about RTT/4 and 3·RTT/4 added; pick a tick rate whose period does not divide the RTT.)
 *
 * Independent events (R a second): rttMs/2 + min(1, R·RTT) · rttMs/2. Gaps cover R·RTT of the time while
 * R·RTT < 1, and an event falls in one with that probability, waiting RTT/2 on average; at R·RTT >= 1 every
 * event is caught. It is the first-order form of 1 - e^(-R·RTT) for Poisson events (which it overstates near
 * R·RTT = 1, by at most 0.37·RTT/2: a bound kept simple on purpose).
 */
export const longPollFreshness: FreshnessModel = ({ ratePerS, rttMs, periodic }) => {
  const caught = periodic ? (ratePerS * rttMs >= 1000 ? 1 : 0) : Math.min(1, (ratePerS * rttMs) / 1000)
  return rttMs / 2 + (caught * rttMs) / 2
}

/**
 * Short polling: I/2 + rttMs/2. Polls reach the server every I, at instants that do not depend on the
 * publish instants, so an update waits uniformly 0 to I for the next poll (I/2 on average and at the
 * median), then the answer takes RTT/2 back. The poll's way out overlaps the wait: it is not added.
 */
export const shortPollFreshness: FreshnessModel = ({ pollIntervalMs, rttMs }) =>
  pollIntervalMs / 2 + rttMs / 2

/**
 * Round trips from a new connection's first packet to its first update, for a client that resumes from a
 * seq the server still holds (so nothing waits for a publish): TCP's handshake, TLS 1.3's, then the request
 * and its answer (a poll's answer, an SSE stream's first event, or the 101 and the frames written right
 * after it). The same count for every transport of the suite: they differ in what follows, not in setup.
 */
export function setupRoundTrips(tls: boolean): number {
  return 1 + (tls ? 1 : 0) + 1
}
