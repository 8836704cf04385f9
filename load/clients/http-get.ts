/** A GET on a client's own keep-alive connection, whole body collected, receive instant taken at the last byte. */
import http from 'node:http'
import { nowMs } from '../../lib/clock.ts'
import type { ClientSockets } from './common.ts'

export interface GetResult {
  status: number
  body: string
  /** `pb-seq` header of a 204: the newest seq */
  pbSeq: number | undefined
  receivedMs: number
}

/** One keep-alive connection per client: maxSockets 1. */
export function clientAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 1, scheduling: 'lifo' })
}

export function get(
  base: URL,
  path: string,
  agent: http.Agent,
  sockets: ClientSockets,
  onSocket?: () => void,
): Promise<GetResult> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: base.hostname, port: base.port, path, agent }, (res) => {
      const chunks: string[] = []
      res.setEncoding('latin1')
      res.on('data', (c: string) => chunks.push(c))
      res.once('end', () => {
        const receivedMs = nowMs()
        const h = res.headers['pb-seq']
        resolve({
          status: res.statusCode ?? 0,
          body: chunks.length === 1 ? (chunks[0] as string) : chunks.join(''),
          pbSeq: typeof h === 'string' ? Number(h) : undefined,
          receivedMs,
        })
      })
      res.once('error', reject)
    })
    req.once('socket', (s) => {
      sockets.track(s)
      if (onSocket) {
        if (s.connecting) s.once('connect', onSocket)
        else onSocket()
      }
    })
    req.once('error', reject)
  })
}

/** Accounts every update of a poll answer (a JSON array of updates). */
export function parseBatch(body: string): { seq: number; ts: number }[] {
  return JSON.parse(body) as { seq: number; ts: number }[]
}
