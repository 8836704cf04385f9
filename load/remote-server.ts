/**
 * A server on another host, started with `pushbench serve --control`: what the run asks of its server
 * (counters on tick boundaries, publish counts, memory) over HTTP on the transport's own port instead of
 * IPC (servers/control.ts). `request` has the shape of Child.request (load/children.ts), so the run's code
 * can hold either. It never starts or stops the server: `stop` only closes its connections.
 */
import http from 'node:http'
import https from 'node:https'
import { isIP } from 'node:net'
import { hostNowMs, nowMs } from '../lib/clock.ts'
import { PbError, PbOptionError } from '../lib/errors.ts'
import { CLOCK_PATH, CONTROL_PATH } from '../servers/control.ts'
import type { ReadyLine, ServerReply } from '../servers/ipc.ts'

export { CLOCK_PATH, CONTROL_PATH }
/** what a request that waits for no tick is given (as Child.request) */
export const DEFAULT_TIMEOUT_MS = 10_000
/**
 * Connections a RemoteServer holds at most, each kept alive. Requests one at a time go over one; HTTP/1.1
 * answers in order on a connection, so a request made while another is held on the server (a `counters`
 * with `atMs` waits for its tick: a run asks for both window edges at once) goes over a second one rather
 * than waiting behind it. Each is the harness's, not counted in the server's bytes (servers/control.ts).
 */
export const MAX_CONNECTIONS = 4

export interface RemoteServerOptions {
  /** https: the certificate (PEM text) to trust besides the system's roots, e.g. `serve --tls`'s own */
  ca?: string | undefined
}

/**
 * `http(s)://host[:port]`, with no path (but `/`), query, fragment or credentials; anything else is a
 * PbOptionError on `field`.
 */
export function parseTarget(target: string, field = '--target'): URL {
  const form = 'expected http(s)://host:port'
  let url: URL
  try {
    url = new URL(target)
  } catch {
    throw new PbOptionError(field, `${JSON.stringify(target)} is not a URL; ${form}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PbOptionError(
      field,
      `${JSON.stringify(target)}: ${url.protocol} is not http: or https:; ${form}`,
    )
  }
  if (
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    throw new PbOptionError(field, `${JSON.stringify(target)} has more than a scheme, host and port; ${form}`)
  }
  return url
}

/** A keep-alive agent for `target`, trusting `ca` under https, holding at most `maxSockets` connections. */
export function controlAgent(target: URL, ca: string | undefined, maxSockets: number): http.Agent {
  const o = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' as const }
  return target.protocol === 'https:'
    ? new https.Agent({ ...o, ...(ca === undefined ? {} : { ca }) })
    : new http.Agent(o)
}

/** One finished exchange: what came back, and when (this host's clock without any offset set, lib/clock.ts). */
export interface Exchange {
  status: number
  body: string
  /** just before the request was handed to node:http */
  sentMs: number
  /** when the whole answer was in */
  receivedMs: number
  /** it went over a connection an earlier exchange had opened */
  reusedSocket: boolean
}

/**
 * One HTTP exchange with `target` over `agent`; rejects with a PbError when it cannot connect, the
 * connection fails, or no whole answer came in `timeoutMs` (the request is then cut).
 */
export function exchange(
  target: URL,
  agent: http.Agent,
  method: 'GET' | 'POST',
  path: string,
  body: string | undefined,
  timeoutMs: number,
): Promise<Exchange> {
  const mod = target.protocol === 'https:' ? https : http
  const hostname = target.hostname.replace(/^\[(.*)\]$/, '$1')
  return new Promise((resolve, reject) => {
    let done = false
    const fail = (err: PbError) => {
      if (done) return
      done = true
      clearTimeout(timer)
      req.destroy()
      reject(err)
    }
    const sentMs = hostNowMs()
    const req = mod.request(
      {
        agent,
        method,
        hostname,
        port: target.port || undefined,
        path,
        // SNI carries a name, never an address (RFC 6066 3)
        ...(target.protocol === 'https:' && isIP(hostname) !== 0 ? { servername: '' } : {}),
        headers: {
          accept: 'application/json',
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const receivedMs = hostNowMs()
          if (done) return
          done = true
          clearTimeout(timer)
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            sentMs,
            receivedMs,
            reusedSocket: req.reusedSocket,
          })
        })
        res.on('error', (err) => fail(unreachable(target, err)))
      },
    )
    const timer = setTimeout(
      () =>
        fail(
          new PbError(
            'PB_ERR_TARGET',
            `${target.origin} did not answer ${method} ${path} in ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    )
    req.on('error', (err) => fail(unreachable(target, err)))
    req.end(body)
  })
}

