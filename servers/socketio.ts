/**
 * Socket.IO (socket.io 4, Engine.IO protocol 4) on the same HTTP server as fastify: one plugin serves
 * both rows, `socketio-ws` (Engine.IO's WebSocket transport only) and `socketio-poll` (its HTTP long
 * polling only), by the transport's name; the registry's path is Socket.IO's `path` option.
 *
 * A client names its stream and its resume point in the handshake's `auth`, `{"stream":N,"since":SEQ}`
 * (both optional: stream 0, from now). A bad value refuses the connection (a CONNECT_ERROR packet whose
 * message names the field, and `data.field`). An accepted client joins room `s<stream>`, gets what it
 * missed from the feed's ring (after a `gap` event `{"type":"gap","from":N,"first":M}` when the ring
 * has moved past its resume point), then every publish of its stream as `u` events.
 *
 * Serialise once: the update's JSON is never parsed. An event is emitted with RawJson arguments, and the
 * parser's Encoder (SocketIoParser below, passed as Socket.IO's public `parser` option) splices their bytes
 * into the packet: `2["u",{...}]`, `4` before it for Engine.IO, the very bytes the default encoder would
 * give for the parsed object, had the JSON been JSON.stringify's own (it is not: `px` and `ts` keep their
 * trailing zeros, `"px":123.40`, so a parse and re-encode would change the payload and its size). A room
 * broadcast is encoded once and, over WebSocket, framed once (socket.io-adapter's pre-encoded frame).
 *
 * Write policy: `per-tick` emits one `u` event per tick whose arguments are the tick's updates,
 * `42["u",{...},{...}]` (one packet, one WebSocket frame); `per-update` emits one event per update.
 * Engine.IO queues packets per socket (writeBuffer) while its transport is busy; past maxBufferedBytes of
 * queued bytes (writeBuffer + the socket's unsent bytes) the socket is cut and counted as a slow consumer.
 *
 * Chat (ctx.chat): `send` events with an acknowledgement, `socket.emit('send', msg, ack)`: the message goes
 * to the chat inbox as JSON, the ack carries `{seq, stream}` or a refusal `{error, field}`.
 * Heartbeats: Engine.IO's own ping (`2`) and pong (`3`), every pingIntervalMs (the suite's WebSocket ping
 * period; Socket.IO's own default is 25 s). Shutdown (preClose): every socket is disconnected (`41`, then
 * the transport closed), and a session that has not closed in 2 s is dropped; the polling row then ends
 * the HTTP connections its polls came on.
 */
import type { IncomingMessage } from 'node:http'
import type { Socket as NetSocket } from 'node:net'
import { type DefaultEventsMap, Server, type Socket } from 'socket.io'
import * as defaultParser from 'socket.io-parser'
import { PbOptionError } from '../lib/errors.ts'
import { gapOf, parseSeq, type TransportPlugin } from './app.ts'
import { crossOrigin, originRefusal } from './cors.ts'
import type { Message } from './feed.ts'

const CLOSE_GRACE_MS = 2000
/** a backlog is emitted in events of at most this many updates (an event's arguments are a JS array) */
const BACKLOG_CHUNK = 1000

/** JSON bytes that the encoder puts in a packet as they are (ASCII: the feed's messages are). */
export class RawJson {
  constructor(readonly text: string) {}
}

const EVENT = defaultParser.PacketType.EVENT

/**
 * socket.io-parser's Encoder, but an EVENT whose arguments are all RawJson is written by hand:
 * `2` + (namespace, if not `/`) + (ack id) + `["event",raw,raw,...]`. Anything else goes to the default.
 */
class RawEncoder extends defaultParser.Encoder {
  override encode(obj: defaultParser.Packet): (string | Buffer | ArrayBuffer)[] {
    const data = obj.data as unknown[] | undefined
    if (obj.type === EVENT && Array.isArray(data) && data.length > 1 && data[1] instanceof RawJson) {
      let s = `${EVENT}`
      if (obj.nsp && obj.nsp !== '/') s += `${obj.nsp},`
      if (obj.id !== undefined) s += obj.id
      s += `[${JSON.stringify(data[0])}`
      for (let i = 1; i < data.length; i++) s += `,${(data[i] as RawJson).text}`
      return [`${s}]`]
    }
    return super.encode(obj)
  }
}

/** The default parser with the RawJson encoder: what goes on the wire is the standard protocol. */
export const SocketIoParser = { ...defaultParser, Encoder: RawEncoder }

