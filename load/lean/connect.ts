/**
 * A raw connection for a lean client. Plain TCP is read into one buffer that every lean connection of the
 * process shares (net's `onread`): no Buffer is allocated per read and no stream machinery runs, so a read
 * costs the syscall, one callback and the parse. What a read delivers is valid only during the callback:
 * the parsers copy what they keep (a frame or a line split across reads) and the clients consume the rest
 * synchronously. Over TLS, or behind the delay line (an emulated round-trip time), each read is a Buffer
 * of its own.
 */
import net from 'node:net'
import tls from 'node:tls'
import { nowMs } from '../../lib/clock.ts'
import { DelayedSocket, handshakeRoundTrips } from './delay-line.ts'

/** Bytes one read may return: larger than a tick's batch at the rates the suite drives. */
export const READ_BUFFER_BYTES = 64 * 1024

const shared = Buffer.allocUnsafe(READ_BUFFER_BYTES)

/** `onRead(buf, end, atMs)`: the bytes `buf[0, end)` that arrived at `atMs`, valid only during the call. */
export type OnRead = (buf: Buffer, end: number, atMs: number) => void

/** The network between a lean client and its server: an emulated round-trip time, TLS. */
export interface LinkOptions {
  /** emulated round-trip time, ms (0: none, the socket is handed over as it is) */
  rttMs: number
  /** TLS, trusting this certificate (PEM): the server's self-signed one */
  ca?: string | undefined
  /** reads may be views of the shared buffer (false: every read is a Buffer the client may keep) */
  sharedReads?: boolean | undefined
  /** the source address to bind before connecting (load/source-addresses.ts); absent: the kernel's pick */
  localAddress?: string | undefined
  /** TLS: the protocols offered by ALPN (`h2` for the HTTP/2 rows); absent: none offered */
  alpn?: readonly string[] | undefined
}

/** What a lean client uses of its connection: a net.Socket, or the delay line in front of one. */
export interface LeanSocket {
  write(data: string | Buffer): boolean
  end(): void
  destroy(): void
  readonly destroyed: boolean
  readonly bytesRead: number
  readonly bytesWritten: number
  on(event: 'connect' | 'close', listener: () => void): this
  on(event: 'error', listener: (err: Error) => void): this
  once(event: 'close', listener: () => void): this
}

export const NO_LINK: LinkOptions = Object.freeze({ rttMs: 0 })

export function leanConnect(
  host: string,
  port: number,
  onRead: OnRead,
  link: LinkOptions = NO_LINK,
): LeanSocket {
  const tlsOn = link.ca !== undefined
  if (link.rttMs > 0) {
    const socket = open(host, port, link, (buf, end) => line.feed(buf, end))
    const line: DelayedSocket = new DelayedSocket(socket, link.rttMs, handshakeRoundTrips(tlsOn), onRead)
    return line
  }
  return open(host, port, link, (buf, end) => onRead(buf, end, nowMs()))
}

/** The socket itself, reads handed to `onBytes` as they come. */
function open(
  host: string,
  port: number,
  link: LinkOptions,
  onBytes: (buf: Buffer, end: number) => void,
): net.Socket {
  if (link.ca !== undefined) {
    // TLS over a TCP socket of our own, whose counters are what crossed the wire (records, handshake): a
    // TLS socket's own bytesRead/bytesWritten count the plaintext, which the server's counters never see
    const raw = net.connect({ host, port, noDelay: true, localAddress: link.localAddress })
    const s = tls.connect({
      socket: raw,
      ca: link.ca,
      servername: net.isIP(host) ? undefined : host,
      ...(link.alpn ? { ALPNProtocols: [...link.alpn] } : {}),
    })
    Object.defineProperty(s, 'bytesRead', { get: () => raw.bytesRead })
    Object.defineProperty(s, 'bytesWritten', { get: () => raw.bytesWritten })
    s.on('data', (buf: Buffer) => onBytes(buf, buf.length))
    return s
  }
  if (link.sharedReads === false && link.rttMs === 0) {
    const s = net.connect({ host, port, noDelay: true, localAddress: link.localAddress })
    s.on('data', (buf: Buffer) => onBytes(buf, buf.length))
    return s
  }
  return net.connect({
    host,
    port,
    noDelay: true,
    localAddress: link.localAddress,
    onread: {
      buffer: shared,
      callback: (n: number, buf: Uint8Array): boolean => {
        onBytes(buf as Buffer, n)
        return true
      },
    },
  })
}
