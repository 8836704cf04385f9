/**
 * The control endpoint (`pushbench serve --control`): what a load generator on another host needs of the
 * server, over HTTP on the transport's own port, since it has no IPC channel to it (load/remote-server.ts,
 * load/clock-offset.ts).
 *
 *   GET  /pushbench/clock    200 {"receivedMs":t1,"sentMs":t2}, both on the server's clock (lib/clock.ts),
 *                            t1 as the request is handed over, t2 right before the answer is written
 *   POST /pushbench/control  a read-only request of servers/ipc.ts as JSON (counters, mark, published,
 *                            memory, ready), answered with the same ServerReply JSON the IPC gives (200, or
 *                            500 for an `error` reply); set-rate is 403, anything malformed a 400 naming
 *                            the field
 *
 * Both are answered before the transport sees the request: the server's `request` listeners (fastify's
 * handler, or a baseline's bare one) are wrapped, so the same code serves both server kinds, t1 is taken
 * first thing, and the transports' request counters (stats.requests, stats.errors) never see a control
 * request. Without `--control` nothing is wrapped, and both paths get the server's usual 404.
 *
 * Bytes: the server's byte and connection counters sum every TCP socket (servers/counters.ts). A connection
 * whose first request is a control request is dropped from them (SocketCounters.exclude), with all its
 * bytes, so the harness reading the server over keep-alive connections of its own (load/remote-server.ts,
 * load/clock-offset.ts) adds nothing to the transport's figures. A connection that first served the transport keeps
 * being counted, control requests included (a few hundred bytes each way per exchange); one that
 * first asked for control is not counted even if it goes on to the transport's paths. Only the instant
 * between the accept and the first request (under TLS: the handshake) is counted, until the request says
 * which it is.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { nowMs } from '../lib/clock.ts'
import type { ServerReply, ServerRequest } from './ipc.ts'
import type { RunningServer } from './server.ts'

export const CLOCK_PATH = '/pushbench/clock'
export const CONTROL_PATH = '/pushbench/control'
/** a control request is a few dozen bytes of JSON */
export const CONTROL_MAX_BODY_BYTES = 16 * 1024
/** the furthest ahead a `counters`/`mark` may be asked for (`atMs`): a longer wait is a mistaken unit */
export const MAX_AT_AHEAD_MS = 24 * 3600_000

/** The requests that only read the server (`mark` restarts the RSS peak: the start of a reading). */
export const READ_ONLY_TYPES = ['counters', 'mark', 'published', 'memory', 'ready'] as const
/** set-rate changes what is published: for the parent over IPC only */
const FORBIDDEN_TYPES: readonly string[] = ['set-rate']

/** A request the endpoint refuses: the HTTP status and the field (of the JSON body) at fault. */
export class ControlRequestError extends Error {
  constructor(
    readonly status: 400 | 403,
    readonly field: string,
    message: string,
  ) {
    super(message)
    this.name = 'ControlRequestError'
  }
}

type ReadOnlyRequest = Extract<ServerRequest, { type: (typeof READ_ONLY_TYPES)[number] }>

/**
 * Checks a POST /pushbench/control body: a JSON object with a read-only `type` and that type's fields
 * (`id`, optional, an integer echoed in the reply; 0 when absent). Throws ControlRequestError.
 */
export function parseControlRequest(body: string): ReadOnlyRequest {
  let m: unknown
  try {
    m = JSON.parse(body)
  } catch (err) {
    throw new ControlRequestError(400, 'body', `is not JSON: ${(err as Error).message}`)
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) {
    throw new ControlRequestError(400, 'body', `must be a JSON object with a type, got ${JSON.stringify(m)}`)
  }
  const o = m as Record<string, unknown>
  const id = o.id ?? 0
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    throw new ControlRequestError(400, 'id', `must be a non-negative integer, got ${JSON.stringify(o.id)}`)
  }
  const types = READ_ONLY_TYPES.join(', ')
  if (o.type === undefined) throw new ControlRequestError(400, 'type', `is missing; one of ${types}`)
  if (typeof o.type !== 'string') {
    throw new ControlRequestError(400, 'type', `must be one of ${types}, got ${JSON.stringify(o.type)}`)
  }
  const type: string = o.type
  if (FORBIDDEN_TYPES.includes(type))
    throw new ControlRequestError(403, 'type', `${type} is not allowed over HTTP`)
  switch (type) {
    case 'counters':
    case 'mark': {
      if (o.atMs === undefined) return { id, type }
      const now = nowMs()
      const atMs = instant('atMs', o.atMs)
      if (atMs > now + MAX_AT_AHEAD_MS) {
        throw new ControlRequestError(
          400,
          'atMs',
          `${atMs} is more than ${MAX_AT_AHEAD_MS / 3600_000} h ahead of the server's clock (${Math.round(now)}): epoch milliseconds expected`,
        )
      }
      return { id, type, atMs }
    }
    case 'published': {
      const fromMs = instant('fromMs', o.fromMs)
      const toMs = instant('toMs', o.toMs)
      if (toMs < fromMs)
        throw new ControlRequestError(400, 'toMs', `must not be before fromMs (${fromMs}), got ${toMs}`)
      return { id, type: 'published', fromMs, toMs }
    }
    case 'memory':
    case 'ready':
      return { id, type }
    default:
      throw new ControlRequestError(400, 'type', `must be one of ${types}, got ${JSON.stringify(type)}`)
  }
}

