/**
 * Window edges on tick boundaries. A window holds the updates published in [startMs, endMs); taking
 * the server's counters right before the first tick at or after each edge makes the bytes and CPU in
 * the window exactly those of the updates in it (a push server writes a tick synchronously on publish).
 */
import { nowMs } from '../lib/clock.ts'
import type { Source } from './feed.ts'

/** Runs `take` just before the first tick with ts >= atMs; if no tick comes (ticker stopped), shortly after. */
export function atTickBoundary<T>(ticker: Source, atMs: number, take: () => T): Promise<T> {
  return new Promise((resolve) => {
    let done = false
    const finish = () => {
      if (done) return
      done = true
      off()
      clearTimeout(fallback)
      resolve(take())
    }
    const off = ticker.onBeforeTick((ts) => {
      if (ts >= atMs) finish()
    })
    const periodMs = 1000 / ticker.rate.tickHz
    const fallback = setTimeout(finish, Math.max(0, atMs - nowMs()) + periodMs + 1000)
  })
}