/** The handshake's `auth`, checked: `stream` in 0..streams-1, `since` 0..newest (absent: from now). */
export interface SocketIoAuth {
  stream: number
  since: number
}

/**
 * Checks `auth` (`{stream?, since?}`): throws PbOptionError naming `stream` or `since` (a resume past the
 * newest seq is PbResumeAheadError, as the other transports say it).
 */
export function parseAuth(
  auth: unknown,
  streams: number,
  lastSeqOf: (stream: number) => number,
): SocketIoAuth {
  const a = (typeof auth === 'object' && auth !== null ? auth : {}) as { stream?: unknown; since?: unknown }
  const int = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
  let stream = 0
  if (a.stream !== undefined) {
    if (!int(a.stream) || (a.stream as number) >= streams)
      throw new PbOptionError('stream', `must be an integer from 0 to ${streams - 1}, got ${shown(a.stream)}`)
    stream = a.stream as number
  }
  if (a.since !== undefined && a.since !== null && !int(a.since))
    throw new PbOptionError('since', `must be a non-negative integer seq, got ${shown(a.since)}`)
  const since = parseSeq('since', a.since == null ? undefined : String(a.since), lastSeqOf(stream))
  return { stream, since }
}

function shown(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 24 ? `${s.slice(0, 24)}...` : s
}

/** What the `send` acknowledgement carries. */
export type SendAck = { stream: number; seq: number } | { error: string; field?: string | undefined }

interface SioData {
  stream: number
  since: number
}
type SioSocket = Socket<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, SioData>

const rawOf = (u: Message): RawJson => new RawJson(u.json.toString('latin1'))