function instant(field: string, v: unknown): number {
  if (v === undefined) throw new ControlRequestError(400, field, 'is missing; epoch milliseconds expected')
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new ControlRequestError(
      400,
      field,
      `must be epoch milliseconds (a number >= 0), got ${JSON.stringify(v)}`,
    )
  }
  return v
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void

/**
 * Serves the two control paths on `server`'s HTTP server, ahead of its own request handling; every other
 * request goes on to the transport as before. `handle` answers a checked request (servers/process.ts
 * handleRequest, the one the IPC uses).
 */
export function attachControl(
  server: RunningServer,
  handle: (m: ServerRequest) => Promise<ServerReply>,
): void {
  const http: Server = server.httpServer
  const transport = http.listeners('request') as Listener[]
  http.removeAllListeners('request')
  // a socket's first request says whether it is the harness's (then it is not counted) or the transport's
  const classified = new WeakSet<object>()
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const receivedMs = nowMs()
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    const control = path === CLOCK_PATH || path === CONTROL_PATH
    if (!classified.has(req.socket)) {
      classified.add(req.socket)
      if (control) server.excludeSocket(req.socket)
    }
    if (!control) {
      for (const l of transport) l.call(http, req, res)
      return
    }
    if (path === CLOCK_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD', path)
      // drain whatever came with it, so the keep-alive connection stays usable
      req.resume()
      return send(res, 200, () => JSON.stringify({ receivedMs, sentMs: nowMs() }), req.method === 'HEAD')
    }
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST', path)
    serveRequest(req, res, handle).catch((err: Error) =>
      send(res, 500, () => errorBody('Internal Server Error', undefined, err.message)),
    )
  })
}

async function serveRequest(
  req: IncomingMessage,
  res: ServerResponse,
  handle: (m: ServerRequest) => Promise<ServerReply>,
): Promise<void> {
  const body = await readBody(req)
  if (body === undefined) {
    res.shouldKeepAlive = false
    return send(res, 413, () =>
      errorBody('Payload Too Large', 'body', `is over ${CONTROL_MAX_BODY_BYTES} bytes`),
    )
  }
  let m: ReadOnlyRequest
  try {
    m = parseControlRequest(body)
  } catch (err) {
    if (!(err instanceof ControlRequestError)) throw err
    const error = err.status === 403 ? 'Forbidden' : 'Bad Request'
    return send(res, err.status, () => errorBody(error, err.field, err.message))
  }
  // counters/mark with atMs wait here until that tick: no timer of the server's cuts an answer being
  // prepared (fastify's and the baselines' request and socket timeouts are 0; keep-alive's runs between
  // requests only), and the client gives it as long as the wait (load/remote-server.ts)
  const reply = await handle(m)
  send(res, reply.type === 'error' ? 500 : 200, () => JSON.stringify(reply))
}

/** The body as text; undefined when it is over CONTROL_MAX_BODY_BYTES (the rest is not read). */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (c: Buffer) => {
      if (over) return
      size += c.length
      if (size > CONTROL_MAX_BODY_BYTES) {
        over = true
        resolve(undefined)
        return
      }
      chunks.push(c)
    })
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks).toString('utf8'))
    })
    req.on('error', reject)
  })
}

function errorBody(error: string, field: string | undefined, message: string): string {
  const code =
    error === 'Forbidden' ? 'PB_ERR_FORBIDDEN' : error === 'Bad Request' ? 'PB_ERR_OPTION' : 'PB_ERR_CONTROL'
  // a 400 names the field in its message too, as the transports' 400s do (servers/app.ts)
  const text = field === undefined || error !== 'Bad Request' ? message : `${field}: ${message}`
  return JSON.stringify({ error, code, ...(field === undefined ? {} : { field }), message: text })
}

function methodNotAllowed(res: ServerResponse, allow: string, path: string): void {
  res.setHeader('allow', allow)
  send(res, 405, () => errorBody('Method Not Allowed', undefined, `${path} answers ${allow} only`))
}

/** `body` is made last, right before the write (the clock's t2). */
function send(res: ServerResponse, status: number, body: () => string, headOnly = false): void {
  if (res.writableEnded || res.destroyed) return
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.setHeader('cache-control', 'no-store')
  const text = body()
  res.setHeader('content-length', Buffer.byteLength(text))
  res.writeHead(status)
  res.end(headOnly ? undefined : text)
}

/** 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) or localhost: only this host can reach the port. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1')
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true
  return /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}
