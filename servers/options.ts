import { accessSync, constants, readFileSync, statSync } from 'node:fs'
import { PbOptionError } from '../lib/errors.ts'
import { checkRingBytes } from '../lib/load-bound.ts'
import { checkChoice, checkNumber, resolveParams, SERVER_RANGES, type WritePolicy } from '../lib/params.ts'
import { type Transport, transportNames } from '../lib/transports.ts'
import { DEFAULT_WORKLOAD, WORKLOADS, type Workload } from '../lib/workloads.ts'
import { HEADERS_TIMEOUT_MS } from './http-settings.ts'

/** Everything one server process is started with. */
export interface ServerOptions {
  transport: Transport
  /** what is published (lib/workloads.ts) */
  workload: Workload
  host: string
  /** 0 picks a free port */
  port: number
  seed: number
  symbols: number
  /** chat workload: rooms (streams); the ticker ignores it */
  rooms: number
  tickHz: number
  updatesPerTick: number
  payloadBytes: number
  writePolicy: WritePolicy
  /** updates kept for resume; 0 sizes the ring from the payload (64 MiB, 1,024..65,536 updates) */
  ringSize: number
  /**
   * the ticker's shared tick origin, epoch ms (0: none): a server started on the epoch of an earlier one
   * regenerates what that one published and continues its sequence (servers/ticker.ts TickerOptions.epochMs)
   */
  epochMs: number
  /** push transports: unsent bytes a connection may queue before it is cut as a slow consumer */
  maxBufferedBytes: number
  /** SSE comment heartbeat period */
  heartbeatMs: number
  /** SSE: the reconnect delay written once at the head of every stream (`retry:`); 0 writes none */
  sseRetryMs: number
  /** WebSocket ping period; a peer that has not answered the previous ping is terminated */
  pingIntervalMs: number
  /** long polling: how long a request is held before a 204 */
  longPollTimeoutMs: number
  /** WebSocket permessage-deflate (off by default: it changes the bytes) */
  perMessageDeflate: boolean
  /** largest client WebSocket message; past it the server closes with 1009 */
  maxClientMessageBytes: number
  /** listen backlog: thousands of clients connecting at once overflow the default */
  backlog: number
  /**
   * how long a request may take to send its header section before a 408 and the close (a slowloris);
   * never cuts a held long poll or an open stream (servers/http-settings.ts)
   */
  headersTimeoutMs: number
  /** start ticking at once (false: tests publish by hand with ticker.publishTick) */
  autoStart: boolean
  /**
   * origins (`http(s)://host[:port]`, or `*` for any) whose pages may read the HTTP transports' answers
   * and open the WebSocket; empty: same origin only (servers/cors.ts)
   */
  allowOrigin: readonly string[]
  /**
   * TLS: the private key and the certificate (PEM file paths), both or neither; with them the server
   * serves https and wss on the same port (lib/tls-cert.ts makes a throwaway pair for `--tls`)
   */
  tlsKey?: string | undefined
  tlsCert?: string | undefined
  /**
   * serve the control endpoint (servers/control.ts) on the transport's port: `GET /pushbench/clock` and the
   * read-only requests of servers/ipc.ts as `POST /pushbench/control`, for a load generator on another
   * host; the server process (servers/process.ts) attaches it. Off: both paths are the usual 404.
   */
  control: boolean
}

export const SERVER_DEFAULTS: Readonly<Omit<ServerOptions, 'transport'>> = Object.freeze({
  workload: DEFAULT_WORKLOAD,
  host: '127.0.0.1',
  port: 0,
  seed: 1,
  symbols: 50,
  rooms: 10,
  tickHz: 10,
  updatesPerTick: 1,
  payloadBytes: 128,
  writePolicy: 'per-tick',
  ringSize: 0,
  epochMs: 0,
  maxBufferedBytes: 4 * 1024 * 1024,
  heartbeatMs: 15_000,
  sseRetryMs: 1000,
  pingIntervalMs: 30_000,
  longPollTimeoutMs: 30_000,
  perMessageDeflate: false,
  maxClientMessageBytes: 4096,
  backlog: 4096,
  headersTimeoutMs: HEADERS_TIMEOUT_MS,
  autoStart: true,
  allowOrigin: Object.freeze([]),
  control: false,
})

