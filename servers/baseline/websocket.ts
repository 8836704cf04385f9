/**
 * Baseline WebSocket: a bare `ws` fan-out on node:http. Each update is framed once (frames.ts) and the
 * frame written straight to every socket by the write policy; `?since=` sends the backlog at connect.
 * No ping, no resume message: only the queue bound that keeps it safe.
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { PbOptionError } from '../../lib/errors.ts'
import { parseSeq } from '../app.ts'
import type { Message } from '../feed.ts'
import { wsTextFrame } from '../frames.ts'
import {
  type BaselineFactory,
  bareHttpServer,
  CLOSE_GRACE_MS,
  listenHttp,
  notFound,
  settleWithin,
  stopHttp,
} from './common.ts'

interface Conn {
  ws: WebSocket
  socket: Socket
}

const frame = (u: Message): Buffer => {
  if (u.framed === undefined) u.framed = wsTextFrame(u.json)
  return u.framed
}

const sinceOf = (req: IncomingMessage, lastSeq: number): number => {
  const q = req.url?.indexOf('?') ?? -1
  const raw = q < 0 ? undefined : (new URLSearchParams(req.url?.slice(q + 1)).get('since') ?? undefined)
  return parseSeq('since', raw, lastSeq)
}

export const baselineWebsocket: BaselineFactory = ({ ticker, path, options, stats, sockets }) => {
  if (options.perMessageDeflate) {
    throw new PbOptionError('perMessageDeflate', 'the baseline serves uncompressed frames only')
  }
  const max = options.maxBufferedBytes
  const perTick = options.writePolicy === 'per-tick'
  const conns = new Set<Conn>()
  const httpServer = bareHttpServer(options)
  httpServer.on('request', (req, res) => {
    stats.requests++
    stats.errors++
    notFound(res, req.url ?? '/')
  })
  const wss = new WebSocketServer({
    server: httpServer,
    path,
    perMessageDeflate: false,
    clientTracking: false,
    maxPayload: options.maxClientMessageBytes,
    verifyClient: (info, cb) => {
      stats.requests++
      try {
        sinceOf(info.req, ticker.lastSeq)
        cb(true)
      } catch (err) {
        stats.errors++
        cb(false, 400, (err as Error).message)
      }
    },
  })

  /** false when the connection is gone or was cut */
  const send = (c: Conn, buf: Buffer): boolean => {
    if (c.ws.readyState !== WebSocket.OPEN) return false
    c.socket.write(buf)
    if (c.socket.writableLength > max) {
      conns.delete(c)
      stats.slowConsumerDisconnects++
      c.ws.terminate()
      return false
    }
    return true
  }

  ticker.onPublish((_stream, updates) => {
    if (conns.size === 0) return
    if (perTick) {
      const buf = updates.length === 1 ? frame(updates[0] as Message) : Buffer.concat(updates.map(frame))
      for (const c of conns) send(c, buf)
    } else {
      const frames = updates.map(frame)
      for (const c of conns) for (const f of frames) if (!send(c, f)) break
    }
  })

  wss.on('connection', (ws, req) => {
    const c: Conn = { ws, socket: req.socket }
    stats.streams++
    ws.on('error', () => {
      stats.errors++
    })
    ws.once('close', () => {
      conns.delete(c)
      stats.streams--
    })
    const backlog = ticker.since(0, sinceOf(req, ticker.lastSeq))
    if (backlog.length > 0) {
      if (perTick) send(c, Buffer.concat(backlog.map(frame)))
      else for (const u of backlog) if (!send(c, frame(u))) break
    }
    if (ws.readyState === WebSocket.OPEN) conns.add(c)
  })

  return {
    httpServer,
    listen: () => listenHttp(httpServer, options),
    close: async () => {
      const closing: Promise<unknown>[] = []
      for (const c of conns) {
        closing.push(new Promise((resolve) => c.ws.once('close', resolve)))
        c.ws.close(1001, 'server shutdown')
      }
      conns.clear()
      await settleWithin(closing, CLOSE_GRACE_MS)
      wss.close()
      await stopHttp(httpServer, sockets)
    },
  }
}
