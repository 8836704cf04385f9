/**
 * Socket.IO (servers/socketio.ts): an update is Socket.IO EVENT packet `2["u",JSON]` inside an Engine.IO
 * MESSAGE packet `4...`, so `42["u",` + JSON + `]` (8 bytes around the JSON). `per-tick` puts a tick's k
 * updates in one event, `42["u",{...},{...}]` (7 + k·(P+1) bytes); `per-update` sends k events.
 *
 * - WebSocket row: one unmasked text frame per packet (servers/frames.ts header lengths).
 * - Long-polling row: one held GET answered per tick (the answer's packets joined by `\x1e`), the request
 *   that asked for it, both heads as socket.io-client (xmlhttprequest-ssl) and engine.io write them.
 *
 * Lower bounds, like the other models: connection set-up (the handshake, the CONNECT packets) and the
 * heartbeats are left out; socketIoHeartbeatBytes gives the heartbeats' cost.
 */
import type { ScenarioParams } from '../../lib/params.ts'
import { wsFrameHeaderLength } from '../../servers/frames.ts'
import { KEEP_ALIVE_TIMEOUT_MS } from '../../servers/http-settings.ts'
import { chatBodyLength } from '../chat/message.ts'
import { type ChatUpstreamModel, maskedHeaderLength } from './chat.ts'
import { meanDigits } from './http.ts'
import { type ByteModel, type ModelContext, modelResult } from './types.ts'

/** `42["u",` before the updates of an event, `]` after them. */
export const EVENT_HEAD = '42["u",'
export const EVENT_TAIL = ']'

/** Bytes of one `u` packet (Engine.IO type included) carrying `k` updates of `payloadBytes`. */
export function eventPacketBytes(k: number, payloadBytes: number): number {
  return EVENT_HEAD.length + k * payloadBytes + (k - 1) + EVENT_TAIL.length
}

/** Packets and updates per packet in one tick of `k` updates, by write policy. */
function packets(k: number, policy: string): { n: number; each: number } {
  return policy === 'per-update' ? { n: k, each: 1 } : { n: 1, each: k }
}

export const socketIoWsModel: ByteModel = (p) => {
  const k = p.updatesPerTick
  const { n, each } = packets(k, p.writePolicy)
  const packet = eventPacketBytes(each, p.payloadBytes)
  return modelResult(0, (n * (wsFrameHeaderLength(packet) + packet)) / k)
}

/** `Date: ...` is always 29 characters (load/model/http.ts). */
const DATE = 'Wed, 25 Nov 2026 06:23:51 GMT'
/** An Engine.IO session id: 20 characters of base64url. */
export const SID_SAMPLE = 'AAAAAAAAAAAAAAAAAAAA'
/** engine.io-client's cache-buster `t=`: Date.now() in base 36 less its first 3 digits, and 3 random ones. */
export const T_SAMPLE = 'AAAAAAAA'

/**
 * One request as socket.io-client writes it in Node (engine.io-client's XHR, xmlhttprequest-ssl, on the
 * client's keep-alive agent), with its cache-buster `t` and the session `sid` (none on the handshake):
 * a GET polls, a POST (`contentLength` of its body) sends (a CONNECT, a pong, a chat message). The lean
 * client writes these very bytes.
 */
export function socketIoPollRequest(
  path: string,
  host: string,
  port: number,
  o: { t: string; sid?: string | undefined; contentLength?: number | undefined },
): string {
  const post = o.contentLength !== undefined
  const sid = o.sid === undefined ? '' : `&sid=${o.sid}`
  const line = `${post ? 'POST' : 'GET'} ${path}?EIO=4&transport=polling&t=${o.t}${sid} HTTP/1.1\r\n`
  const type = post ? 'Content-type: text/plain;charset=UTF-8\r\n' : ''
  const length = post ? `Content-Length: ${o.contentLength}\r\n` : ''
  return `${line}User-Agent: node-XMLHttpRequest\r\nAccept: */*\r\n${type}Host: ${host}:${port}\r\n${length}Connection: keep-alive\r\n\r\n`
}

/** A poll (or a POST) of an open session, with sample `t` and `sid` of their fixed lengths. */
export function socketIoPollRequestHead(
  path: string,
  host: string,
  port: number,
  post?: { contentLength: number },
): string {
  return socketIoPollRequest(path, host, port, {
    t: T_SAMPLE,
    sid: SID_SAMPLE,
    contentLength: post?.contentLength,
  })
}

