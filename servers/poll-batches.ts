/**
 * Poll answers built from the stored message buffers and cached per stream until its next publish:
 * 1,000 clients asking with the same `since` between two ticks share one buffer.
 */
import { type Gap, gapOf } from './app.ts'
import type { Feed } from './feed.ts'
import { pollBody } from './frames.ts'

const MAX_ENTRIES = 4096

/** A poll answer: its body, and the gap before it when `since` was older than the oldest seq held. */
export interface PollBatch {
  body: Buffer
  gap: Gap | undefined
}

export class PollBatches {
  private readonly caches: Map<number, PollBatch>[]
  constructor(private readonly feed: Feed) {
    this.caches = Array.from({ length: feed.streams }, () => new Map<number, PollBatch>())
    feed.onPublish((stream) => this.caches[stream]?.clear())
  }

  /** Every message of `stream` newer than `since` as a JSON array, or undefined when there is none. */
  get(stream: number, since: number): PollBatch | undefined {
    if (since >= this.feed.lastSeqOf(stream)) return undefined
    const cache = this.caches[stream] as Map<number, PollBatch>
    let batch = cache.get(since)
    if (batch === undefined) {
      const messages = this.feed.since(stream, since)
      if (messages.length === 0) return undefined
      batch = { body: pollBody(messages.map((m) => m.json)), gap: gapOf(since, messages[0]?.seq) }
      if (cache.size >= MAX_ENTRIES) cache.clear()
      cache.set(since, batch)
    }
    return batch
  }
}
