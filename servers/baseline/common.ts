/** What the baseline transports share: their context, their shape, and how a node:http one listens and stops. */
import { createServer, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { SocketCounters, TransportStats } from '../counters.ts'
import { KEEP_ALIVE_TIMEOUT_MS } from '../http-settings.ts'
import { type ServerOptions, tlsServerOptions } from '../options.ts'
import type { Ticker } from '../ticker.ts'

/** A baseline serves the ticker workload only: it is the bare reference for the ticker's four transports. */
export interface BaselineContext {
  ticker: Ticker
  /** the transport's URL path (from the registry) */
  path: string
  options: Readonly<ServerOptions>
  stats: TransportStats
  sockets: SocketCounters
}

/** One baseline transport: a node:http server (bare, or under a bare fastify) that listens and stops. */
export interface BaselineTransport {
  readonly httpServer: Server
  listen(): Promise<void>
  /** Ends what is open the transport's way (bounded in time), stops listening, cuts what is left. */
  close(): Promise<void>
}

export type BaselineFactory = (ctx: BaselineContext) => BaselineTransport

export const CLOSE_GRACE_MS = 2000

/** A bare node:http server, or node:https with the options' key and certificate (then upgrades are wss). */
export function bareHttpServer(options: Readonly<ServerOptions>): Server {
  const tls = tlsServerOptions(options)
  const server: Server = tls ? createHttpsServer(tls) : createServer()
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS
  // open streams must not be cut by a request timer
  server.requestTimeout = 0
  server.timeout = 0
  return server
}

export function listenHttp(server: Server, options: Readonly<ServerOptions>): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: options.host, port: options.port, backlog: options.backlog }, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/** Stops listening and cuts every socket still open (streams were ended gracefully before). */
export function stopHttp(server: Server, sockets: SocketCounters): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
    for (const s of sockets.sockets()) s.destroy()
  })
}

/** Resolves when every promise has, or after `ms`, whichever comes first. */
export function settleWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  if (promises.length === 0) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    void Promise.all(promises).then(() => {
      clearTimeout(timer)
      resolve()
    })
  })
}

export function notFound(res: ServerResponse, path: string): void {
  const body = JSON.stringify({ error: 'Not Found', code: 'PB_ERR_NOT_FOUND', message: `no route ${path}` })
  res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}
