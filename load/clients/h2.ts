/**
 * The HTTP/2 rows' clients (lib/transports.ts `*-h2`), over node:http2: ONE session per simulated client (each
 * is a user with a browser of its own), cleartext h2c with prior knowledge, or h2 chosen by ALPN over TLS
 * when `base` is https (trusting `ca`). The TCP socket under the session is made here and tracked, so the
 * tally counts the wire (frame headers, HPACK blocks, SETTINGS, WINDOW_UPDATE, PING; TLS records under TLS).
 *
 * SSE is a GET stream parsed with eventsource-parser, as load/clients/sse.ts; the polls are load/clients/poll.ts's
 * clients (same schedule, same `since`, gap and refusal logic) with their GETs as streams on the session.
 * `send` (chat, `upstream: 'connection'`) POSTs `/send` as another stream on the same session.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2'
import net from 'node:net'
import tls from 'node:tls'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { nowMs } from '../../lib/clock.ts'
import { BaseClient, type ClientSockets, RECONNECT_DELAY_MS } from './common.ts'
import { LongPollClient } from './long-poll.ts'
import type { PollAnswer, PollConnection } from './poll.ts'
import { ShortPollClient } from './short-poll.ts'
import { isTls, portOf } from './tls.ts'

const { HTTP2_HEADER_PATH, HTTP2_HEADER_METHOD, HTTP2_HEADER_STATUS, HTTP2_HEADER_CONTENT_TYPE } =
  http2.constants

/** The chat upstream's path (servers/chat-send.ts on the chat branch): answered 204 with `pb-seq`. */
export const SEND_PATH = '/send'

/**
 * One client's HTTP/2 session, made again when it is gone (the next request opens a new one). `onConnect`
 * fires each time a session is up (ramping waits on the first).
 */
export class H2Link {
  private current: ClientHttp2Session | undefined
  private closed = false

  constructor(
    private readonly base: URL,
    private readonly sockets: ClientSockets,
    private readonly ca: string | undefined,
    private readonly onConnect?: () => void,
  ) {}

  /** The live session, or a new one. */
  session(): ClientHttp2Session {
    if (this.closed) throw new Error('the client stopped')
    const s = this.current
    if (s !== undefined && !s.closed && !s.destroyed) return s
    const { base, sockets, ca } = this
    const host = base.hostname.startsWith('[') ? base.hostname.slice(1, -1) : base.hostname
    const port = portOf(base)
    const session = http2.connect(base.origin, {
      // the TCP socket is ours, so that the tally counts it (under TLS: the records, as the server counts them)
      createConnection: () => {
        const tcp = net.connect({ host, port, noDelay: true })
        sockets.track(tcp)
        if (!isTls(base)) return tcp
        return tls.connect({
          socket: tcp,
          ALPNProtocols: ['h2'],
          ...(ca === undefined ? {} : { ca }),
          ...(net.isIP(host) === 0 ? { servername: host } : {}),
        })
      },
    })
    // an error ends the session; its streams see theirs, and the next request opens a new session
    session.on('error', () => {})
    if (this.onConnect) session.once('connect', this.onConnect)
    this.current = session
    return session
  }

  /** A stream for `headers` on the session (a GET unless they say otherwise). */
  request(headers: http2.OutgoingHttpHeaders, endStream = true): ClientHttp2Stream {
    return this.session().request(headers, { endStream })
  }

  /**
   * Chat: POSTs `body` (JSON) to `/send` on the session; `done()` on the 204, `done(err)` on anything else.
   */
  send(body: Buffer, done: (err?: Error) => void): void {
    let req: ClientHttp2Stream
    try {
      req = this.request(
        {
          [HTTP2_HEADER_METHOD]: 'POST',
          [HTTP2_HEADER_PATH]: SEND_PATH,
          [HTTP2_HEADER_CONTENT_TYPE]: 'application/json',
        },
        false,
      )
    } catch (err) {
      done(err as Error)
      return
    }
    let status = 0
    let finished = false
    const finish = (err?: Error) => {
      if (finished) return
      finished = true
      done(err)
    }
    req.once('response', (h) => {
      status = Number(h[HTTP2_HEADER_STATUS])
    })
    req.on('data', () => {})
    req.once('end', () => finish(status === 204 ? undefined : new Error(`POST ${SEND_PATH}: HTTP ${status}`)))
    req.once('error', (err) => finish(err))
    req.once('close', () =>
      finish(status === 204 ? undefined : new Error(`POST ${SEND_PATH}: stream closed`)),
    )
    req.end(body)
  }

  close(): void {
    this.closed = true
    this.current?.destroy()
  }
}

/** A poll client's connection as the HTTP/2 rows have it: each GET a stream on the client's one session. */
export class H2Get implements PollConnection {
  readonly link: H2Link

  constructor(base: URL, sockets: ClientSockets, onConnect?: () => void, ca?: string) {
    this.link = new H2Link(base, sockets, ca, onConnect)
  }

