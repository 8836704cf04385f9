/**
 * The chat workload's part of the byte model. A delivered message costs the transport's downstream (its
 * own model, load/model/*.ts, for a published message of payloadBytes) plus its share of the upstream:
 * what sending it cost, spread over the recipients it reached (the members of its room, the sender
 * included), i.e. upstream per sent message / recipientsPerMessage. Upstream per sent message:
 *   - `post` transports: the POST /send request (head + body) and its 204 answer, on a keep-alive
 *     connection (load/chat/post-sender.ts writes exactly chatPostHead; fastify answers chatSendAnswerHead);
 *   - `connection` (WebSocket): the masked text frame of the body, and nothing back.
 * The seq digits in `pb-seq` are those of the room's seqs in the window (ctx.seqFrom .. seqTo, of one room).
 */
import type { ScenarioParams } from '../../lib/params.ts'
import { KEEP_ALIVE_TIMEOUT_MS } from '../../servers/http-settings.ts'
import { chatBodyLength } from '../chat/message.ts'
import { meanDigits } from './http.ts'
import { type ModelBytes, type ModelContext, modelResult } from './types.ts'

const DATE = 'Wed, 25 Nov 2026 06:23:51 GMT'

/** What load/chat/post-sender.ts writes before the body of one message (the library client's undici sends as many bytes, give or take its header case). */
export function chatPostHead(host: string, port: number, contentLength: number): string {
  return `POST /send HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n\r\n`
}

/** fastify's answer to an accepted message (servers/chat-send.ts). */
export function chatSendAnswerHead(seq: number | string, room: number | string): string {
  return `HTTP/1.1 204 No Content\r\npb-seq: ${seq}\r\npb-stream: ${room}\r\nDate: ${DATE}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}\r\n\r\n`
}

/** A client's masked frame header for a payload of n bytes (RFC 6455: 2, 4 or 10 + a 4-byte mask key). */
export const maskedHeaderLength = (n: number): number => (n < 126 ? 6 : n <= 0xffff ? 8 : 14)

export interface ChatUpstream {
  /** client to server, per sent message */
  clientToServer: number
  /** server to client, per sent message (the 204) */
  serverToClient: number
}

/**
 * A transport's upstream per sent message (lib/transports.ts `chatUpstream`), given the model's context
 * (the window's seqs of one room). Registration fills in `chatUpstreamBy(upstream)` where an entry frames
 * its sends as a POST /send or a bare WebSocket text frame; Socket.IO's events and acks have their own.
 */
export type ChatUpstreamModel = (p: ScenarioParams, ctx: ModelContext) => ChatUpstream

/** Upstream bytes of one sent message, both ways. */
export function chatUpstreamPerSent(
  p: ScenarioParams,
  upstream: 'post' | 'connection',
  ctx: { host: string; port: number; seqFrom: number; seqTo: number },
): ChatUpstream {
  const body = chatBodyLength(p.payloadBytes, ctx.seqTo)
  if (upstream === 'connection') return { clientToServer: maskedHeaderLength(body) + body, serverToClient: 0 }
  const seqDigits = meanDigits(ctx.seqFrom, ctx.seqTo)
  return {
    clientToServer: chatPostHead(ctx.host, ctx.port, body).length + body,
    // pb-seq: 1 digit in the template, the window's mean beyond it; pb-stream: 1 digit, the least a room has
    serverToClient: chatSendAnswerHead(1, 0).length + (seqDigits - 1),
  }
}

/** Recipients of a message: the members of its room (clients spread i % rooms), the sender included. */
export const recipientsPerMessage = (p: Pick<ScenarioParams, 'clients' | 'rooms'>): number =>
  p.clients / Math.min(p.clients, p.rooms)

/** The transport's downstream model plus the upstream per sent message over the recipients. */
export function chatModel(down: ModelBytes, up: ChatUpstream, recipients: number): ModelBytes {
  const r = Math.max(1, recipients)
  return modelResult(down.clientToServer + up.clientToServer / r, down.serverToClient + up.serverToClient / r)
}

/** The upstream model of an entry that frames its sends as `upstream` says (chatUpstreamPerSent). */
export const chatUpstreamBy =
  (upstream: 'post' | 'connection'): ChatUpstreamModel =>
  (p, ctx) =>
    chatUpstreamPerSent(p, upstream, ctx)
