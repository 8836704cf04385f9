/**
 * A lean poll connection: one raw keep-alive TCP socket, the request head written as the same bytes
 * undici sends (load/model/http.ts, so the byte model holds for both kinds), responses parsed by
 * load/lean/http-response.ts, the receive instant read once per socket read. It reconnects on the next
 * request after the connection dropped, as undici does.
 */
import { type LeanSocket, type LinkOptions, leanConnect } from '../../lean/connect.ts'
import { type HttpBodyHandlers, HttpResponseParser } from '../../lean/http-response.ts'
import { pollRequestHead } from '../../model/http.ts'
import type { ClientSockets } from '../common.ts'
import type { PollAnswer, PollConnection } from '../poll.ts'

interface Pending {
  resolve: (a: PollAnswer) => void
  reject: (e: Error) => void
}

export class LeanGet implements PollConnection, HttpBodyHandlers {
  private socket: LeanSocket | undefined
  private pending: Pending | undefined
  private readonly parser = new HttpResponseParser(this)
  /** receive instant of the read being parsed */
  private readMs = 0
  private closed = false

  constructor(
    private readonly base: URL,
    private readonly sockets: ClientSockets,
    /** the emulated RTT, TLS; reads must not be shared-buffer views (an answer is consumed after a microtask) */
    private readonly link: LinkOptions,
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

  private open(): LeanSocket {
    const s = leanConnect(
      this.base.hostname,
      Number(this.base.port),
      (buf, end, atMs) => {
        this.readMs = atMs
        this.parser.feed(end === buf.length ? buf : buf.subarray(0, end))
      },
      this.link,
    )
    this.socket = s
    this.sockets.track(s)
    s.on('connect', () => this.onConnect?.())
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
    p?.resolve({ status, body, pbSeq, gap: this.parser.gap, receivedMs: this.readMs })
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
