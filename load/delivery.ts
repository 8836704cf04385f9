/**
 * Per-client, per-stream delivery accounting: each stream has its own sequence, so gaps, duplicates and
 * reorderings are told apart per (client, stream). An update belongs to the measured window by its publish instant
 * (`ts` in [startMs, endMs)); seqs outside the window still move the client's position so that the
 * window's gaps, duplicates and reorderings are told apart.
 */
import type * as hdr from 'hdr-histogram-js'
import { recordMsTimes } from '../lib/latency.ts'

/** The measured window, epoch ms on the suite's clock; Infinity bounds until the orchestrator sets it. */
export interface Window {
  startMs: number
  endMs: number
  /**
   * in-window updates delivered, by slice of SLICE_MS from startMs (all clients of a process): a window
   * cut short afterwards at a slice boundary (its server died) counts only the slices before the cut
   */
  deliveredBySlice?: number[]
}

/** The slices of `Window.deliveredBySlice`, ms: the run checkpoints its server this often (load/session.ts). */
export const SLICE_MS = 1000

/** Past this many open gaps a client is hopelessly behind: further gaps are only counted. */
const MAX_TRACKED_GAPS = 100_000

export class Delivery {
  /** highest seq seen */
  maxSeq = 0
  /** newest publish instant seen: past the window's end, every in-window update that will come has come */
  maxTs = 0
  /** in-window updates delivered once */
  delivered = 0
  duplicates = 0
  outOfOrder = 0
  /** gap signals received: the server said a resume was older than what it still held */
  gapSignals = 0
  /** seqs those signals declared lost (counted in `missed` when published in the window: never delivered) */
  gapSeqs = 0
  /** resumes the server refused (past its newest seq: another run of the stream), after which this client started afresh */
  resumeRefused = 0
  /** seqs below maxSeq not seen yet (normally empty) */
  private readonly gaps = new Set<number>()
  /**
   * Latencies not yet in the histogram: a run of equal values (the updates of one tick share their
   * publish `ts`, and those in one socket read share the receive instant) is recorded once with its count,
   * which gives the same histogram as recording each. `flush()` before reading the histogram.
   */
  private runMs = Number.NaN
  private runCount = 0

  constructor(
    /** the stream counted (lib/workloads.ts): seqs are this stream's */
    readonly stream: number,
    private readonly window: Window,
    private readonly latency: hdr.Histogram,
  ) {}

  /** Zeroes the window's counts (the position in the stream is kept): the next window starts clean. */
  resetCounts(): void {
    this.delivered = 0
    this.duplicates = 0
    this.outOfOrder = 0
    this.gapSignals = 0
    this.gapSeqs = 0
    this.resumeRefused = 0
  }

  /**
   * The server's gap signal: a resume from `from` was older than the ring buffer, `from + 1 .. first - 1`
   * are lost and `first` is the next seq it sends. Those seqs are never waited for (nor later taken for
   * out of order): the position moves to `first - 1`. Also right when the replay was accounted first
   * (a browser page hands its updates and its events over apart): the seqs it left open are closed.
   */
  onGap(from: number, first: number): void {
    this.gapSignals++
    const lo = from + 1
    const hi = first - 1
    if (hi < lo) return
    this.gapSeqs += hi - lo + 1
    if (this.gaps.size > 0) {
      if (this.gaps.size <= hi - lo + 1) {
        for (const s of this.gaps) if (s >= lo && s <= hi) this.gaps.delete(s)
      } else for (let s = lo; s <= hi; s++) this.gaps.delete(s)
    }
    if (hi > this.maxSeq) this.maxSeq = hi
  }

  /**
   * The server refused this client's resume point (a seq past its newest: it restarted, its seqs are
   * another run): the client starts afresh, and the next seq it sees is the new start, not a duplicate.
   */
  onResumeRefused(): void {
    this.resumeRefused++
    this.maxSeq = 0
    this.gaps.clear()
  }

  /**
   * One received update; `nowMs` is the receive instant on the same clock as `ts`. True when it counted
   * as delivered in the window (the chat's sender round trip samples those, load/clients/common.ts).
   */
  onUpdate(seq: number, ts: number, nowMs: number): boolean {
    if (ts > this.maxTs) this.maxTs = ts
    const inWindow = ts >= this.window.startMs && ts < this.window.endMs
    if (seq > this.maxSeq) {
      if (this.maxSeq > 0 && seq > this.maxSeq + 1 && this.gaps.size < MAX_TRACKED_GAPS) {
        for (let s = this.maxSeq + 1; s < seq && this.gaps.size < MAX_TRACKED_GAPS; s++) this.gaps.add(s)
      }
      this.maxSeq = seq
    } else if (this.gaps.delete(seq)) {
      if (inWindow) this.outOfOrder++
    } else {
      if (inWindow) this.duplicates++
      return false
    }
    if (inWindow) {
      this.delivered++
      const slices = this.window.deliveredBySlice
      if (slices) {
        const k = Math.floor((ts - this.window.startMs) / SLICE_MS)
        slices[k] = (slices[k] ?? 0) + 1
      }
      const ms = nowMs - ts
      if (ms === this.runMs) this.runCount++
      else {
        this.flush()
        this.runMs = ms
        this.runCount = 1
      }
    }
    return inWindow
  }

  /** Puts the pending run of latencies into the histogram. */
  flush(): void {
    if (this.runCount > 0) recordMsTimes(this.latency, this.runMs, this.runCount)
    this.runCount = 0
    this.runMs = Number.NaN
  }
}
