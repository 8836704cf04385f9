/**
 * Poll answers built from the stored message buffers and cached per stream until its next publish:
 * 1,000 clients asking with the same `since` between two ticks share one buffer.
 */
import type { Feed } from './feed.ts'
import { pollBody } from './frames.ts'

const MAX_ENTRIES = 4096

export class PollBatches {
  private readonly caches: Map<number, Buffer>[]
  constructor(private readonly feed: Feed) {
    this.caches = Array.from({ length: feed.streams }, () => new Map<number, Buffer>())
    feed.onPublish((stream) => this.caches[stream]?.clear())
  }

  /** JSON array of every message of `stream` newer than `since`, or undefined when there is none. */
  get(stream: number, since: number): Buffer | undefined {
    if (since >= this.feed.lastSeqOf(stream)) return undefined
    const cache = this.caches[stream] as Map<number, Buffer>
    let body = cache.get(since)
    if (body === undefined) {
      const messages = this.feed.since(stream, since)
      if (messages.length === 0) return undefined
      body = pollBody(messages.map((m) => m.json))
      if (cache.size >= MAX_ENTRIES) cache.clear()
      cache.set(since, body)
    }
    return body
  }
}
