/**
 * Round-trip time for a lean connection, emulated in the generator (DESIGN.md: the kernel's netem is not
 * available here). Every write leaves RTT/2 late, every read is handed to the client RTT/2 late, and a new
 * connection may send its first byte only after the handshakes it needs: TCP's (one RTT), then TLS 1.3's
 * (one more). The WebSocket upgrade's round trip needs no rule: the client waits for the 101, which comes
 * back through the delayed reads. The server sees an ordinary loopback connection.
 *
 * What it does not model: congestion control, loss, the ACK clock (a sender is never held back by
 * unacknowledged bytes), and the server's own view of the delay (its writes complete at once).
 *
 * Cost: every delayed read is copied once (the shared read buffer is reused), and the whole process has one
 * timer: items wait in one queue ordered by due instant and everything due runs when it fires.
 */
import { EventEmitter } from 'node:events'
import type net from 'node:net'
import { nowMs } from '../../lib/clock.ts'
import { PbOptionError } from '../../lib/errors.ts'

interface Item {
  at: number
  /** tie-break: equal instants run in the order they were scheduled (a connection's bytes stay in order) */
  n: number
  run: (atMs: number) => void
}

/** A binary min-heap on (at, n): the items of every delayed connection of the process. */
class DueQueue {
  private readonly heap: Item[] = []
  private n = 0
  private timer: NodeJS.Timeout | undefined
  private armedAt = Number.POSITIVE_INFINITY

  at(atMs: number, run: (atMs: number) => void): void {
    const h = this.heap
    h.push({ at: atMs, n: this.n++, run })
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(h[i] as Item, h[p] as Item)) break
      swap(h, i, p)
      i = p
    }
    if (atMs < this.armedAt) this.arm(atMs)
  }

  get size(): number {
    return this.heap.length
  }

  private arm(atMs: number): void {
    if (this.timer) clearTimeout(this.timer)
    this.armedAt = atMs
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.ceil(atMs - nowMs())))
  }

  private fire(): void {
    this.timer = undefined
    this.armedAt = Number.POSITIVE_INFINITY
    const now = nowMs()
    const h = this.heap
    while (h.length > 0 && (h[0] as Item).at <= now) {
      const item = this.pop()
      item.run(item.at)
    }
    if (h.length > 0) this.arm((h[0] as Item).at)
  }

  private pop(): Item {
    const h = this.heap
    const top = h[0] as Item
    const last = h.pop() as Item
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && before(h[l] as Item, h[m] as Item)) m = l
        if (r < h.length && before(h[r] as Item, h[m] as Item)) m = r
        if (m === i) break
        swap(h, i, m)
        i = m
      }
    }
    return top
  }
}

const before = (a: Item, b: Item): boolean => a.at < b.at || (a.at === b.at && a.n < b.n)
function swap(h: Item[], i: number, j: number): void {
  const t = h[i] as Item
  h[i] = h[j] as Item
  h[j] = t
}

/** The process's one queue. */
export const dueQueue = new DueQueue()

/** Round trips a new connection spends before its first byte may leave: TCP's, and TLS 1.3's on top. */
export function handshakeRoundTrips(tls: boolean): number {
  return tls ? 2 : 1
}

/** `onRead(buf, end, atMs)`: bytes `buf[0, end)` that arrived at `atMs` (the emulated instant). */
export type DelayedRead = (buf: Buffer, end: number, atMs: number) => void

/**
 * A connection behind the delay line: the subset of net.Socket the lean clients use. Reads, 'close' and
 * 'error' reach the client RTT/2 after the socket saw them, in the order they happened; writes and `end()`
 * reach the socket RTT/2 after the client made them, and never before the handshakes are done. 'connect'
 * fires when the emulated handshakes are done.
 */
export class DelayedSocket extends EventEmitter {
  private readonly halfMs: number
  /** the first byte may leave at this instant: connection start + the handshakes' round trips */
  private readonly gateMs: number
  private closedByClient = false

  constructor(
    private readonly socket: net.Socket,
    rttMs: number,
    handshakes: number,
    onRead: DelayedRead,
  ) {
    super()
    const t0 = nowMs()
    this.halfMs = rttMs / 2
    this.gateMs = t0 + handshakes * rttMs
    // the client's side of the handshake completes one RTT/2 before the server's last byte of it arrives
    dueQueue.at(this.gateMs, () => {
      if (!this.closedByClient) this.emit('connect')
    })
    const deliver = (buf: Buffer, end: number) => {
      const copy = Buffer.allocUnsafe(end)
      buf.copy(copy, 0, 0, end)
      dueQueue.at(nowMs() + this.halfMs, (atMs) => {
        if (!this.closedByClient) onRead(copy, end, atMs)
      })
    }
    this.feed = deliver
    socket.on('error', (err) => this.later(() => this.emit('error', err)))
    socket.on('close', () => this.later(() => this.emit('close')))
  }

  /** Hands a read to the line (connect.ts calls it from the socket's read callback). */
  readonly feed: (buf: Buffer, end: number) => void

  private later(fn: () => void): void {
    dueQueue.at(nowMs() + this.halfMs, fn)
  }

  /** When a byte written now leaves: RTT/2 from now, and not before the handshakes are done. */
  private leaveAt(): number {
    return Math.max(nowMs(), this.gateMs) + this.halfMs
  }

  write(data: string | Buffer): boolean {
    const s = this.socket
    dueQueue.at(this.leaveAt(), () => {
      if (!s.destroyed) s.write(data)
    })
    return true
  }

  end(): void {
    const s = this.socket
    dueQueue.at(this.leaveAt(), () => {
      if (!s.destroyed) s.end()
    })
  }

  /** Cuts at once, as a process that closes its socket does; what is still on the line is dropped. */
  destroy(): void {
    this.closedByClient = true
    this.socket.destroy()
  }

  get destroyed(): boolean {
    return this.closedByClient || this.socket.destroyed
  }

  get bytesRead(): number {
    return this.socket.bytesRead
  }

  get bytesWritten(): number {
    return this.socket.bytesWritten
  }
}

/**
 * Only the lean clients have the delay line: a library client (ws, undici) or a page in Chromium would
 * measure loopback under a flag that says otherwise. `field` names the flag or config key.
 */
export function checkRttClient(rttMs: number, client: string, field: string): void {
  if (rttMs > 0 && client !== 'lean')
    throw new PbOptionError(
      field,
      `is emulated by the lean clients only (load/lean/delay-line.ts); with --client ${client} it must be 0, got ${rttMs}`,
    )
}
