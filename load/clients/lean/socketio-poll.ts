/**
 * Lean Socket.IO client over Engine.IO's HTTP long polling: one raw keep-alive connection, the very
 * request bytes socket.io-client writes in Node (load/model/socketio.ts socketIoPollRequest: same headers,
 * same `t=` cache-buster), answers parsed by load/lean/http-response.ts and handled during the read:
 *
 * - `GET <path>?EIO=4&transport=polling&t=...` opens the session: `0{"sid":...}`;
 * - `POST ...&sid=SID` of `40{"stream":N,"since":SEQ}` connects the default namespace with its auth (`ok`);
 * - then `GET ...&sid=SID`, held by the server until it has packets, again and again. An answer's packets
 *   are joined by `\x1e`: `40{"sid":...}` (connected: start() resolves), `44{...}` (refused),
 *   `42["u",{...},...]` (seq and ts scanned from the bytes, one clock read per socket read), `42["gap",...]`,
 *   `43ID[...]` (a chat acknowledgement), `2` (a ping: answered with a POST of `3` before the next poll),
 *   `1` or `41` (closed).
 *
 * One request in flight on the connection at a time, as HTTP/1.1 without pipelining has it; chat sends go
 * on a second connection of their own, opened at the first send (socket.io-client's agent holds two).
 * It reconnects as the other clients do: a new session with `since`; a refused resume starts anew.
 */
import { type LeanSocket, leanConnect } from '../../lean/connect.ts'
import { type HttpBodyHandlers, HttpResponseParser } from '../../lean/http-response.ts'
import { scanElements } from '../../lean/scan.ts'
import { SocketIoAcks } from '../../lean/socketio-acks.ts'
import { cacheBuster, socketIoPollRequest } from '../../model/socketio.ts'
import { BaseClient, RECONNECT_DELAY_MS } from '../common.ts'

const UPDATE_EVENT = Buffer.from('42["u",', 'latin1')
const GAP_EVENT = Buffer.from('42["gap",', 'latin1')
const RS = 0x1e
/** how long the server has to take the client's close before its connections are cut */
const CLOSE_GRACE_MS = 1000

const startsWith = (buf: Buffer, start: number, end: number, prefix: Buffer): boolean =>
  end - start >= prefix.length && buf.compare(prefix, 0, prefix.length, start, start + prefix.length) === 0

/** What the one request in flight is. */
const Step = { Handshake: 0, Connect: 1, Poll: 2, Pong: 3 } as const
type Step = (typeof Step)[keyof typeof Step]

export class LeanSocketIoPollClient extends BaseClient implements HttpBodyHandlers {
  private socket: LeanSocket | undefined
  private readonly parser = new HttpResponseParser(this)
  private step: Step = Step.Handshake
  private sid: string | undefined
  private readMs = 0
  private resumed = false
  private connected = false
  private onOpen: (() => void) | undefined
  private onFail: ((e: Error) => void) | undefined
  private current: Buffer = Buffer.alloc(0)
  private readonly each = (seq: number, ts: number, s: number, e: number): void => {
    this.onScanned(seq, ts, this.current, s, e, this.readMs)
  }
  /** chat: the connection POSTs go on, what waits to go, and the acknowledgements awaited by id */
  private sender: PostConnection | undefined
  private readonly acks = new SocketIoAcks()

  start(): Promise<void> {
    return new Promise((resolve, reject) => this.open(resolve, reject))
  }

