/**
 * WebSocket (RFC 6455) with `ws` on the same HTTP server: upgrade on its path (`?since=SEQ` resumes at
 * connect), each update framed once and that frame written to every socket, ping/pong keep-alive,
 * `{"resume":SEQ}` from the client fills what this connection has not had, close 1001 on shutdown.
 * An upgrade from a page on an origin allowOrigin does not admit is refused (403, servers/cors.ts).
 * A resume older than the ring buffer gets a `{"type":"gap",...}` text message before the updates still
 * held. A bad resume (malformed, or past the newest seq), at connect or in a message, is answered with
 * close 1008 and a reason naming the field: a page's WebSocket can read a close reason, not the status
 * of a refused handshake. A binary message closes with 1003. A plain GET on the path (no upgrade) gets
 * 426 with `Upgrade: websocket`; an upgrade with another method than GET, 405 with `Allow`.
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { PbOptionError } from '../lib/errors.ts'
import { allowHeader, type Gap, gapOf, parseSeq, parseStream, type TransportPlugin } from './app.ts'
import { maxChatBodyBytes } from './chat.ts'
import { crossOrigin, originRefusal } from './cors.ts'
import type { Message } from './feed.ts'
import { gapJson, wsTextFrame } from './frames.ts'
import { type PushSink, PushWriter } from './push-writer.ts'

const CLOSE_GRACE_MS = 2000
/** RFC 6455 7.4.1: the client's resume was refused (policy violation); its message was binary (unsupported data) */
export const CLOSE_BAD_RESUME = 1008
export const CLOSE_BINARY = 1003

class WsSink implements PushSink {
  alive = true
  constructor(
    readonly ws: WebSocket,
    readonly socket: Socket,
    /** the stream this connection is on */
    readonly stream: number,
    /** lowest seq this connection has been sent (or will be, live): a resume fills below it */
    public floor: number,
  ) {}
  /** The precomputed frame goes to the socket as is; ws's own sender is used for control frames only. */
  write(buf: Buffer): void {
    this.socket.write(buf)
  }
  get buffered(): number {
    return this.socket.writableLength
  }
  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }
  destroy(): void {
    this.ws.terminate()
  }
}

/** With permessage-deflate each socket compresses with its own context: the frame cannot be shared. */
class DeflateSink extends WsSink {
  override write(buf: Buffer): void {
    this.ws.send(buf, { binary: false })
  }
  override get buffered(): number {
    return this.ws.bufferedAmount + this.socket.writableLength
  }
}

const frame = (u: Message): Buffer => {
  if (u.framed === undefined) u.framed = wsTextFrame(u.json)
  return u.framed
}

function rejectUpgrade(socket: Socket, status: number, reason: string, body: string, extra = ''): void {
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n${extra}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}

/** A client message that is a chat message (an object with `room`) rather than `{"resume":SEQ}`. */
const ROOM_KEY = Buffer.from('"room"', 'latin1')

/** The answer to a chat message the inbox refused: the connection stays open. */
export function refusedJson(field: string, message: string): string {
  return JSON.stringify({ type: 'refused', field, message })
}

