/** Long polling: asks again at once after every answer, from the newest seq it has. */
import { RECONNECT_DELAY_MS } from './common.ts'
import { PollClient } from './poll.ts'

export class LongPollClient extends PollClient {
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.conn = this.connect(resolve)
      this.ask(reject)
    })
  }

  private ask(onFail?: (e: Error) => void): void {
    if (this.stopped) return
    this.counters.requests++
    this.conn?.get(this.pollPath()).then(
      (r) => {
        this.answer(r)
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
}
