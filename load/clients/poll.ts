/**
 * What both polling clients share: one keep-alive connection, `since` = the newest seq seen, and what an
 * answer means (200: a JSON array of updates, after a gap when it has `pb-gap`; 204: nothing newer,
 * `pb-seq` = the newest seq; 400 with `pb-seq`: `since` is past the newest, start afresh). The
 * library kind asks with undici and parses the JSON; the lean kind (load/clients/lean/) overrides
 * `connect` and `account` with a raw socket and a byte scan.
 */
import { scanBatch } from '../lean/scan.ts'
import { BaseClient, type ParsedMessage } from './common.ts'
import { KeepAliveGet } from './http-get.ts'

/** One poll's answer; `body` is the whole body. */
export interface PollAnswer {
  status: number
  body: Buffer
  /** `pb-seq` header of a 204 (or of a 400 refusing `since`): the newest seq */
  pbSeq: number | undefined
  /** `pb-gap` header of a 200 (`from=N; first=M`): the resume was older than the ring buffer */
  gap: string | undefined
  /** receive instant of the answer's last byte */
  receivedMs: number
}

/** A client's connection: GETs go out one at a time on it; it reconnects when it drops. */
export interface PollConnection {
  get(path: string): Promise<PollAnswer>
  close(): void
}

/** `from=N; first=M` (servers/app.ts gapHeader) -> {from, first}; undefined when it is not that. */
export function parseGapHeader(value: string): { from: number; first: number } | undefined {
  const m = /^\s*from=(\d{1,15})\s*;\s*first=(\d{1,15})\s*$/.exec(value)
  if (!m) return undefined
  const from = Number(m[1])
  const first = Number(m[2])
  return first > from ? { from, first } : undefined
}

export abstract class PollClient extends BaseClient {
  protected conn: PollConnection | undefined
  /**
   * newest seq seen; undefined until the first answer says where the stream is. The chat's rooms start
   * empty and no client sends before every client is subscribed (load/chat/driver.ts): a chat client
   * starts at 0, which is where its room is (a long poll with no `since` would be held until the first
   * message, which waits for the subscription: never)
   */
  protected since: number | undefined = this.ctx.chat ? 0 : undefined

  /** A poll client is a subscriber once an answer told it where the stream is. */
  override get subscribed(): boolean {
    return this.since !== undefined
  }

  /** The connection (library: undici, over TLS when the server is https); `onConnect` fires each time its TCP connection comes up. */
  protected connect(onConnect: () => void): PollConnection {
    return new KeepAliveGet(this.ctx.base, this.ctx.sockets, onConnect, this.ctx.ca)
  }

  /** The next request's path: this client's stream and `since`. */
  protected pollPath(): string {
    return this.target(this.since === undefined ? '' : `since=${this.since}`)
  }

  /**
   * Accounts one answer: updates (200, after the gap it signals), where the stream is (204), a refused
   * `since` (400 with pb-seq: the server's seqs are another run, so the next poll starts afresh), or an
   * error counted.
   */
  protected answer(r: PollAnswer): void {
    if (r.status === 200) {
      if (r.gap !== undefined) this.onGapHeader(r.gap)
      this.account(r.body, r.receivedMs)
    } else if (r.status === 204) {
      if (this.since === undefined && r.pbSeq !== undefined) this.since = r.pbSeq
    } else {
      if (r.status === 400 && r.pbSeq !== undefined && this.since !== undefined) {
        this.delivery.onResumeRefused()
        this.since = undefined
      }
      this.error(new Error(`HTTP ${r.status}`))
    }
  }

  private onGapHeader(value: string): void {
    const g = parseGapHeader(value)
    if (g === undefined) this.error(new Error(`malformed pb-gap: ${JSON.stringify(value)}`))
    else this.delivery.onGap(g.from, g.first)
  }

  /** Library path: every update of a 200 answer, parsed as JSON. */
  protected account(body: Buffer, receivedMs: number): void {
    for (const u of JSON.parse(body.toString('latin1')) as ParsedMessage[]) {
      this.onParsed(u, receivedMs)
      if (this.since === undefined || u.seq > this.since) this.since = u.seq
    }
  }

  /** Lean path: every update of a 200 answer, seq and ts scanned from the bytes. */
  protected accountScanned(body: Buffer, receivedMs: number): void {
    const n = scanBatch(body, 0, body.length, (seq, ts, s, e) => {
      if (this.onScanned(seq, ts, body, s, e, receivedMs) && (this.since === undefined || seq > this.since))
        this.since = seq
    })
    if (n < 0) this.corrupt(`poll answer is not a JSON array of updates (${body.length} B)`)
  }

  stop(): void {
    this.stopped = true
    this.conn?.close()
  }
}
