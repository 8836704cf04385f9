/**
 * Short polling on a fixed schedule: poll k leaves at origin + phase + k x interval, phases stratified
 * over [0, interval) so clients never poll all at once and cover the interval evenly. A poll cannot leave while the previous one is in
 * flight (one connection): it leaves when that answer arrives, and how late it left is recorded
 * (coordinated omission is measured, not hidden). Missed slots collapse into that one late poll.
 */
import { nowMs } from '../../lib/clock.ts'
import { recordMs } from '../../lib/latency.ts'
import { RECONNECT_DELAY_MS } from './common.ts'
import { PollClient } from './poll.ts'

export class ShortPollClient extends PollClient {
  private timer: NodeJS.Timeout | undefined
  private inFlight = false
  /** scheduled instant of a poll that is waiting for the one in flight */
  private pendingAt: number | undefined
  private origin = 0
  private slot = 0

  start(): Promise<void> {
    const interval = this.ctx.params.pollIntervalMs
    const { fraction, epochMs } = this.ctx.pollPhase()
    // the schedule is epoch + phase + k x interval; clients that connect later join it at their next slot
    this.origin = epochMs + fraction * interval
    const now = nowMs()
    if (this.origin < now) this.origin += Math.ceil((now - this.origin) / interval) * interval
    return new Promise((resolve, reject) => {
      this.conn = this.connect(resolve)
      // the first poll leaves at once (to connect); the schedule starts at the phase
      this.poll(nowMs(), reject)
      this.arm()
    })
  }

  private arm(): void {
    if (this.stopped) return
    const at = this.origin + this.slot * this.ctx.params.pollIntervalMs
    this.timer = setTimeout(() => this.due(at), Math.max(0, at - nowMs()))
  }

  private due(at: number): void {
    this.slot++
    if (this.inFlight) this.pendingAt ??= at
    else this.poll(at)
    this.arm()
  }

  private poll(scheduledMs: number, onFail?: (e: Error) => void): void {
    if (this.stopped) return
    this.inFlight = true
    const sent = nowMs()
    if (scheduledMs >= this.ctx.window.startMs && scheduledMs < this.ctx.window.endMs) {
      recordMs(this.ctx.scheduleLag, sent - scheduledMs)
    }
    this.counters.requests++
    this.conn?.get(this.pollPath()).then(
      (r) => {
        this.answer(r)
        this.done()
      },
      (err: Error) => {
        this.error(err)
        onFail?.(err)
        this.counters.reconnects++
        setTimeout(() => this.done(), RECONNECT_DELAY_MS)
      },
    )
  }

  private done(): void {
    this.inFlight = false
    if (this.pendingAt !== undefined && !this.stopped) {
      const at = this.pendingAt
      this.pendingAt = undefined
      this.poll(at)
    }
  }

  override stop(): void {
    if (this.timer) clearTimeout(this.timer)
    super.stop()
  }
}
