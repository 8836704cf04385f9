/**
 * The chat upstream of the transports whose client does not send on its own connection
 * (lib/transports.ts `upstream: 'post'`): `POST /send` on a keep-alive HTTP/1.1 connection of the
 * client's own, beside its receiving connection, as a browser app with SSE or polling does. One request in
 * flight per connection: a send due while one is in flight waits in a small queue (counted: `queued`);
 * past QUEUE_MAX waiting, a send is dropped and counted as an error rather than piling up.
 *   - lean clients: a raw socket (load/lean/connect.ts: the emulated RTT, TLS and the source address as
 *     the client's other socket), the head written as load/model/chat.ts chatPostHead, answers parsed by
 *     load/lean/http-response.ts;
 *   - library clients: undici, one Client (pipelining 1) per simulated client.
 */
import net, { type Socket } from 'node:net'
import { buildConnector, Client } from 'undici'
import type { ClientSockets } from '../clients/common.ts'
import { type LeanSocket, type LinkOptions, leanConnect } from '../lean/connect.ts'
import { HttpResponseParser } from '../lean/http-response.ts'
import { chatPostHead } from '../model/chat.ts'

export type SendDone = (err?: Error, status?: number) => void

export interface PostSender {
  /** queues one body; `done(err, status)` once its answer came (status 204: accepted) */
  send(body: Buffer, done: SendDone): void
  /** sends that had to wait for the one in flight */
  readonly queued: number
  close(): void
}

/** Sends that may wait behind the one in flight; past it they are refused at once (an overloaded server). */
export const QUEUE_MAX = 16

abstract class OneInFlight implements PostSender {
  queued = 0
  protected closed = false
  private busy = false
  private readonly waiting: [Buffer, SendDone][] = []

  send(body: Buffer, done: SendDone): void {
    if (this.closed) {
      done(new Error('sender closed'))
      return
    }
    if (this.busy) {
      if (this.waiting.length >= QUEUE_MAX) {
        done(new Error(`${QUEUE_MAX} sends already waiting`))
        return
      }
      this.queued++
      this.waiting.push([body, done])
      return
    }
    this.go(body, done)
  }

  private go(body: Buffer, done: SendDone): void {
    this.busy = true
    this.write(body, (err, status) => {
      this.busy = false
      done(err, status)
      const next = this.waiting.shift()
      if (next && !this.closed) this.go(next[0], next[1])
      else if (next) next[1](new Error('sender closed'))
    })
  }

  protected abstract write(body: Buffer, done: SendDone): void

  close(): void {
    this.closed = true
    for (const [, done] of this.waiting.splice(0)) done(new Error('sender closed'))
  }
}

export class LeanPostSender extends OneInFlight {
  private socket: LeanSocket | undefined
  private pending: SendDone | undefined
  private readonly parser = new HttpResponseParser({
    onResponse: (status) => this.answer(undefined, status),
    onError: (err) => {
      this.answer(err)
      this.socket?.destroy()
    },
  })

  constructor(
    private readonly base: URL,
    private readonly sockets: ClientSockets,
    private readonly link: LinkOptions,
  ) {
    super()
  }

  protected write(body: Buffer, done: SendDone): void {
    this.pending = done
    const s = this.socket ?? this.open()
    s.write(
      Buffer.concat([
        Buffer.from(chatPostHead(this.base.hostname, Number(this.base.port), body.length), 'latin1'),
        body,
      ]),
    )
  }

  private answer(err: Error | undefined, status?: number): void {
    const p = this.pending
    this.pending = undefined
    p?.(err ?? (status === 204 ? undefined : new Error(`POST /send answered ${status}`)), status)
  }

  private open(): LeanSocket {
    const s = leanConnect(
      this.base.hostname,
      Number(this.base.port),
      (buf, end) => this.parser.feed(end === buf.length ? buf : buf.subarray(0, end)),
      this.link,
    )
    this.socket = s
    this.sockets.track(s)
    s.on('error', () => {}) // 'close' follows and fails what is pending
    s.on('close', () => {
      if (this.socket === s) this.socket = undefined
      this.parser.reset()
      this.answer(new Error('connection closed'))
    })
    return s
  }

  override close(): void {
    super.close()
    this.socket?.destroy()
  }
}

const connector = buildConnector({})

export class LibraryPostSender extends OneInFlight {
  private readonly client: Client

  constructor(base: URL, sockets: ClientSockets, ca?: string) {
    super()
    const tls =
      base.protocol === 'https:' ? buildConnector({ ...(ca === undefined ? {} : { ca }) }) : undefined
    this.client = new Client(base.origin, {
      pipelining: 1,
      keepAliveTimeout: 60_000,
      connect: (opts, cb) => {
        if (tls) {
          const tcp = net.connect({ host: opts.hostname, port: Number(opts.port) || 443, noDelay: true })
          sockets.track(tcp)
          return tls({ ...opts, httpSocket: tcp }, (err, socket) => (err ? cb(err, null) : cb(null, socket)))
        }
        return connector(opts, (err, socket) => {
          if (socket) sockets.track(socket as Socket)
          if (err) cb(err, null)
          else cb(null, socket)
        })
      },
    })
  }

  protected write(body: Buffer, done: SendDone): void {
    this.client
      .request({
        method: 'POST',
        path: '/send',
        body,
        headers: { 'content-type': 'application/json' },
      })
      .then(async (res) => {
        await res.body.dump()
        done(
          res.statusCode === 204 ? undefined : new Error(`POST /send answered ${res.statusCode}`),
          res.statusCode,
        )
      })
      .catch((err: Error) => done(err))
  }

  override close(): void {
    super.close()
    this.client.destroy().catch(() => {})
  }
}