export const websocket: TransportPlugin = (app, { feed, stats, options, path, chat }) => {
  const deflate = options.perMessageDeflate
  // deflating, ws frames and compresses one message per update per socket: hand it the JSON, one write each
  const writers = Array.from(
    { length: feed.streams },
    () =>
      new PushWriter<WsSink>(
        deflate ? 'per-update' : options.writePolicy,
        options.maxBufferedBytes,
        stats,
        deflate ? (u) => u.json : frame,
      ),
  )
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: deflate,
    // a chat message carries the payload: up to servers/chat.ts's bound
    maxPayload: chat
      ? Math.max(options.maxClientMessageBytes, maxChatBodyBytes(options.payloadBytes))
      : options.maxClientMessageBytes,
  })
  const all = new Set<WsSink>()

  feed.onPublish((stream, messages) => writers[stream]?.publish(messages))

  const ping = setInterval(() => {
    for (const s of all) {
      if (!s.alive) {
        s.ws.terminate()
        continue
      }
      s.alive = false
      s.ws.ping()
    }
  }, options.pingIntervalMs)
  ping.unref()

  // the gap message as this connection's writes take it: a whole frame, or the text ws frames and deflates
  const gapBytes = (g: Gap): Buffer => {
    const json = Buffer.from(gapJson(g.from, g.first), 'latin1')
    return deflate ? json : wsTextFrame(json)
  }

  /** Closes a connection whose resume is refused; a peer that does not answer the close is cut. */
  const refuse = (ws: WebSocket, code: number, reason: string): void => {
    stats.errors++
    ws.on('error', () => {})
    ws.close(code, closeReason(reason))
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref()
  }

  const onConnection = (ws: WebSocket, socket: Socket, stream: number, since: number): void => {
    const Sink = deflate ? DeflateSink : WsSink
    const s = new Sink(ws, socket, stream, since + 1)
    const writer = writers[stream] as PushWriter<WsSink>
    all.add(s)
    stats.streams++
    ws.on('pong', () => {
      s.alive = true
    })
    ws.on('message', (data, isBinary) => {
      if (isBinary) return refuse(ws, CLOSE_BINARY, 'binary message: send text {"resume":SEQ}')
      // the chat's upstream on this connection: the inbox publishes it to the room (this socket included,
      // when it is a member); a refusal is a text message naming the field, and the connection stays
      const buf = data as Buffer
      if (chat && buf.indexOf(ROOM_KEY) >= 0) {
        try {
          chat.accept(buf)
        } catch (err) {
          if (!(err instanceof PbOptionError)) throw err
          stats.errors++
          const json = Buffer.from(refusedJson(err.field, err.message), 'utf8')
          writer.deliver(s, deflate ? json : wsTextFrame(json))
        }
        return
      }
      let resume: number
      try {
        resume = parseResume(data.toString(), feed.lastSeqOf(stream))
      } catch (err) {
        return refuse(ws, CLOSE_BAD_RESUME, (err as Error).message)
      }
      if (resume + 1 < s.floor) {
        const held = feed.since(stream, resume).filter((u) => u.seq < s.floor)
        // what follows the resume point on this connection: the oldest held, else what it already had
        const gap = gapOf(resume, held[0]?.seq ?? s.floor)
        if (gap) writer.deliver(s, gapBytes(gap))
        writer.backlog(s, held)
        s.floor = resume + 1
      }
    })
    ws.on('error', () => {
      stats.errors++
    })
    ws.once('close', () => {
      all.delete(s)
      writer.sinks.delete(s)
      stats.streams--
    })
    const backlog = feed.since(stream, since)
    const gap = gapOf(since, backlog[0]?.seq)
    if (gap) writer.deliver(s, gapBytes(gap))
    writer.backlog(s, backlog)
    if (s.open) writer.sinks.add(s)
  }

  // a plain GET (no upgrade) on the path: the client must upgrade (RFC 9110 15.5.22)
  app.get(path, { exposeHeadRoute: false }, (_req, reply) => {
    reply
      .code(426)
      .header('upgrade', 'websocket')
      .header('connection', 'Upgrade')
      .header('sec-websocket-version', '13')
      .send({
        error: 'Upgrade Required',
        code: 'PB_ERR_UPGRADE',
        message: `${path} is a WebSocket: send GET with Upgrade: websocket and Connection: Upgrade`,
      })
  })

  app.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    stats.requests++
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname !== path) {
      stats.errors++
      rejectUpgrade(
        socket,
        404,
        'Not Found',
        JSON.stringify({ error: 'Not Found', message: `no WebSocket at ${url.pathname}` }),
      )
      return
    }
    if (req.method !== 'GET') {
      stats.errors++
      const allow = allowHeader(app, path)
      rejectUpgrade(
        socket,
        405,
        'Method Not Allowed',
        JSON.stringify({
          error: 'Method Not Allowed',
          code: 'PB_ERR_METHOD',
          message: `a WebSocket upgrade is a GET, not ${req.method}`,
        }),
        `Allow: ${allow}\r\n`,
      )
      return
    }
    // CORS does not guard an upgrade: any site its user visits could open this socket from the
    // browser (cross-site WebSocket hijacking) unless the page's origin is checked here
    const cross = crossOrigin(req.headers, options.allowOrigin, 'encrypted' in socket)
    if (cross && !cross.allowed) {
      stats.errors++
      rejectUpgrade(socket, 403, 'Forbidden', JSON.stringify(originRefusal(cross.origin)))
      return
    }
    // RFC 6455 4.2.2: a version the server does not speak gets 426 naming the one it does
    // (ws on its own also accepts 8, the pre-RFC hybi-08 draft)
    const version = req.headers['sec-websocket-version']
    if (version !== undefined && version !== '13') {
      stats.errors++
      rejectUpgrade(
        socket,
        426,
        'Upgrade Required',
        JSON.stringify({
          error: 'Upgrade Required',
          message: `Sec-WebSocket-Version must be 13, got ${version}`,
        }),
        'Sec-WebSocket-Version: 13\r\n',
      )
      return
    }
    let stream: number
    try {
      stream = parseStream(url.searchParams.get('stream') ?? undefined, feed)
    } catch (err) {
      stats.errors++
      const e = err as PbOptionError
      rejectUpgrade(
        socket,
        400,
        'Bad Request',
        JSON.stringify({ error: 'Bad Request', field: e.field, message: e.message }),
      )
      return
    }
    // a bad since is refused after the handshake, with close 1008 and its reason (see the top)
    let since: number | PbOptionError
    try {
      since = parseSeq('since', url.searchParams.get('since') ?? undefined, feed.lastSeqOf(stream))
    } catch (err) {
      if (!(err instanceof PbOptionError)) throw err
      since = err
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (typeof since === 'number') onConnection(ws, socket, stream, since)
      else refuse(ws, CLOSE_BAD_RESUME, since.message)
    })
  })

  app.addHook('preClose', (done) => {
    clearInterval(ping)
    if (all.size === 0) return done()
    const timer = setTimeout(() => {
      for (const s of all) s.ws.terminate()
    }, CLOSE_GRACE_MS)
    let open = all.size
    for (const s of all) {
      s.ws.once('close', () => {
        if (--open === 0) {
          clearTimeout(timer)
          done()
        }
      })
      s.ws.close(1001, 'server shutdown')
    }
  })
}

/**
 * `{"resume":SEQ}` -> SEQ, for a SEQ from 0 to `lastSeq`. Throws (PbOptionError, naming `resume`) for
 * anything else: not that JSON object, a SEQ that is not a non-negative integer, or one past the newest.
 */
export function parseResume(text: string, lastSeq: number): number {
  let m: unknown
  try {
    m = JSON.parse(text)
  } catch {}
  if (typeof m !== 'object' || m === null || !('resume' in m))
    throw new PbOptionError('resume', 'a client message must be {"resume":SEQ}')
  const seq = (m as { resume: unknown }).resume
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    const shown = JSON.stringify(seq ?? null)
    throw new PbOptionError(
      'resume',
      `must be a non-negative integer seq, got ${shown.length > 24 ? `${shown.slice(0, 24)}...` : shown}`,
    )
  }
  // the same words as an HTTP resume past the newest (servers/app.ts)
  parseSeq('resume', String(seq), lastSeq)
  return seq
}

/** A close reason: at most 123 bytes (RFC 6455 5.5), ASCII so that a cut never splits a character. */
export function closeReason(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, '?')
  return ascii.length > 123 ? `${ascii.slice(0, 120)}...` : ascii
}
