/** HTTP settings every server here shares (fastify app and bare baselines), so both send the same header bytes. */

/** `Keep-Alive: timeout=72` on every keep-alive answer: how long an idle keep-alive connection is kept. */
export const KEEP_ALIVE_TIMEOUT_MS = 72_000

/**
 * How long a request may take to send its whole header section (from its first byte, or from the
 * connection's opening for the first request) before it gets a 408 and the connection is closed: a
 * slowloris that trickles a header byte a second holds a connection this long, not forever. Only the
 * head is timed: a held long poll and an open SSE stream or WebSocket sent theirs long ago, and no
 * request timer runs (requestTimeout 0), so they are never cut by it. (node's default was 60 s, checked
 * every 30 s: ~86 s.)
 */
export const HEADERS_TIMEOUT_MS = 15_000

/** How often node checks the header timer of the requests in flight: at most 1 s late. */
export function connectionsCheckingInterval(headersTimeoutMs: number): number {
  return Math.max(100, Math.min(1000, Math.floor(headersTimeoutMs / 4)))
}

/**
 * Largest header section (request line and headers) a request may send: past it, 431. node's own
 * default, stated here so it is a setting of the suite, not of the Node version. Requests here have no body.
 */
export const MAX_HEADER_BYTES = 16 * 1024
