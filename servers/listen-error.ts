/**
 * A server that cannot listen is bad input when the host or port is the user's: the error names the flag
 * and why (exit 2), instead of a stack trace. Other errors are returned as they are.
 */
import { PbOptionError } from '../lib/errors.ts'
import type { ServerOptions } from './options.ts'

export function listenError(
  err: unknown,
  o: Pick<ServerOptions, 'host' | 'port'>,
  names: Partial<Record<keyof ServerOptions, string>> = {},
): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const host = names.host ?? 'host'
  const port = names.port ?? 'port'
  const at = JSON.stringify(o.host)
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return new PbOptionError(host, `${at} is not an address, and no host of that name resolves (${code})`)
    case 'EAI_AGAIN':
      return new PbOptionError(
        host,
        `${at} could not be resolved now (${code}: the name server did not answer)`,
      )
    case 'EADDRNOTAVAIL':
      return new PbOptionError(
        host,
        `${at} is not an address of this host (${code}); bind one of its own, e.g. 127.0.0.1 or 0.0.0.0`,
      )
    case 'EINVAL':
    case 'EAFNOSUPPORT':
      return new PbOptionError(host, `${at} cannot be bound (${code})`)
    case 'EADDRINUSE':
      return new PbOptionError(
        port,
        `port ${o.port} is in use on ${o.host} (${code}); pick another, or 0 for any free port`,
      )
    case 'EACCES':
      return new PbOptionError(
        port,
        `port ${o.port} on ${o.host} needs privileges (${code}: ports below 1024 are root's); pick one from 1024, or 0`,
      )
    default:
      return err
  }
}
