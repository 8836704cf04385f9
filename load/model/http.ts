/**
 * The byte model's shared pieces: what one HTTP/1.1 poll costs on the wire (the undici request head,
 * fastify's answer heads) and the arithmetic of seq digits. Each transport's model (load/model/*.ts) is
 * built from these and from servers/frames.ts, so what is modelled is what is shipped.
 */
import { KEEP_ALIVE_TIMEOUT_MS } from '../../servers/http-settings.ts'

/** `Date: Wed, 25 Nov 2026 06:23:51 GMT` is always 29 characters. */
const DATE = 'Wed, 25 Nov 2026 06:23:51 GMT'
const KEEP_ALIVE = `Connection: keep-alive\r\nKeep-Alive: timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}\r\n\r\n`

/** What the poll clients (undici, load/clients/http-get.ts) send for one poll on their keep-alive connection. */
export function pollRequestHead(path: string, host: string, port: number): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: keep-alive\r\n\r\n`
}

/** What the fastify server answers with, head only. */
export function pollResponseHead(contentLength: number): string {
  return `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${contentLength}\r\nDate: ${DATE}\r\n${KEEP_ALIVE}`
}

export function noContentHead(lastSeq: number): string {
  return `HTTP/1.1 204 No Content\r\npb-seq: ${lastSeq}\r\nDate: ${DATE}\r\n${KEEP_ALIVE}`
}

/** JSON array of k updates of P bytes: k*P + (k-1) commas + 2 brackets. */
export const pollBodyLength = (k: number, payloadBytes: number): number =>
  k * payloadBytes + Math.max(0, k - 1) + 2

/** Mean number of decimal digits of the integers in [from, to] (from >= 0), exactly. */
export function meanDigits(from: number, to: number): number {
  if (to < from) return String(Math.max(1, from)).length
  // 0 is one digit; the loop counts from 1
  let sum = from <= 0 ? 1 : 0
  for (let d = 1, lo = 1; lo <= to; d++, lo *= 10) {
    const a = Math.max(from, lo)
    const b = Math.min(to, lo * 10 - 1)
    if (b >= a) sum += (b - a + 1) * d
  }
  return sum / (to - from + 1)
}
