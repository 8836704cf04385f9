/**
 * WebSocket (RFC 6455) with `ws` on the same HTTP server: upgrade on its path (`?since=SEQ` resumes at
 * connect), each update framed once and that frame written to every socket, ping/pong keep-alive,
 * `{"resume":SEQ}` from the client fills what this connection has not had, close 1001 on shutdown.
 * An upgrade from a page on an origin allowOrigin does not admit is refused (403, servers/cors.ts).
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import type { PbOptionError } from '../lib/errors.ts'
import { parseSeq, parseStream, type TransportPlugin } from './app.ts'
import { crossOrigin, originRefusal } from './cors.ts'
import type { Message } from './feed.ts'
import { wsTextFrame } from './frames.ts'
import { type PushSink, PushWriter } from './push-writer.ts'

const CLOSE_GRACE_MS = 2000

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

export const websocket: TransportPlugin = (app, { feed, stats, options, path }) => {
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
    maxPayload: options.maxClientMessageBytes,
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
      const resume = isBinary ? undefined : parseResume(data.toString())
      if (resume === undefined) {
        stats.errors++
        return
      }
      if (resume + 1 < s.floor) {
        writer.backlog(
          s,
          feed.since(stream, resume).filter((u) => u.seq < s.floor),
        )
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
    writer.backlog(s, feed.since(stream, since))
    if (s.open) writer.sinks.add(s)
  }

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
    let since: number
    try {
      stream = parseStream(url.searchParams.get('stream') ?? undefined, feed)
      since = parseSeq('since', url.searchParams.get('since') ?? undefined, feed.lastSeqOf(stream))
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
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, socket, stream, since))
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

/** `{"resume":SEQ}` -> SEQ; anything else -> undefined. */
export function parseResume(text: string): number | undefined {
  try {
    const m = JSON.parse(text) as { resume?: unknown }
    if (typeof m.resume === 'number' && Number.isInteger(m.resume) && m.resume >= 0) return m.resume
  } catch {}
  return undefined
}
