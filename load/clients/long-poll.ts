/** Long polling: asks again at once after every answer, from the newest seq it has. */
import { BaseClient, RECONNECT_DELAY_MS } from './common.ts'
import { KeepAliveGet, parseBatch } from './http-get.ts'

export class LongPollClient extends BaseClient {
  private conn: KeepAliveGet | undefined
  private since: number | undefined

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.conn = new KeepAliveGet(this.ctx.base, this.ctx.sockets, resolve)
      this.ask(reject)
    })
  }

  private ask(onFail?: (e: Error) => void): void {
    if (this.stopped) return
    this.counters.requests++
    this.conn?.get(this.target(this.since === undefined ? '' : `since=${this.since}`)).then(
      (r) => {
        if (r.status === 200) {
          for (const u of parseBatch(r.body)) {
            this.delivery.onUpdate(u.seq, u.ts, r.receivedMs)
            if (this.since === undefined || u.seq > this.since) this.since = u.seq
          }
        } else if (r.status === 204) {
          if (this.since === undefined && r.pbSeq !== undefined) this.since = r.pbSeq
        } else {
          this.error(new Error(`HTTP ${r.status}`))
        }
        this.ask()
      },
      (err: Error) => {
        this.error(err)
        onFail?.(err)
        this.counters.reconnects++
        setTimeout(() => this.ask(), RECONNECT_DELAY_MS)
      },
    )
  }

  stop(): void {
    this.stopped = true
    this.conn?.close()
  }
}
