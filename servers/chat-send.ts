/**
 * `POST /send`: the chat workload's upstream for every transport whose client does not send on its own
 * connection (lib/transports.ts `upstream: 'post'`), registered on every server of the chat workload
 * whatever its transport, on a path of its own (the HTTP/2 rows POST to it on their own session). The body
 * is taken raw (no JSON parse and reserialise here: servers/chat.ts checks it once and publishes its
 * bytes). 204 with `pb-seq: S` (the seq the message got in its room) and `pb-stream: R` (the room); a bad
 * body is a 400 naming the field (the app's error handler); a body past maxChatBodyBytes, 413.
 */
import type { FastifyInstance } from 'fastify'
import { maxChatBodyBytes } from './chat.ts'
import type { ChatInbox } from './chat-inbox.ts'
import type { TransportStats } from './counters.ts'

export const CHAT_SEND_PATH = '/send'

export function chatSend(
  app: FastifyInstance,
  inbox: ChatInbox,
  stats: TransportStats,
  payloadBytes: number,
): void {
  app.register(async (scope) => {
    // scoped: only this route takes its body raw, whatever its content-type says
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
    scope.post(CHAT_SEND_PATH, { bodyLimit: maxChatBodyBytes(payloadBytes) }, (req, reply) => {
      stats.requests++
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
      const { stream, seq } = inbox.accept(body)
      reply.code(204).header('pb-seq', seq).header('pb-stream', stream).send()
    })
  })
}
