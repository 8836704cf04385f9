/**
 * The offset of a server's clock from this host's, estimated NTP-style over the server's control endpoint
 * (`GET /pushbench/clock`, servers/control.ts; docs/distributed.md, "Clocks"). Every offset here is the
 * server's clock minus the client's (this host's, without any offset lib/clock.ts setClockOffset put on
 * it): add it to an instant taken here to put it on the server's clock.
 */
import { PbError, PbOptionError } from '../lib/errors.ts'
import {
  CLOCK_PATH,
  controlAgent,
  DEFAULT_TIMEOUT_MS,
  exchange,
  noControlEndpoint,
  parseTarget,
} from './remote-server.ts'

/** One exchange's estimate. */
export interface NtpSample {
  /** server clock minus client clock, ms; off by at most roundTripMs / 2 */
  offsetMs: number
  /** the time on the network (and in the two stacks), the server's own handling left out, ms */
  roundTripMs: number
}

/**
 * One exchange: t0 the client sends, t1 the server receives, t2 the server replies, t3 the client
 * receives (t0 and t3 on the client's clock, t1 and t2 on the server's). The offset takes the way there
 * and the way back to be equally long; however they differ, its error is at most half the round trip.
 */
export function ntpSample(t0: number, t1: number, t2: number, t3: number): NtpSample {
  return { offsetMs: (t1 - t0 + (t2 - t3)) / 2, roundTripMs: t3 - t0 - (t2 - t1) }
}

/** The estimate at one instant: the best of several exchanges. */
export interface OffsetEstimate {
  /** server clock minus client clock, ms */
  offsetMs: number
  /** round trip of the exchange kept (the shortest), ms */
  roundTripMs: number
  /** roundTripMs / 2: the most the offset can be off by */
  uncertaintyMs: number
  /** exchanges it was chosen from */
  samples: number
}

export interface EstimateOptions {
  /** exchanges to choose from, 1..1000 (8); one more is made first and dropped: it opens the connection */
  samples?: number | undefined
  /** https: the certificate (PEM text) to trust besides the system's roots */
  ca?: string | undefined
  /** for each exchange (10 s) */
  timeoutMs?: number | undefined
}

export const DEFAULT_SAMPLES = 8

/**
 * Estimates the offset of the clock of the server at `target` (`http(s)://host:port` of a
 * `pushbench serve --control`) from this host's: `samples` exchanges over one keep-alive connection after
 * a first one that is dropped (its round trip holds the connection's set-up), keeping the one with the
 * shortest round trip, whose offset is the tightest bound. PbOptionError for a bad target or sample count,
 * PbError when the target does not answer or has no control endpoint.
 */
export async function estimateOffset(target: string, opts: EstimateOptions = {}): Promise<OffsetEstimate> {
  const url = parseTarget(target)
  const n = opts.samples ?? DEFAULT_SAMPLES
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new PbOptionError('samples', `must be an integer from 1 to 1000, got ${n}`)
  }
  const agent = controlAgent(url, opts.ca, 1)
  try {
    const kept: NtpSample[] = []
    for (let i = 0; i <= n; i++) {
      const x = await exchange(url, agent, 'GET', CLOCK_PATH, undefined, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)
      let reply: { receivedMs?: unknown; sentMs?: unknown } | undefined
      try {
        reply = JSON.parse(x.body)
      } catch {}
      const { receivedMs: t1, sentMs: t2 } = reply ?? {}
      if (x.status !== 200 || typeof t1 !== 'number' || typeof t2 !== 'number') {
        throw noControlEndpoint(url, `GET ${CLOCK_PATH} answered ${x.status}: ${x.body.slice(0, 200)}`)
      }
      // the first exchange, and any the server's keep-alive end made reconnect, carry a connection set-up
      if (i === 0 || !x.reusedSocket) continue
      kept.push(ntpSample(x.sentMs, t1, t2, x.receivedMs))
    }
    if (kept.length === 0) {
      throw new PbError(
        'PB_ERR_TARGET',
        `${url.origin} closed the connection after every exchange of ${CLOCK_PATH}`,
      )
    }
    const best = kept.reduce((a, b) => (b.roundTripMs < a.roundTripMs ? b : a))
    const roundTripMs = Math.max(0, best.roundTripMs)
    return { offsetMs: best.offsetMs, roundTripMs, uncertaintyMs: roundTripMs / 2, samples: kept.length }
  } finally {
    agent.destroy()
  }
}

/** A run's offset: its estimates at the start and at the end, and how far the clocks drifted between. */
export interface CombinedOffset {
  /** server clock minus client clock, ms: the mean of the two estimates (the start's alone without an end) */
  offsetMs: number
  /** the larger estimate's uncertainty plus half the drift: the most the offset is off by, at either end */
  uncertaintyMs: number
  startOffsetMs: number
  endOffsetMs?: number
  /** end minus start, ms (0 without an end) */
  driftMs: number
  /** the shorter of the two estimates' round trips, ms */
  roundTripMs: number
  /** exchanges, both estimates together */
  samples: number
}

/**
 * The offset for a whole run from the estimates taken at its start and its end (`end` absent: a run cut
 * short before it was taken). The mean is within half the drift of either end's offset, which adds to
 * the uncertainty.
 */
export function combineOffsets(start: OffsetEstimate, end?: OffsetEstimate): CombinedOffset {
  if (end === undefined) {
    return {
      offsetMs: start.offsetMs,
      uncertaintyMs: start.uncertaintyMs,
      startOffsetMs: start.offsetMs,
      driftMs: 0,
      roundTripMs: start.roundTripMs,
      samples: start.samples,
    }
  }
  const driftMs = end.offsetMs - start.offsetMs
  return {
    offsetMs: (start.offsetMs + end.offsetMs) / 2,
    uncertaintyMs: Math.max(start.uncertaintyMs, end.uncertaintyMs) + Math.abs(driftMs) / 2,
    startOffsetMs: start.offsetMs,
    endOffsetMs: end.offsetMs,
    driftMs,
    roundTripMs: Math.min(start.roundTripMs, end.roundTripMs),
    samples: start.samples + end.samples,
  }
}