/** engine.io-client's `t=`: Date.now() in base 36 less its first 3 digits, then 3 random base-36 digits. */
export function cacheBuster(): string {
  return Date.now().toString(36).substring(3) + Math.random().toString(36).substring(2, 5)
}

/** engine.io's answer, head only: a poll's packets (text/plain), or `ok` to a POST (text/html). */
export function socketIoPollResponseHead(
  contentLength: number,
  contentType = 'text/plain; charset=UTF-8',
): string {
  return (
    `HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\nContent-Length: ${contentLength}\r\n` +
    `cache-control: no-store\r\nDate: ${DATE}\r\nConnection: keep-alive\r\n` +
    `Keep-Alive: timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}\r\n\r\n`
  )
}

export const socketIoPollModel: ByteModel = (p, ctx) => {
  const k = p.updatesPerTick
  const { n, each } = packets(k, p.writePolicy)
  // one answer per tick: its packets joined by the record separator
  const body = n * eventPacketBytes(each, p.payloadBytes) + (n - 1)
  const up = socketIoPollRequestHead(ctx.path, ctx.host, ctx.port).length / k
  const down = (socketIoPollResponseHead(body).length + body) / k
  return modelResult(up, down)
}

/**
 * What one client's heartbeat costs, per ping interval (pingIntervalMs; Socket.IO's default is 25 s):
 * over WebSocket the server's ping `2` (a 3-byte frame) and the client's pong `3` (a 7-byte masked frame);
 * over long polling the ping answers the held poll (`2`), the client asks again, and its pong is a POST
 * of `3` answered `ok`: two requests and two answers.
 */
export function socketIoHeartbeatBytes(
  row: 'ws' | 'poll',
  path = '',
  host = '',
  port = 0,
): { clientToServer: number; serverToClient: number } {
  if (row === 'ws') return { clientToServer: 2 + 4 + 1, serverToClient: 2 + 1 }
  return {
    clientToServer:
      socketIoPollRequestHead(path, host, port).length +
      socketIoPollRequestHead(path, host, port, { contentLength: 1 }).length +
      1,
    serverToClient:
      socketIoPollResponseHead(1).length + 1 + socketIoPollResponseHead(2, 'text/html').length + 2,
  }
}

/**
 * Chat over Socket.IO (servers/socketio.ts): a sent message is the event `42ID["send",BODY]` and its
 * acknowledgement comes back as `43ID[{"stream":R,"seq":S}]`. ID is the client's ack counter (from 0, one a
 * send: its digits over the sends of the window), R the room (its digits over the rooms), S the seq the
 * message got (the window's seqs of one room). Packet lengths, Engine.IO type included.
 */
function chatPackets(p: ScenarioParams, ctx: ModelContext): { send: number; ack: number } {
  const body = chatBodyLength(p.payloadBytes, ctx.seqTo)
  const idFrom = Math.floor(p.sendHz * p.warmupS)
  const id = meanDigits(idFrom, Math.max(idFrom, Math.ceil(p.sendHz * (p.warmupS + p.durationS)) - 1))
  const room = meanDigits(0, Math.max(0, Math.min(p.clients, p.rooms) - 1))
  const seq = meanDigits(ctx.seqFrom, ctx.seqTo)
  return {
    send: 2 + id + '["send",'.length + body + ']'.length,
    ack: 2 + id + '[{"stream":'.length + room + ',"seq":'.length + seq + '}]'.length,
  }
}

/** Over the WebSocket row: the event in one masked frame up, the ack in one frame down. */
export const socketIoWsChatUpstream: ChatUpstreamModel = (p, ctx) => {
  const { send, ack } = chatPackets(p, ctx)
  return {
    clientToServer: maskedHeaderLength(send) + send,
    serverToClient: wsFrameHeaderLength(ack) + ack,
  }
}

/**
 * Over the long-polling row: the event is a POST (its own connection, as socket.io-client's agent holds a
 * second one) answered `ok`; the ack goes down in a poll's answer, counted at the least, joined to other
 * packets by the record separator. When it waits for a poll of its own (the sender's held poll was just
 * answered with the message itself, so the ack finds none held), that poll's request and answer head are
 * on top: measured minus model shows them.
 */
export const socketIoPollChatUpstream: ChatUpstreamModel = (p, ctx) => {
  const { send, ack } = chatPackets(p, ctx)
  return {
    clientToServer:
      socketIoPollRequestHead(ctx.path, ctx.host, ctx.port, { contentLength: send }).length + send,
    serverToClient: socketIoPollResponseHead(2, 'text/html').length + 2 + 1 + ack,
  }
}
