/**
 * A throwaway TLS certificate for one run (`--tls`): self-signed, EC P-256, valid one day, CN=localhost,
 * made at run time with the `openssl` CLI into a fresh temporary folder (`$TMPDIR/pushbench-tls-XXXXXX`).
 * The folder is removed by `remove()`, and, as the last resort, by a process 'exit' handler (a run that
 * ends through process.exit, an uncaught error or Ctrl-C handled by the CLIs); only a SIGKILL or a
 * signal nobody handles leaves it behind. Nothing trusts the certificate but the clients that are handed
 * its PEM (`certPem`): it never goes into a system or browser trust store.
 */
import { execFile } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PbError, PbOptionError } from './errors.ts'

export interface TlsCert {
  /** the temporary folder that holds both files */
  readonly dir: string
  /** the private key (PEM, mode 0600) */
  readonly keyPath: string
  /** the self-signed certificate (PEM) */
  readonly certPath: string
  /** the certificate's PEM text: what a client trusts (`ca`) */
  readonly certPem: string
  /** Removes the folder (idempotent, synchronous: safe in an 'exit' handler). */
  remove(): void
}

export interface TlsCertOptions {
  /**
   * IP addresses the certificate names besides 127.0.0.1 (subjectAltName IP:...): the address the
   * server listens on, e.g. 10.201.0.1 in wire mode. A certificate cannot name a range, so every
   * address a client connects to must be listed.
   */
  ips?: readonly string[] | undefined
  /** DNS names it names besides localhost (subjectAltName DNS:...) */
  dnsNames?: readonly string[] | undefined
  /** validity, days (default 1) */
  days?: number | undefined
  /** the openssl binary (default: `openssl` on PATH) */
  openssl?: string | undefined
}

/** The subjectAltName of the certificate: localhost and 127.0.0.1 always, then the caller's, once each. */
export function subjectAltName(opts: Pick<TlsCertOptions, 'ips' | 'dnsNames'> = {}): string {
  const ips = new Set(['127.0.0.1'])
  for (const ip of opts.ips ?? []) {
    if (isIP(ip) === 0)
      throw new PbError('PB_ERR_TLS', `cannot name ${JSON.stringify(ip)} in a certificate: not an IP address`)
    ips.add(ip)
  }
  const dns = new Set(['localhost'])
  for (const name of opts.dnsNames ?? []) {
    if (!/^[A-Za-z0-9*]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(name))
      throw new PbError('PB_ERR_TLS', `cannot name ${JSON.stringify(name)} in a certificate: not a DNS name`)
    dns.add(name)
  }
  return [...[...dns].map((d) => `DNS:${d}`), ...[...ips].map((ip) => `IP:${ip}`)].join(',')
}

/**
 * Names for a certificate that a client reaching `host` accepts: an IP address goes in `ips`, a name in
 * `dnsNames` (what Session passes for the server's bind address).
 */
export function namesFor(host: string): Pick<TlsCertOptions, 'ips' | 'dnsNames'> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  return isIP(bare) !== 0 ? { ips: [bare] } : { dnsNames: [bare] }
}

/** Folders made and not yet removed: the 'exit' handler removes what is left. */
const live = new Set<string>()
let exitHook = false

function removeDir(dir: string): void {
  live.delete(dir)
  try {
    rmSync(dir, { recursive: true, force: true })
  } catch {}
}

function hookExit(): void {
  if (exitHook) return
  exitHook = true
  process.on('exit', () => {
    for (const dir of [...live]) removeDir(dir)
  })
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve()
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(
          new PbError(
            'PB_ERR_TLS',
            `--tls makes its certificate with the openssl command, and ${cmd} was not found on PATH: ` +
              'install it (Debian/Ubuntu: apt-get install openssl), or serve with --tls-key/--tls-cert',
            { cause: err },
          ),
        )
        return
      }
      const why = String(stderr).trim().split('\n').slice(-3).join(' | ') || err.message
      reject(new PbError('PB_ERR_TLS', `openssl could not make the TLS certificate: ${why}`, { cause: err }))
    })
  })
}

/** Makes the key and the self-signed certificate in a new temporary folder (see the file's head). */
export async function makeTlsCert(opts: TlsCertOptions = {}): Promise<TlsCert> {
  const san = subjectAltName(opts)
  const days = opts.days ?? 1
  if (!Number.isInteger(days) || days < 1)
    throw new PbError('PB_ERR_TLS', `certificate validity must be a whole number of days, got ${days}`)
  hookExit()
  const dir = await mkdtemp(join(tmpdir(), 'pushbench-tls-'))
  live.add(dir)
  const keyPath = join(dir, 'key.pem')
  const certPath = join(dir, 'cert.pem')
  try {
    await run(opts.openssl ?? 'openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-sha256',
      '-days',
      String(days),
      '-subj',
      '/CN=localhost',
      '-addext',
      `subjectAltName=${san}`,
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ])
    const certPem = await readFile(certPath, 'utf8')
    return { dir, keyPath, certPath, certPem, remove: () => removeDir(dir) }
  } catch (err) {
    removeDir(dir)
    throw err
  }
}

/**
 * `--tls` is refused with browser clients (exit 2 naming `flag`): Chromium would have to be told to trust
 * the run's self-signed certificate, which this suite does not do.
 */
export function checkTlsClient(tls: boolean | undefined, client: string, flag = '--tls'): void {
  if (tls && client === 'browser')
    throw new PbOptionError(
      flag,
      "not with --client browser: Chromium would have to trust the run's self-signed certificate (use --client lean or library)",
    )
}