export const socketio: TransportPlugin = (app, { feed, stats, options, path, chat, sockets }) => {
  const ws = options.transport === 'socketio-ws'
  const allow = options.allowOrigin
  const io = new Server<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, SioData>(app.server, {
    path,
    transports: [ws ? 'websocket' : 'polling'],
    allowUpgrades: false,
    serveClient: false,
    parser: SocketIoParser,
    perMessageDeflate: options.perMessageDeflate,
    // no gzip of poll answers either, unless the run asks for compression
    httpCompression: options.perMessageDeflate ? { threshold: 1024 } : false,
    pingInterval: options.pingIntervalMs,
    maxHttpBufferSize: Math.max(options.maxClientMessageBytes, 1024),
    // the page's origin is checked like the other transports' (servers/cors.ts): for polling by the
    // cors middleware, for every request (the WebSocket upgrade included) by allowRequest
    ...(allow.length > 0 ? { cors: { origin: allow.includes('*') ? true : [...allow] } } : {}),
    allowRequest: (req: IncomingMessage, fn) => {
      const cross = crossOrigin(req.headers, allow, 'encrypted' in req.socket)
      if (cross && !cross.allowed) fn(originRefusal(cross.origin).message, false)
      else fn(null, true)
    },
  })
  const engine = io.engine
  // every HTTP request of a session (each poll, the WebSocket upgrade) answers with headers
  engine.on('headers', () => {
    stats.requests++
  })
  engine.on('connection_error', () => {
    stats.errors++
  })

  /** the sockets of each stream (the rooms hold ids; the bound check needs the sockets) */
  const members = Array.from({ length: feed.streams }, () => new Set<SioSocket>())
  const all = new Set<SioSocket>()
  const perTick = options.writePolicy === 'per-tick'

  /** Unsent bytes of one socket: its Engine.IO queue (estimated from `packetBytes`) and its TCP socket's. */
  const queued = (s: SioSocket, packetBytes: number): number => {
    const conn = s.conn as unknown as { writeBuffer: unknown[]; request: IncomingMessage }
    const raw = ws ? (conn.request.socket as NetSocket).writableLength : 0
    return conn.writeBuffer.length * packetBytes + raw
  }

  const cut = (s: SioSocket): void => {
    stats.slowConsumerDisconnects++
    members[s.data.stream]?.delete(s)
    // what is queued is never sent: the session is dropped now (discard), and over WebSocket its TCP
    // connection with it
    s.conn.close(true)
    if (ws) (s.conn.request.socket as NetSocket).destroy()
  }

  const bound = (stream: number, packetBytes: number): void => {
    for (const s of members[stream] as Set<SioSocket>) {
      if (queued(s, packetBytes) > options.maxBufferedBytes) cut(s)
    }
  }

  feed.onPublish((stream, messages) => {
    const set = members[stream]
    if (set === undefined || set.size === 0 || messages.length === 0) return
    const room = io.to(`s${stream}`)
    let bytes = 8
    if (perTick) {
      const args = messages.map(rawOf)
      room.emit('u', ...args)
      for (const u of messages) bytes += u.json.length + 1
    } else {
      for (const u of messages) {
        room.emit('u', rawOf(u))
        bytes = u.json.length + 8
      }
    }
    bound(stream, bytes)
  })

  const sendBacklog = (s: SioSocket, backlog: readonly Message[]): void => {
    if (backlog.length === 0) return
    if (perTick) {
      for (let i = 0; i < backlog.length; i += BACKLOG_CHUNK)
        s.emit('u', ...backlog.slice(i, i + BACKLOG_CHUNK).map(rawOf))
    } else for (const u of backlog) s.emit('u', rawOf(u))
  }

  // the handshake's auth, checked before the client is connected: a refusal is its CONNECT_ERROR
  io.use((socket, next) => {
    try {
      const a = parseAuth(socket.handshake.auth, feed.streams, (n) => feed.lastSeqOf(n))
      socket.data.stream = a.stream
      socket.data.since = a.since
      next()
    } catch (err) {
      if (!(err instanceof PbOptionError)) return next(err as Error)
      stats.errors++
      const e = new Error(err.message) as Error & { data: unknown }
      e.data = { field: err.field, code: err.code }
      next(e)
    }
  })

  io.on('connection', (socket) => {
    const { stream, since } = socket.data
    all.add(socket)
    stats.streams++
    socket.on('error', () => {
      stats.errors++
    })
    socket.once('disconnect', () => {
      all.delete(socket)
      members[stream]?.delete(socket)
      stats.streams--
    })
    if (chat) {
      socket.on('send', (msg: unknown, ack?: unknown) => {
        let answer: SendAck
        try {
          answer = chat.accept(Buffer.from(JSON.stringify(msg ?? null)))
        } catch (err) {
          stats.errors++
          answer = { error: (err as Error).message, field: (err as PbOptionError).field }
        }
        if (typeof ack === 'function') ack(answer)
      })
    }
    const backlog = feed.since(stream, since)
    const gap = gapOf(since, backlog[0]?.seq)
    if (gap) socket.emit('gap', { type: 'gap', from: gap.from, first: gap.first })
    sendBacklog(socket, backlog)
    socket.join(`s${stream}`)
    members[stream]?.add(socket)
    bound(stream, backlog.length > 0 ? (backlog[0] as Message).json.length + 8 : 0)
  })

  // every Engine.IO session, connected to the namespace or not yet
  const sessions = new Set<SioSocket['conn']>()
  engine.on('connection', (conn: SioSocket['conn']) => {
    sessions.add(conn)
    conn.once('close', () => {
      sessions.delete(conn)
      runPendingClose(conn)
    })
  })

  /**
   * engine.io's polling transport, asked to close with no poll held, waits for the next poll under a 30 s
   * timer; a close by another way (the client's close packet, a drop) leaves that timer running, and a
   * second close() returns early (the transport is already closing). Running its pending close clears
   * the timer and closes the session now; false when there is none.
   */
  const runPendingClose = (conn: SioSocket['conn']): boolean => {
    const t = conn.transport as { shouldClose?: (() => void) | null }
    const pending = t.shouldClose
    if (typeof pending !== 'function') return false
    t.shouldClose = null
    pending()
    return true
  }

  app.addHook('preClose', (done) => {
    let finished = false
    const finish = (): void => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      clearInterval(check)
      // a session still open did not take its close in time: dropped (its timers go with it)
      for (const conn of [...sessions]) if (!runPendingClose(conn)) conn.close(true)
      engine.close()
      // long polling: the keep-alive connections the polls came on are left; node:http would wait for
      // any with a request still open (a poll of a client that went away): each ends once written
      if (!ws) for (const raw of sockets.sockets()) raw.writableLength === 0 ? raw.destroy() : raw.end()
      done()
    }
    const timer = setTimeout(finish, CLOSE_GRACE_MS)
    const check = setInterval(() => {
      if (sessions.size === 0) finish()
    }, 20)
    // long polling: a session with no poll held has nobody to tell (a client gone, or one between two
    // polls, whose next poll then gets 400): dropped at once; engine.io's orderly close would wait 30 s
    // for its next poll, and keep a timer that long past a later drop
    if (!ws)
      for (const conn of [...sessions])
        if (!(conn.transport as { writable?: boolean }).writable) conn.close(true)
    // `41` to each client, then its transport closed (a WebSocket's close handshake, a poll's answer)
    for (const s of [...all]) s.disconnect(true)
    if (sessions.size === 0) finish()
  })
}