  private open(onOpen?: () => void, onFail?: (e: Error) => void): void {
    if (this.stopped) return
    this.counters.requests++
    this.onOpen = onOpen
    this.onFail = onFail
    this.resumed = this.delivery.maxSeq > 0
    this.sid = undefined
    this.connected = false
    this.parser.reset()
    const { hostname, port } = this.ctx.base
    const s = leanConnect(
      hostname,
      Number(port),
      (buf, end, atMs) => {
        this.readMs = atMs
        this.parser.feed(buf, 0, end)
      },
      this.link(),
    )
    this.socket = s
    this.ctx.sockets.track(s)
    this.step = Step.Handshake
    this.request()
    s.on('error', (err) => this.fail(err))
    s.on('close', () => {
      if (this.stopped || this.socket !== s) return
      this.socket = undefined
      this.counters.reconnects++
      setTimeout(() => this.open(), RECONNECT_DELAY_MS)
    })
  }

  /** Writes the request of the current step. */
  private request(body?: string): void {
    const { hostname, port } = this.ctx.base
    const head = socketIoPollRequest(this.ctx.path, hostname, Number(port), {
      t: cacheBuster(),
      sid: this.sid,
      contentLength: body === undefined ? undefined : Buffer.byteLength(body),
    })
    this.socket?.write(body === undefined ? head : head + body)
  }

  private fail(err: Error): void {
    this.error(err)
    this.onFail?.(err)
    this.onFail = undefined
    this.socket?.destroy()
  }

  onResponse(status: number, body: Buffer): void {
    if (status !== 200) {
      this.fail(new Error(`Engine.IO answered ${status}: ${body.toString('latin1', 0, 120)}`))
      return
    }
    switch (this.step) {
      case Step.Handshake: {
        // `0{"sid":"...",...}`
        const m = /"sid":"([^"]+)"/.exec(body.toString('latin1', 0, Math.min(body.length, 200)))
        if (body[0] !== 0x30 || m === null) {
          this.fail(new Error(`no Engine.IO open packet: ${body.toString('latin1', 0, 80)}`))
          return
        }
        this.sid = m[1]
        const auth: { stream: number; since?: number } = { stream: this.stream }
        if (this.resumed) auth.since = this.delivery.maxSeq
        this.step = Step.Connect
        this.request(`40${JSON.stringify(auth)}`)
        return
      }
      case Step.Connect:
      case Step.Pong:
        this.step = Step.Poll
        this.request()
        return
      case Step.Poll: {
        let ping = false
        let i = 0
        while (i < body.length && this.socket !== undefined) {
          let e = body.indexOf(RS, i)
          if (e < 0) e = body.length
          if (this.packet(body, i, e)) ping = true
          i = e + 1
        }
        if (this.socket === undefined || this.socket.destroyed) return
        if (ping) {
          this.step = Step.Pong
          this.request('3')
        } else this.request()
      }
    }
  }

  /** One packet of a poll's answer, `buf[start, end)`; true when it is a ping. */
  private packet(buf: Buffer, start: number, end: number): boolean {
    const t = buf[start]
    if (t === 0x34) {
      const st = buf[start + 1]
      if (startsWith(buf, start, end, UPDATE_EVENT)) {
        this.current = buf
        if (scanElements(buf, start + UPDATE_EVENT.length, end, this.each) < 0)
          this.corrupt(
            `bad event ${JSON.stringify(buf.toString('latin1', start, Math.min(end, start + 80)))}`,
          )
      } else if (startsWith(buf, start, end, GAP_EVENT)) {
        this.onGapJson(buf.toString('latin1', start + GAP_EVENT.length, end - 1))
      } else if (st === 0x30) {
        this.connected = true
        this.onOpen?.()
        this.onOpen = undefined
        this.onFail = undefined
      } else if (st === 0x33) this.onAck(buf.toString('utf8', start + 2, end))
      else if (st === 0x34) this.refused(buf.toString('utf8', start + 2, end))
      else if (st === 0x31) this.socket?.destroy()
      return false
    }
    if (t === 0x32) return true
    if (t === 0x31) this.socket?.destroy()
    return false
  }

  /** `44{"message":...,"data":{"field":...,"code":...}}`: the server refused the auth. */
  private refused(text: string): void {
    let e: { message?: string; data?: { code?: string } } = {}
    try {
      e = JSON.parse(text)
    } catch {}
    if (this.onFail === undefined && this.resumed && e.data?.code === 'PB_ERR_RESUME_AHEAD')
      this.delivery.onResumeRefused()
    this.fail(new Error(`connection refused: ${e.message ?? text}`))
  }

  /** `43ID[...]`: a chat send's acknowledgement (load/lean/socketio-acks.ts) */
  private onAck(text: string): void {
    if (!this.acks.onAck(text)) this.error(new Error(`unexpected ack ${JSON.stringify(text.slice(0, 80))}`))
  }

  onError(err: Error): void {
    this.fail(err)
  }

  /** Chat: `42ID["send",{...}]` POSTed on the second connection; done on its acknowledgement (on a poll). */
  send(body: Buffer, done: (err?: Error) => void): void {
    if (!this.connected || this.sid === undefined) {
      done(new Error('not connected'))
      return
    }
    this.sender ??= new PostConnection(this)
    this.sender.post(this.sid, this.acks.sendPacket(body, done))
  }

  /** What the POST connection needs of its client. */
  postTarget(): { host: string; port: number; path: string } {
    return { host: this.ctx.base.hostname, port: Number(this.ctx.base.port), path: this.ctx.path }
  }

  postLink(): ReturnType<BaseClient['link']> {
    return this.link()
  }

  track(s: LeanSocket): void {
    this.ctx.sockets.track(s)
  }

  postFailed(err: Error): void {
    this.error(err)
  }

  /**
   * Closes the session as socket.io-client does, a POST of `1` (Engine.IO's close; the server then answers
   * the held poll), on the POST connection since the poll holds this one; both are cut a moment later.
   */
  stop(): void {
    this.stopped = true
    const s = this.socket
    this.socket = undefined
    if (!this.connected || this.sid === undefined || s === undefined || s.destroyed) {
      this.sender?.close()
      s?.destroy()
      return
    }
    this.sender ??= new PostConnection(this)
    this.sender.post(this.sid, '41')
    this.sender.post(this.sid, '1')
    const sender = this.sender
    setTimeout(() => {
      sender.close()
      s.destroy()
    }, CLOSE_GRACE_MS + this.ctx.params.rttMs).unref()
  }
}

