/**
 * A slow consumer for the fault scenarios (load/fault-probe.ts): a raw socket that subscribes as a client of
 * its transport would (a hand-written GET, or the WebSocket upgrade, as the lean clients do) and then reads
 * at most `readBytesPerSecond` (0: never reads at all). The kernel's buffers fill, then the server's queue
 * for it grows until the server cuts it (servers/push-writer.ts counts those as slow-consumer disconnects).
 * It never reconnects: it records whether and when it was cut, and what it read.
 */
import net from 'node:net'
import { nowMs } from '../lib/clock.ts'
import { upgradeRequest, wsKey } from './lean/ws-frames.ts'

export interface SlowRecord {
  readBytesPerSecond: number
  connectedMs: number | undefined
  /** when the connection closed (the server cut it), epoch ms */
  closedMs: number | undefined
  bytesRead: number
  error: string | undefined
}

/** How often a slow reader takes its share: 10 times a second. */
const READ_PERIOD_MS = 100

export class SlowConsumer {
  readonly record: SlowRecord
  private socket: net.Socket | undefined
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(
    private readonly transport: string,
    private readonly base: URL,
    private readonly path: string,
    readBytesPerSecond: number,
  ) {
    this.record = {
      readBytesPerSecond,
      connectedMs: undefined,
      closedMs: undefined,
      bytesRead: 0,
      error: undefined,
    }
  }

  /** Resolves once the request is written (the server may not have answered yet). */
  start(): Promise<void> {
    const host = this.base.hostname
    const port = Number(this.base.port)
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port })
      this.socket = socket
      // paused from the start: nothing is read unless the timer asks for it
      socket.pause()
      socket.once('connect', () => {
        this.record.connectedMs = nowMs()
        socket.write(
          this.transport === 'websocket'
            ? upgradeRequest(host, port, this.path, wsKey())
            : `GET ${this.path} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: text/event-stream\r\n\r\n`,
        )
        if (this.record.readBytesPerSecond > 0) this.readSlowly(socket)
        resolve()
      })
      socket.once('error', (err) => {
        this.record.error ??= err.message
        reject(err)
      })
      socket.once('close', () => {
        clearInterval(this.timer)
        if (!this.stopped) this.record.closedMs = nowMs()
      })
    })
  }

  private readSlowly(socket: net.Socket): void {
    const share = Math.max(1, Math.round((this.record.readBytesPerSecond * READ_PERIOD_MS) / 1000))
    this.timer = setInterval(() => {
      let budget = share
      while (budget > 0) {
        const n = Math.min(budget, socket.readableLength)
        // read(0) asks the stream to refill its buffer from the socket (up to its high-water mark)
        const chunk = n > 0 ? (socket.read(n) as Buffer | null) : (socket.read(0) as null)
        if (!chunk) break
        this.record.bytesRead += chunk.length
        budget -= chunk.length
      }
    }, READ_PERIOD_MS)
  }

  /** Whether the server cut it. */
  get cut(): boolean {
    return this.record.closedMs !== undefined
  }

  stop(): void {
    this.stopped = true
    clearInterval(this.timer)
    this.socket?.destroy()
  }
}
