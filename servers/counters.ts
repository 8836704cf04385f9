/**
 * What a server process measures about itself, for its parent to diff over a window:
 * socket bytes (summed over live and closed sockets), exact CPU, event-loop time, RSS.
 */
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { nowMs } from '../lib/clock.ts'
import type { LinkCounters } from '../lib/netns.ts'
import { isOutOfDescriptors } from './descriptors.ts'

/** Counters the transports bump; plain fields, cheap in the hot path. */
export interface TransportStats {
  /** long-poll requests held right now */
  heldRequests: number
  heldRequestsMax: number
  /** push connections cut because their unsent bytes passed maxBufferedBytes */
  slowConsumerDisconnects: number
  /** SSE streams or WebSockets open right now */
  streams: number
  /** HTTP requests (polls) plus upgrade requests */
  requests: number
  /** 4xx/5xx answered, sockets that errored */
  errors: number
  /**
   * connections turned away at accept: past the connections the open-files limit holds (servers/descriptors.ts),
   * or an error from accept itself (EMFILE, ENFILE)
   */
  acceptErrors: number
  /** what failed for want of a file descriptor (EMFILE, ENFILE) and was skipped: an RSS sample, a request */
  fdExhausted: number
}

export function newTransportStats(): TransportStats {
  return {
    heldRequests: 0,
    heldRequestsMax: 0,
    slowConsumerDisconnects: 0,
    streams: 0,
    requests: 0,
    errors: 0,
    acceptErrors: 0,
    fdExhausted: 0,
  }
}

/** One snapshot, sent over IPC; every field is cumulative since start so the parent diffs two. */
export interface CounterSnapshot {
  atMs: number
  bytesRead: number
  bytesWritten: number
  connections: number
  connectionsTotal: number
  cpuUserUs: number
  cpuSystemUs: number
  eluIdleMs: number
  eluActiveMs: number
  /** highest RSS sampled since the last `markRss()` */
  rssMaxBytes: number
  lastSeq: number
  stats: TransportStats
  /** wire mode: the server's veth end, cumulative, taken with the socket counters (servers/process.ts) */
  link?: LinkCounters
}

export class SocketCounters {
  /** every open socket, excluded ones too (what a server cuts when it closes) */
  private readonly live = new Set<Socket>()
  /** open sockets that serve the control endpoint (servers/control.ts): not counted */
  private readonly excluded = new Set<Socket>()
  private closedRead = 0
  private closedWritten = 0
  total = 0

  /**
   * Hooks the server's `connection` event: every TCP socket, upgraded ones included. Under https that
   * event carries the raw TCP socket (the TLS socket over it comes later, on 'secureConnection'), so the
   * bytes counted are the TLS records as they go on the wire: handshake, certificate, session tickets,
   * record headers and tags. The TLS socket's own counters would be the plaintext, and are not read.
   */
  attach(server: Server): void {
    server.on('connection', (socket: Socket) => {
      this.total++
      this.live.add(socket)
      socket.once('close', () => {
        this.live.delete(socket)
        if (this.excluded.delete(socket)) return
        this.closedRead += socket.bytesRead
        this.closedWritten += socket.bytesWritten
      })
    })
  }

  /**
   * Stops counting a connection, entirely (its bytes so far and to come, and as a connection): one whose
   * first request was for the control endpoint (servers/control.ts), which is the harness reading the
   * server, not transport traffic. `socket` is the one a request came on: under https the TLS socket, and
   * the TCP socket counted is the one under it (`_parent`, as node's tls sets it when it wraps a socket).
   * A snapshot taken before this (during the connection's TLS handshake, or between its accept and its
   * first request) included what the connection had carried so far, a few hundred bytes at most, which
   * then drop out of the cumulative totals. False when the socket is not one counted here.
   */
  exclude(socket: Socket): boolean {
    const raw = this.live.has(socket) ? socket : (socket as { _parent?: Socket })._parent
    if (raw === undefined || !this.live.has(raw) || this.excluded.has(raw)) return false
    this.excluded.add(raw)
    this.total--
    return true
  }

  get connections(): number {
    return this.live.size - this.excluded.size
  }

  bytes(): { read: number; written: number } {
    let read = this.closedRead
    let written = this.closedWritten
    for (const s of this.live) {
      if (this.excluded.has(s)) continue
      read += s.bytesRead
      written += s.bytesWritten
    }
    return { read, written }
  }

  /** every open socket, those of the control endpoint included */
  sockets(): ReadonlySet<Socket> {
    return this.live
  }
}

/**
 * Samples RSS every `periodMs` so a window's peak can be read (resourceUsage().maxRSS cannot be reset).
 * Reading RSS opens /proc/self/statm: a process out of descriptors cannot, and that sample is skipped and
 * counted in `stats.fdExhausted` (the peak is then the highest of the samples that were taken).
 */
export class RssSampler {
  private max = 0
  private readonly timer: NodeJS.Timeout
  constructor(
    private readonly stats: Pick<TransportStats, 'fdExhausted'>,
    periodMs = 100,
  ) {
    this.sample()
    this.timer = setInterval(() => this.sample(), periodMs)
    this.timer.unref()
  }
  sample(): number {
    const rss = this.read()
    if (rss !== undefined && rss > this.max) this.max = rss
    return this.max
  }
  mark(): void {
    this.max = 0
    this.sample()
  }
  stop(): void {
    clearInterval(this.timer)
  }
  private read(): number | undefined {
    try {
      return process.memoryUsage.rss()
    } catch (err) {
      if (!isOutOfDescriptors(err)) throw err
      this.stats.fdExhausted++
      return undefined
    }
  }
}

export function snapshot(
  sockets: SocketCounters,
  rss: RssSampler,
  stats: TransportStats,
  lastSeq: number,
): CounterSnapshot {
  const cpu = process.cpuUsage()
  const elu = performance.eventLoopUtilization()
  const b = sockets.bytes()
  return {
    atMs: nowMs(),
    bytesRead: b.read,
    bytesWritten: b.written,
    connections: sockets.connections,
    connectionsTotal: sockets.total,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    eluIdleMs: elu.idle,
    eluActiveMs: elu.active,
    rssMaxBytes: rss.sample(),
    lastSeq,
    stats: { ...stats },
  }
}