/** Chat's POSTs, one in flight at a time, on a keep-alive connection of their own. */
class PostConnection implements HttpBodyHandlers {
  private socket: LeanSocket | undefined
  private readonly parser = new HttpResponseParser(this)
  private readonly queue: { sid: string; body: string }[] = []
  private inFlight = false

  constructor(private readonly client: LeanSocketIoPollClient) {}

  post(sid: string, body: string): void {
    this.queue.push({ sid, body })
    if (!this.inFlight) this.next()
  }

  private next(): void {
    const p = this.queue.shift()
    if (p === undefined) {
      this.inFlight = false
      return
    }
    this.inFlight = true
    const { host, port, path } = this.client.postTarget()
    if (this.socket === undefined || this.socket.destroyed) {
      this.parser.reset()
      const s = leanConnect(host, port, (buf, end) => this.parser.feed(buf, 0, end), this.client.postLink())
      s.on('error', (err) => this.client.postFailed(err))
      s.on('close', () => {
        if (this.socket === s) this.socket = undefined
      })
      this.client.track(s)
      this.socket = s
    }
    const len = Buffer.byteLength(p.body)
    this.socket.write(
      socketIoPollRequest(path, host, port, { t: cacheBuster(), sid: p.sid, contentLength: len }) + p.body,
    )
  }

  onResponse(status: number, body: Buffer): void {
    if (status !== 200)
      this.client.postFailed(new Error(`POST answered ${status}: ${body.toString('latin1', 0, 80)}`))
    this.next()
  }

  onError(err: Error): void {
    this.client.postFailed(err)
    this.socket?.destroy()
  }

  close(): void {
    this.socket?.destroy()
  }
}
