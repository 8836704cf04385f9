/**
 * A GET on a client's own keep-alive connection, whole body collected, receive instant taken at the last
 * byte. undici (one Client per simulated client, pipelining 1) rather than node:http: at 1,000 long-poll
 * clients the generator asks ~10,000 times a second, and node:http's client saturated its core there.
 */
import net, { type Socket } from 'node:net'
import { buildConnector, Client, type Dispatcher } from 'undici'
import { nowMs } from '../../lib/clock.ts'
import type { ClientSockets } from './common.ts'
import type { PollAnswer, PollConnection } from './poll.ts'

const connector = buildConnector({})

/**
 * https: one TLS connector per certificate trusted; no session is cached, so every connection pays a full
 * handshake as a new visitor does (undici would resume sessions across clients of one origin)
 */
const tlsConnectors = new Map<string, buildConnector.connector>()
function tlsConnector(ca: string | undefined): buildConnector.connector {
  const key = ca ?? ''
  let c = tlsConnectors.get(key)
  if (!c) {
    c = buildConnector({ ...(ca === undefined ? {} : { ca }), maxCachedSessions: 0 })
    tlsConnectors.set(key, c)
  }
  return c
}

/** One simulated client's connection: GETs go out one at a time on it; it reconnects when it drops. */
export class KeepAliveGet implements PollConnection {
  private readonly client: Client

  /**
   * `onConnect` fires each time the TCP connection comes up (ramping waits on the first). An https `base`
   * is reached over TLS trusting `ca` (PEM), the TCP socket under it counted (load/clients/tls.ts).
   */
  constructor(base: URL, sockets: ClientSockets, onConnect?: () => void, ca?: string) {
    const secure = base.protocol === 'https:'
    const tls = secure ? tlsConnector(ca) : undefined
    this.client = new Client(base.origin, {
      pipelining: 1,
      // the server holds long polls up to its timeout; never cut them on the client side first
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 60_000,
      connect: (opts, cb) => {
        if (tls) {
          // TLS over a TCP socket of our own: its bytes are the wire's, TLS records included
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
    if (onConnect) this.client.on('connect', onConnect)
  }

  get(path: string): Promise<PollAnswer> {
    return new Promise((resolve, reject) => {
      let status = 0
      let pbSeq: number | undefined
      let gap: string | undefined
      const chunks: Buffer[] = []
      this.client.dispatch({ method: 'GET', path }, {
        // the callback handler that undici's Client takes as is (no wrapper in the hot path)
        onConnect() {},
        onHeaders(statusCode: number, rawHeaders: Buffer[]) {
          status = statusCode
          // pb-seq comes with a 204 (and a 400 refusing a resume), pb-gap with a 200 after a resume
          // older than the ring buffer: a name of any other length is passed over without a string made
          for (let i = 0; i < rawHeaders.length; i += 2) {
            const name = rawHeaders[i] as Buffer
            if (name.length !== 6 || ((name[0] as number) | 0x20) !== 0x70) continue
            const n = name.toString('latin1').toLowerCase()
            if (n === 'pb-seq') pbSeq = Number(rawHeaders[i + 1]?.toString('latin1'))
            else if (n === 'pb-gap') gap = rawHeaders[i + 1]?.toString('latin1')
          }
          return true
        },
        onData(chunk: Buffer) {
          chunks.push(chunk)
          return true
        },
        onComplete() {
          const receivedMs = nowMs()
          const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
          resolve({ status, body, pbSeq, gap, receivedMs })
        },
        onError(err: Error) {
          reject(err)
        },
      } as Dispatcher.DispatchHandler)
    })
  }

  close(): void {
    this.client.destroy().catch(() => {})
  }
}
