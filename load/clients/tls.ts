/**
 * TLS for the library clients (`--tls`): each connection is a TCP socket of its own wrapped in TLS, and
 * the TCP socket is what the client tally counts. A TLSSocket's own bytesRead/bytesWritten are the
 * plaintext it carried; the TCP socket's are the TLS records as they went on the wire (handshake,
 * certificate, session tickets, record headers and tags), which is what the server's counters count too
 * (servers/counters.ts hooks the raw socket of its 'connection' event). No session is resumed: every
 * connection pays a full handshake, as a new visitor does.
 */
import net from 'node:net'
import tls from 'node:tls'
import type { ClientSockets } from './common.ts'

/** The server is reached over TLS: `base` is https. */
export const isTls = (base: URL): boolean => base.protocol === 'https:'

/**
 * Opens TCP to host:port, tracks that socket in `sockets`, and returns the TLS connection over it,
 * trusting `ca` (PEM; undefined: the system's roots). Errors of either reach the TLS socket.
 */
export function tlsConnect(
  host: string,
  port: number,
  ca: string | undefined,
  sockets: ClientSockets,
): tls.TLSSocket {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  const tcp = net.connect({ host: bare, port, noDelay: true })
  sockets.track(tcp)
  return tls.connect({
    socket: tcp,
    ...(ca === undefined ? {} : { ca }),
    // SNI carries a name, never an address (RFC 6066 3)
    ...(net.isIP(bare) === 0 ? { servername: bare } : {}),
  })
}

/** The port of a URL, its scheme's default when it names none. */
export const portOf = (url: URL): number =>
  url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
