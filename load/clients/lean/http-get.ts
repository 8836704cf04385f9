/**
 * A lean poll connection: one raw keep-alive TCP socket, the request head written as the same bytes
 * undici sends (load/model/http.ts, so the byte model holds for both kinds), responses parsed by
 * load/lean/http-response.ts, the receive instant read once per socket read. It reconnects on the next
 * request after the connection dropped, as undici does.
 */
import net from 'node:net'
import { nowMs } from '../../../lib/clock.ts'
import { type HttpBodyHandlers, HttpResponseParser } from '../../lean/http-response.ts'
import { pollRequestHead } from '../../model/http.ts'
import type { ClientSockets } from '../common.ts'
import type { PollAnswer, PollConnection } from '../poll.ts'

interface Pending {
  resolve: (a: PollAnswer) => void
  reject: (e: Error) => void
}

export class LeanGet implements PollConnection, HttpBodyHandlers {
  private socket: net.Socket | undefined
  private pending: Pending | undefined
  private readonly parser = new HttpResponseParser(this)
  /** receive instant of the read being parsed */
  private readMs = 0
  private closed = false

  constructor(
    private readonly base: URL,
    private readonly sockets: ClientSockets,
    private readonly onConnect?: () => void,
  ) {}

  get(path: string): Promise<PollAnswer> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('connection closed by the client'))
      this.pending = { resolve, reject }
      const socket = this.socket ?? this.open()
      socket.write(pollRequestHead(path, this.base.hostname, Number(this.base.port)))
    })
  }

  private open(): net.Socket {
    const s = net.connect({ host: this.base.hostname, port: Number(this.base.port), noDelay: true })
    this.socket = s
    this.sockets.track(s)
    s.on('connect', () => this.onConnect?.())
    s.on('data', (buf: Buffer) => {
      this.readMs = nowMs()
      this.parser.feed(buf)
    })
    s.on('error', () => {}) // 'close' follows and fails what is pending
    s.on('close', () => {
      if (this.socket === s) this.socket = undefined
      this.parser.reset()
      this.fail(new Error('connection closed'))
    })
    return s
  }

  onResponse(status: number, body: Buffer, pbSeq: number | undefined): void {
    const p = this.pending
    this.pending = undefined
    // the body is read before the next request can go out (one in flight), so a view of it is safe here
    p?.resolve({ status, body, pbSeq, receivedMs: this.readMs })
  }

  onError(err: Error): void {
    this.fail(err)
    this.socket?.destroy()
  }

  private fail(err: Error): void {
    const p = this.pending
    this.pending = undefined
    p?.reject(err)
  }

  close(): void {
    this.closed = true
    this.socket?.destroy()
  }
}
