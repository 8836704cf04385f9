/**
 * How a push transport writes a tick to its connections, by the run's write policy (DESIGN.md):
 * `per-tick` gives each connection one write carrying the whole tick (one buffer built once per tick),
 * `per-update` writes each update on its own. Both cut a connection whose unsent bytes pass the bound.
 */
import type { ServerResponse } from 'node:http'
import type { WritePolicy } from '../lib/params.ts'
import type { TransportStats } from './counters.ts'
import type { Message } from './feed.ts'

export interface PushSink {
  /** queue bytes on the connection */
  write(buf: Buffer): void
  /** bytes accepted but not yet handed to the kernel */
  readonly buffered: number
  /** the connection is still open for pushes */
  readonly open: boolean
  /** cut as a slow consumer */
  destroy(): void
}

/** A push connection that is one endless HTTP response (SSE, or any chunked stream): node:http frames the chunks. */
export class ResponseSink implements PushSink {
  constructor(readonly res: ServerResponse) {}
  write(buf: Buffer): void {
    this.res.write(buf)
  }
  get buffered(): number {
    return this.res.writableLength
  }
  get open(): boolean {
    const res = this.res
    // an HTTP/2 response (servers/app.ts `h2`: node:http2's compatibility object) has no `destroyed`: its stream has
    return !res.writableEnded && !(res.destroyed ?? (res as unknown as H2Response).stream.destroyed)
  }
  destroy(): void {
    this.res.destroy()
  }
}

/** What an Http2ServerResponse has in place of `destroyed`. */
type H2Response = { stream: { destroyed: boolean } }

export class PushWriter<S extends PushSink> {
  readonly sinks = new Set<S>()

  constructor(
    private readonly policy: WritePolicy,
    private readonly maxBufferedBytes: number,
    private readonly stats: TransportStats,
    /** the framed bytes of one update (memoised on the update) */
    private readonly frame: (u: Message) => Buffer,
  ) {}

  /** Writes one tick to every sink. */
  publish(updates: readonly Message[]): void {
    if (this.sinks.size === 0 || updates.length === 0) return
    if (this.policy === 'per-tick') {
      const buf =
        updates.length === 1 ? this.frame(updates[0] as Message) : Buffer.concat(updates.map(this.frame))
      for (const s of this.sinks) this.deliver(s, buf)
    } else {
      const frames = updates.map(this.frame)
      for (const s of this.sinks) {
        for (const f of frames) if (!this.deliver(s, f)) break
      }
    }
  }

  /** Writes to one sink; false when the sink was cut. */
  deliver(s: S, buf: Buffer): boolean {
    if (!s.open) return false
    s.write(buf)
    if (s.buffered > this.maxBufferedBytes) {
      this.sinks.delete(s)
      this.stats.slowConsumerDisconnects++
      s.destroy()
      return false
    }
    return true
  }

  /** Writes a backlog (resume) to one sink with the same policy. */
  backlog(s: S, updates: readonly Message[]): void {
    if (updates.length === 0) return
    if (this.policy === 'per-tick') this.deliver(s, Buffer.concat(updates.map(this.frame)))
    else for (const u of updates) if (!this.deliver(s, this.frame(u))) return
  }
}
