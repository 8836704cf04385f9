/** The lean kind of both polling clients: the same schedule and accounting, a raw socket and a byte scan. */
import { LongPollClient } from '../long-poll.ts'
import type { PollConnection } from '../poll.ts'
import { ShortPollClient } from '../short-poll.ts'
import { LeanGet } from './http-get.ts'

export class LeanShortPollClient extends ShortPollClient {
  protected override connect(onConnect: () => void): PollConnection {
    return new LeanGet(this.ctx.base, this.ctx.sockets, this.link(false), onConnect)
  }
  protected override account(body: Buffer, receivedMs: number): void {
    this.accountScanned(body, receivedMs)
  }
}

export class LeanLongPollClient extends LongPollClient {
  protected override connect(onConnect: () => void): PollConnection {
    return new LeanGet(this.ctx.base, this.ctx.sockets, this.link(false), onConnect)
  }
  protected override account(body: Buffer, receivedMs: number): void {
    this.accountScanned(body, receivedMs)
  }
}
