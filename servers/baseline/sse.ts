/**
 * Baseline SSE: a bare node:http fan-out. `GET /sse` (`Last-Event-ID`, or `?lastEventId=`), each
 * update's event built once (frames.ts) and written with `res.write` by the write policy.
 * No heartbeat: only the queue bound that keeps it safe.
 */
import type { ServerResponse } from 'node:http'
import type { PbOptionError } from '../../lib/errors.ts'
import { parseSeq } from '../app.ts'
import type { Message } from '../feed.ts'
import { sseEvent } from '../frames.ts'
import {
  type BaselineFactory,
  bareHttpServer,
  CLOSE_GRACE_MS,
  listenHttp,
  notFound,
  settleWithin,
  stopHttp,
} from './common.ts'

const frame = (u: Message): Buffer => {
  if (u.framed === undefined) u.framed = sseEvent(u.seq, u.json)
  return u.framed
}

export const baselineSse: BaselineFactory = ({ ticker, path: ssePath, options, stats, sockets }) => {
  const max = options.maxBufferedBytes
  const perTick = options.writePolicy === 'per-tick'
  const streams = new Set<ServerResponse>()

  /** false when the stream is gone or was cut */
  const send = (res: ServerResponse, buf: Buffer): boolean => {
    if (res.destroyed) return false
    res.write(buf)
    if (res.writableLength > max) {
      streams.delete(res)
      stats.slowConsumerDisconnects++
      res.destroy()
      return false
    }
    return true
  }

  ticker.onPublish((_stream, updates) => {
    if (streams.size === 0) return
    if (perTick) {
      const buf = updates.length === 1 ? frame(updates[0] as Message) : Buffer.concat(updates.map(frame))
      for (const res of streams) send(res, buf)
    } else {
      const frames = updates.map(frame)
      for (const res of streams) for (const f of frames) if (!send(res, f)) break
    }
  })

  const httpServer = bareHttpServer(options)
  httpServer.on('request', (req, res) => {
    stats.requests++
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    if (path !== ssePath || req.method !== 'GET') {
      stats.errors++
      return notFound(res, path)
    }
    const h = req.headers['last-event-id']
    const header = Array.isArray(h) ? h[0] : h
    const field = header !== undefined ? 'Last-Event-ID' : 'lastEventId'
    const raw =
      header ?? (q < 0 ? undefined : (new URLSearchParams(url.slice(q + 1)).get('lastEventId') ?? undefined))
    let since: number
    try {
      since = parseSeq(field, raw, ticker.lastSeq)
    } catch (err) {
      stats.errors++
      const e = err as PbOptionError
      const body = JSON.stringify({ error: 'Bad Request', code: e.code, field: e.field, message: e.message })
      res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
      return
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
    res.flushHeaders()
    stats.streams++
    res.once('close', () => {
      stats.streams--
      streams.delete(res)
    })
    const backlog = ticker.since(0, since)
    if (backlog.length > 0) {
      if (perTick) send(res, Buffer.concat(backlog.map(frame)))
      else for (const u of backlog) if (!send(res, frame(u))) break
    }
    if (!res.destroyed) streams.add(res)
  })

  return {
    httpServer,
    listen: () => listenHttp(httpServer, options),
    close: async () => {
      const ended: Promise<unknown>[] = []
      for (const res of streams) ended.push(new Promise((resolve) => res.end(resolve)))
      streams.clear()
      await settleWithin(ended, CLOSE_GRACE_MS)
      await stopHttp(httpServer, sockets)
    },
  }
}
