/**
 * Which web pages may use this server: one Origin rule for the HTTP transports (CORS headers, preflight)
 * and the WebSocket upgrade (which CORS does not cover). No `Origin`: not a browser's cross-origin request.
 * `Origin` equal to `http://` + Host (`https://` under TLS): same origin. Any other origin must be
 * in allowOrigin, or allowOrigin must hold `*`. A refused HTTP request is still answered as usual, only
 * without CORS headers: the browser then keeps the answer from the page, other clients see no change.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { allowHeader } from './app.ts'

/** A request from a page on another origin, and whether that origin may use this server. */
export interface CrossOrigin {
  origin: string
  allowed: boolean
}

/**
 * The request's cross origin; undefined when there is none (no `Origin`, or the server's own: `secure`
 * when it came over TLS, so the server's own pages are https).
 */
export function crossOrigin(
  headers: IncomingHttpHeaders,
  allow: readonly string[],
  secure = false,
): CrossOrigin | undefined {
  const origin = headers.origin
  const host = headers.host
  if (origin === undefined || (host !== undefined && origin === `${secure ? 'https' : 'http'}://${host}`))
    return undefined
  return { origin, allowed: allow.includes('*') || allow.includes(origin) }
}

/**
 * What an answer to an allowed cross origin carries: the origin echoed (never `*`, so one list can admit
 * several origins, hence `Vary`), and `pb-seq` and `pb-gap` exposed (a 204 carries the newest seq in
 * one, an answer after a resume older than the ring buffer its gap in the other).
 */
export function corsHeaders(origin: string): Record<string, string> {
  return {
    'access-control-allow-origin': origin,
    vary: 'Origin',
    'access-control-expose-headers': 'pb-seq, pb-gap',
  }
}

/** A preflight's answer beside corsHeaders: GET only, `Last-Event-ID` (an SSE resume) may be sent. */
export const PREFLIGHT_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'access-control-allow-methods': 'GET',
  'access-control-allow-headers': 'last-event-id',
  'access-control-max-age': '600',
})

/** The body of a 403 to a refused origin (a preflight, a WebSocket upgrade): says how to admit it. */
export function originRefusal(origin: string): {
  error: 'Forbidden'
  code: 'PB_ERR_ORIGIN'
  message: string
} {
  // a sandboxed or file: page sends `null`, which no list entry can name
  const fix = origin === 'null' ? "--allow-origin '*'" : `--allow-origin ${origin}`
  return {
    error: 'Forbidden',
    code: 'PB_ERR_ORIGIN',
    message: `origin ${origin} is not allowed; start the server with ${fix}`,
  }
}

/**
 * Applies the rule to every route of `app`, and answers preflights (`OPTIONS path`) when the transport
 * serves `GET path` (a WebSocket checks its upgrades itself). Call after the transport's routes are in.
 */
export function cors(app: FastifyInstance, path: string, allow: readonly string[]): void {
  // nothing to add when no cross origin is allowed: the measured hot path stays hook-free
  if (allow.length > 0) {
    app.addHook('onRequest', (req, reply, done) => {
      const cross = crossOrigin(req.headers, allow, req.protocol === 'https')
      // on the raw response: SSE writes its head itself after hijacking, and writeHead merges these
      if (cross?.allowed)
        for (const [k, v] of Object.entries(corsHeaders(cross.origin))) reply.raw.setHeader(k, v)
      done()
    })
  }
  if (!app.hasRoute({ method: 'GET', url: path })) return
  app.options(path, (req, reply) => {
    const cross = crossOrigin(req.headers, allow, req.protocol === 'https')
    if (cross === undefined) {
      reply.code(204).header('allow', allowHeader(app, path)).send()
    } else if (cross.allowed) {
      reply.code(204).headers(PREFLIGHT_HEADERS).send()
    } else {
      reply.code(403).send(originRefusal(cross.origin))
    }
  })
}
