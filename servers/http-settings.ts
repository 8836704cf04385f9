/** HTTP settings every server here shares (fastify app and bare baselines), so both send the same header bytes. */

/** `Keep-Alive: timeout=72` on every keep-alive answer. */
export const KEEP_ALIVE_TIMEOUT_MS = 72_000