function unreachable(target: URL, err: Error): PbError {
  const code = (err as { code?: string }).code ?? ''
  const tail = code && !err.message.includes(code) ? ` (${code})` : ''
  // the certificate, not the network: say what to do about it
  if (/CERT|SELF_SIGNED|ERR_TLS|ERR_SSL|HOSTNAME/.test(code)) {
    return new PbError(
      'PB_ERR_TARGET',
      `${target.origin}: TLS: ${err.message}${tail}: trust the server's certificate (its PEM as ca)`,
      { cause: err },
    )
  }
  return new PbError('PB_ERR_TARGET', `${target.origin} does not answer: ${err.message}${tail}`, {
    cause: err,
  })
}

/** The error for a target that answers HTTP but not as a server with `--control` does. */
export function noControlEndpoint(target: URL, detail: string): PbError {
  return new PbError(
    'PB_ERR_TARGET',
    `${target.origin} has no control endpoint: start it with \`pushbench serve --control\` (${detail})`,
  )
}

let nextId = 1

export class RemoteServer {
  private constructor(
    /** the target as given, scheme, host and port */
    readonly target: URL,
    /**
     * the server's ready line with `host`, `port` and `url` those the target is reached at from here
     * (a server binding 0.0.0.0 behind a Service prints its own bind address and port)
     */
    readonly ready: ReadyLine,
    /** the ready line as the server printed it */
    readonly printed: ReadyLine,
    private readonly agent: http.Agent,
  ) {}

  /** for error messages, as Child's label */
  get label(): string {
    return `server at ${this.target.origin}`
  }

  /**
   * Reaches `target` (`http(s)://host:port` of a `pushbench serve --control`) and learns its ready line.
   * A target that is not http(s) is a PbOptionError('--target'); one that does not answer, or answers
   * without a control endpoint, a PbError saying so.
   */
  static async connect(target: string, opts: RemoteServerOptions = {}): Promise<RemoteServer> {
    const url = parseTarget(target)
    const agent = controlAgent(url, opts.ca, MAX_CONNECTIONS)
    try {
      const x = await exchange(
        url,
        agent,
        'POST',
        CONTROL_PATH,
        JSON.stringify({ id: 0, type: 'ready' }),
        DEFAULT_TIMEOUT_MS,
      )
      if (x.status === 404 || x.status === 405)
        throw noControlEndpoint(url, `POST ${CONTROL_PATH} answered ${x.status}`)
      let reply: Partial<Extract<ServerReply, { type: 'ready' }>> | undefined
      try {
        reply = JSON.parse(x.body)
      } catch {}
      const printed = reply?.type === 'ready' ? reply.ready : undefined
      if (x.status !== 200 || printed?.event !== 'ready') {
        throw noControlEndpoint(url, `POST ${CONTROL_PATH} answered ${x.status}: ${x.body.slice(0, 200)}`)
      }
      const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
      const ready: ReadyLine = {
        ...printed,
        host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port,
        url: `${url.protocol}//${url.hostname}:${port}`,
      }
      return new RemoteServer(url, ready, printed, agent)
    } catch (err) {
      agent.destroy()
      throw err
    }
  }

  /**
   * One request of servers/ipc.ts (a read-only one: the server refuses set-rate over HTTP), answered
   * with its ServerReply, an `error` reply included, as Child.request resolves. Rejects with a PbError
   * on a timeout, a network failure or an HTTP error (a refused request: its message says why).
   * `timeoutMs` defaults to 10 s, and to the wait plus 20 s for a `counters`/`mark` with `atMs`
   * (on the server's clock, which lib/clock.ts's nowMs is on once the run set the offset).
   */
  async request<T>(msg: Record<string, unknown>, timeoutMs?: number): Promise<T> {
    const id = nextId++
    const atMs = typeof msg.atMs === 'number' ? msg.atMs : undefined
    const wait = timeoutMs ?? (atMs === undefined ? DEFAULT_TIMEOUT_MS : Math.max(0, atMs - nowMs()) + 20_000)
    const type = String(msg.type)
    const x = await exchange(
      this.target,
      this.agent,
      'POST',
      CONTROL_PATH,
      JSON.stringify({ ...msg, id }),
      wait,
    ).catch((err: Error) => {
      const code = err instanceof PbError ? err.code : 'PB_ERR_TARGET'
      throw new PbError(code, `${this.label}: ${type}: ${err.message}`, { cause: err })
    })
    let reply: { id?: unknown; type?: unknown; message?: unknown } | undefined
    try {
      reply = JSON.parse(x.body)
    } catch {}
    // an `error` reply (500) is an answer, as over IPC: the caller reads its message
    if ((x.status === 200 || (x.status === 500 && reply?.type === 'error')) && reply?.id === id)
      return reply as T
    const why = typeof reply?.message === 'string' ? reply.message : x.body.slice(0, 200)
    if (x.status === 404) throw noControlEndpoint(this.target, `POST ${CONTROL_PATH} answered 404`)
    throw new PbError('PB_ERR_TARGET', `${this.label} answered ${x.status} to ${type}: ${why}`)
  }

  /** Closes this side's connections; the server keeps running. */
  async stop(): Promise<void> {
    this.agent.destroy()
  }
}