/** Fills defaults, checks every field once (naming it), freezes. */
export function resolveServerOptions(
  input: Partial<ServerOptions> & { transport: unknown },
  names: Partial<Record<keyof ServerOptions, string>> = {},
): Readonly<ServerOptions> {
  const o: Record<string, unknown> = {
    ...SERVER_DEFAULTS,
    ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)),
  }
  const name = (k: keyof ServerOptions) => names[k] ?? k
  const transport = checkChoice(name('transport'), o.transport, transportNames())
  const p = resolveParams(
    {
      seed: o.seed,
      symbols: o.symbols,
      rooms: o.rooms,
      tickHz: o.tickHz,
      updatesPerTick: o.updatesPerTick,
      payloadBytes: o.payloadBytes,
      writePolicy: o.writePolicy,
    },
    names,
  )
  if (typeof o.host !== 'string' || o.host === '')
    throw new PbOptionError(name('host'), 'must be a host name or address')
  const R = SERVER_RANGES
  const ringSize = checkNumber(name('ringSize'), o.ringSize, R.ringSize)
  // the ring holds ringSize updates of payloadBytes each (0: sized from the payload, 1 GiB at most)
  checkRingBytes(ringSize, p.payloadBytes, name('ringSize'), name('payloadBytes'))
  return Object.freeze({
    transport,
    workload: checkChoice(name('workload'), o.workload, WORKLOADS),
    host: o.host,
    port: checkNumber(name('port'), o.port, R.port),
    seed: p.seed,
    symbols: p.symbols,
    rooms: p.rooms,
    tickHz: p.tickHz,
    updatesPerTick: p.updatesPerTick,
    payloadBytes: p.payloadBytes,
    writePolicy: p.writePolicy,
    ringSize,
    epochMs: checkNumber(name('epochMs'), o.epochMs, R.epochMs),
    maxBufferedBytes: checkNumber(name('maxBufferedBytes'), o.maxBufferedBytes, R.maxBufferedBytes),
    heartbeatMs: checkNumber(name('heartbeatMs'), o.heartbeatMs, R.heartbeatMs),
    sseRetryMs: checkNumber(name('sseRetryMs'), o.sseRetryMs, R.sseRetryMs),
    pingIntervalMs: checkNumber(name('pingIntervalMs'), o.pingIntervalMs, R.pingIntervalMs),
    longPollTimeoutMs: checkNumber(name('longPollTimeoutMs'), o.longPollTimeoutMs, R.longPollTimeoutMs),
    perMessageDeflate: Boolean(o.perMessageDeflate),
    maxClientMessageBytes: checkNumber(
      name('maxClientMessageBytes'),
      o.maxClientMessageBytes,
      R.maxClientMessageBytes,
    ),
    backlog: checkNumber(name('backlog'), o.backlog, R.backlog),
    headersTimeoutMs: checkNumber(name('headersTimeoutMs'), o.headersTimeoutMs, R.headersTimeoutMs),
    autoStart: o.autoStart !== false,
    allowOrigin: checkOrigins(name('allowOrigin'), o.allowOrigin),
    control: checkFlag(name('control'), o.control),
    ...checkTlsFiles(name('tlsKey'), o.tlsKey, name('tlsCert'), o.tlsCert),
  })
}

/** A switch: true or false (a config's "yes" is not quietly taken for either). */
function checkFlag(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw new PbOptionError(field, `must be true or false, got ${JSON.stringify(value)}`)
  return value
}

/** Both files or neither, each one a readable file; the paths are kept, servers read them (tlsServerOptions). */
function checkTlsFiles(
  keyField: string,
  key: unknown,
  certField: string,
  cert: unknown,
): { tlsKey?: string; tlsCert?: string } {
  if (key === undefined && cert === undefined) return {}
  if (key === undefined) throw new PbOptionError(keyField, `is needed with ${certField} (both or neither)`)
  if (cert === undefined) throw new PbOptionError(certField, `is needed with ${keyField} (both or neither)`)
  for (const [field, file] of [
    [keyField, key],
    [certField, cert],
  ] as const) {
    if (typeof file !== 'string' || file === '') throw new PbOptionError(field, 'must be a PEM file path')
    try {
      if (!statSync(file).isFile()) throw new Error('not a regular file')
      accessSync(file, constants.R_OK)
    } catch (err) {
      throw new PbOptionError(field, `cannot read ${file}: ${(err as Error).message}`)
    }
  }
  return { tlsKey: key as string, tlsCert: cert as string }
}

/** The key and certificate to serve https with, read from the options' files; undefined: plain http. */
export function tlsServerOptions(o: Readonly<ServerOptions>): { key: Buffer; cert: Buffer } | undefined {
  if (o.tlsKey === undefined || o.tlsCert === undefined) return undefined
  return { key: readFileSync(o.tlsKey), cert: readFileSync(o.tlsCert) }
}

/** `http://host:port`, or `https://` when the server has TLS (an IPv6 host in brackets). */
export function serverUrl(o: Readonly<ServerOptions>, port: number): string {
  const host = o.host.includes(':') ? `[${o.host}]` : o.host
  return `${o.tlsKey !== undefined ? 'https' : 'http'}://${host}:${port}`
}

const ORIGIN_FORM = 'http(s)://host[:port] with no path, query or trailing slash, or * for any origin'

/** Each entry an origin exactly as a browser sends it in `Origin` (so a plain string compare matches), or `*`. */
function checkOrigins(field: string, value: unknown): readonly string[] {
  if (!Array.isArray(value)) throw new PbOptionError(field, `must be a list of origins (${ORIGIN_FORM})`)
  for (const entry of value as unknown[]) {
    if (entry === '*') continue
    let url: URL | undefined
    try {
      url = typeof entry === 'string' ? new URL(entry) : undefined
    } catch {}
    const web = url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:')
    if (web && url?.origin === entry) continue
    const hint = web ? ` (did you mean ${url?.origin}?)` : ''
    throw new PbOptionError(
      field,
      `${JSON.stringify(entry)} is not an origin${hint}; expected ${ORIGIN_FORM}`,
    )
  }
  return Object.freeze([...(value as string[])])
}