  get(path: string): Promise<PollAnswer> {
    return new Promise((resolve, reject) => {
      let req: ClientHttp2Stream
      try {
        req = this.link.request({ [HTTP2_HEADER_PATH]: path })
      } catch (err) {
        reject(err)
        return
      }
      let status = 0
      let pbSeq: number | undefined
      let gap: string | undefined
      const chunks: Buffer[] = []
      req.once('response', (h) => {
        status = Number(h[HTTP2_HEADER_STATUS])
        const seq = h['pb-seq']
        if (seq !== undefined) pbSeq = Number(seq)
        const g = h['pb-gap']
        if (g !== undefined) gap = Array.isArray(g) ? g[0] : g
      })
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.once('end', () => {
        const receivedMs = nowMs()
        const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
        resolve({ status, body, pbSeq, gap, receivedMs })
      })
      req.once('error', reject)
      // a stream closed without its end (the session went away): the poll failed
      req.once('close', () => {
        if (status === 0 || !req.readableEnded) reject(new Error(`stream closed (code ${req.rstCode})`))
      })
    })
  }

  close(): void {
    this.link.close()
  }
}

/** Short polling over HTTP/2: load/clients/short-poll.ts's schedule, its GETs as streams on one session. */
export class H2ShortPollClient extends ShortPollClient {
  protected override connect(onConnect: () => void): PollConnection {
    return new H2Get(this.ctx.base, this.ctx.sockets, onConnect, this.ctx.ca)
  }
  send(body: Buffer, done: (err?: Error) => void): void {
    const conn = this.conn as H2Get | undefined
    if (conn === undefined) done(new Error('not started'))
    else conn.link.send(body, done)
  }
}

/** Long polling over HTTP/2: asks again at once after every answer, on its one session. */
export class H2LongPollClient extends LongPollClient {
  protected override connect(onConnect: () => void): PollConnection {
    return new H2Get(this.ctx.base, this.ctx.sockets, onConnect, this.ctx.ca)
  }
  send(body: Buffer, done: (err?: Error) => void): void {
    const conn = this.conn as H2Get | undefined
    if (conn === undefined) done(new Error('not started'))
    else conn.link.send(body, done)
  }
}

/**
 * SSE over HTTP/2: one GET stream on the client's session, parsed with eventsource-parser; resumes with
 * Last-Event-ID on a new stream (on a new session when the old one is gone). An `event: gap` is accounted as
 * lost seqs; a 400 to a resume (past the server's newest seq) starts afresh.
 */
export class H2SseClient extends BaseClient {
  private readonly h2: H2Link
  private req: ClientHttp2Stream | undefined
  /** receive instant of the chunk being parsed: every event in one chunk arrived together */
  private chunkMs = 0
  private readonly parser = createParser({
    onEvent: (e: EventSourceMessage) => {
      if (e.event === undefined) this.onJson(e.data, this.chunkMs)
      else if (e.event === 'gap') this.onGapJson(e.data)
    },
  })

  constructor(...args: ConstructorParameters<typeof BaseClient>) {
    super(...args)
    this.h2 = new H2Link(this.ctx.base, this.ctx.sockets, this.ctx.ca)
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => this.open(resolve, reject))
  }

  private open(onOpen?: () => void, onFail?: (e: Error) => void): void {
    if (this.stopped) return
    this.counters.requests++
    const headers: http2.OutgoingHttpHeaders = {
      [HTTP2_HEADER_PATH]: this.target(),
      accept: 'text/event-stream',
    }
    const resumed = this.delivery.maxSeq > 0
    if (resumed) headers['last-event-id'] = String(this.delivery.maxSeq)
    this.parser.reset()
    let req: ClientHttp2Stream
    try {
      req = this.h2.request(headers)
    } catch (err) {
      this.error(err)
      onFail?.(err as Error)
      this.reconnect()
      return
    }
    this.req = req
    let settled = false
    req.once('response', (h) => {
      const status = Number(h[HTTP2_HEADER_STATUS])
      settled = true
      if (status !== 200) {
        const err = new Error(`HTTP ${status}`)
        this.error(err)
        onFail?.(err)
        req.resume()
        // Last-Event-ID past the server's newest seq (it restarted): its seqs are another run, start afresh
        if (status === 400 && resumed && h['pb-seq'] !== undefined) this.delivery.onResumeRefused()
        return
      }
      onOpen?.()
      req.setEncoding('utf8')
      req.on('data', (chunk: string) => {
        this.chunkMs = nowMs()
        this.parser.feed(chunk)
      })
    })
    req.once('error', (err) => {
      this.error(err)
      if (!settled) onFail?.(err)
    })
    // the stream ended (the server closed it, or the session went away): open another
    req.once('close', () => {
      if (this.req !== req) return
      if (!settled) onFail?.(new Error(`stream closed before its answer (code ${req.rstCode})`))
      this.reconnect()
    })
  }

  private reconnect(): void {
    if (this.stopped) return
    this.req = undefined
    this.counters.reconnects++
    setTimeout(() => this.open(), RECONNECT_DELAY_MS)
  }

  send(body: Buffer, done: (err?: Error) => void): void {
    this.h2.send(body, done)
  }

  stop(): void {
    this.stopped = true
    this.req = undefined
    this.h2.close()
  }
}
