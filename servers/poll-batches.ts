/**
 * Poll answers built from the stored update buffers and cached for the current tick: 1,000 clients
 * asking with the same `since` between two ticks share one buffer.
 */
import { pollBody } from './frames.ts'
import type { Ticker } from './ticker.ts'

const MAX_ENTRIES = 4096

export class PollBatches {
  private readonly cache = new Map<number, Buffer>()
  constructor(private readonly ticker: Ticker) {
    ticker.onTick(() => this.cache.clear())
  }

  /** JSON array of every update newer than `since`, or undefined when there is none. */
  get(since: number): Buffer | undefined {
    if (since >= this.ticker.lastSeq) return undefined
    let body = this.cache.get(since)
    if (body === undefined) {
      const updates = this.ticker.since(since)
      if (updates.length === 0) return undefined
      body = pollBody(updates.map((u) => u.json))
      if (this.cache.size >= MAX_ENTRIES) this.cache.clear()
      this.cache.set(since, body)
    }
    return body
  }
}
