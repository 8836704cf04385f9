/**
 * Lean Socket.IO client over Engine.IO's WebSocket transport: a raw socket and the lean WebSocket frame
 * code (load/lean/ws-frames.ts), the Engine.IO v4 and Socket.IO v5 packets handled by hand:
 *
 * - `GET <path>?EIO=4&transport=websocket` upgrade; the server opens with `0{"sid":...,"pingInterval":...}`;
 * - the client connects to the default namespace with its auth, `40{"stream":N,"since":SEQ}`, and is
 *   accepted with `40{"sid":...}` (start() resolves) or refused with `44{"message":...,"data":{...}}`;
 * - `2` (ping) is answered `3` (pong), in masked frames;
 * - `42["u",{...},...]`: each update's seq and ts scanned from its bytes (one clock read per socket read);
 *   `42["gap",{...}]` is accounted as lost seqs; `41` (disconnect) or `1` (close) ends the connection.
 *
 * It reconnects as the library client does (connect afresh with `since`; a refused resume starts anew).
 */
import { type LeanSocket, leanConnect } from '../../lean/connect.ts'
import { scanElements } from '../../lean/scan.ts'
import { SocketIoAcks } from '../../lean/socketio-acks.ts'
import {
  maskedClose,
  maskedFrame,
  OPCODE,
  UpgradeResponse,
  upgradeRequest,
  WsFrameParser,
  type WsHandlers,
  wsKey,
} from '../../lean/ws-frames.ts'
import { BaseClient, RECONNECT_DELAY_MS } from '../common.ts'

const CLOSE_GRACE_MS = 1000
const UPDATE_EVENT = Buffer.from('42["u",', 'latin1')
const GAP_EVENT = Buffer.from('42["gap",', 'latin1')
/** Engine.IO packet types (first byte of a message), Socket.IO packet types (second byte of a `4`) */
const EIO_OPEN = 0x30
const EIO_CLOSE = 0x31
const EIO_PING = 0x32
const EIO_MESSAGE = 0x34
const SIO_CONNECT = 0x30
const SIO_DISCONNECT = 0x31
const SIO_EVENT = 0x32
const SIO_ACK = 0x33
const SIO_CONNECT_ERROR = 0x34

const startsWith = (buf: Buffer, start: number, end: number, prefix: Buffer): boolean =>
  end - start >= prefix.length && buf.compare(prefix, 0, prefix.length, start, start + prefix.length) === 0

export class LeanSocketIoWsClient extends BaseClient implements WsHandlers {
  private socket: LeanSocket | undefined
  private readonly frames = new WsFrameParser(this)
  private upgrade: UpgradeResponse | undefined
  private key = ''
  private readMs = 0
  private closing = false
  private resumed = false
  private onOpen: (() => void) | undefined
  private onFail: ((e: Error) => void) | undefined
  private readonly each = (seq: number, ts: number, s: number, e: number): void => {
    this.onScanned(seq, ts, this.current, s, e, this.readMs)
  }
  private current: Buffer = Buffer.alloc(0)
  /** chat: `send` events waiting for their acknowledgement, by packet id */
  private readonly acks = new SocketIoAcks()

  start(): Promise<void> {
    return new Promise((resolve, reject) => this.open(resolve, reject))
  }

  private open(onOpen?: () => void, onFail?: (e: Error) => void): void {
    if (this.stopped) return
    this.counters.requests++
    this.onOpen = onOpen
    this.onFail = onFail
    const { hostname, port } = this.ctx.base
    this.resumed = this.delivery.maxSeq > 0
    this.key = wsKey()
    this.upgrade = new UpgradeResponse()
    this.frames.reset()
    this.closing = false
    const s = leanConnect(
      hostname,
      Number(port),
      (buf, end, atMs) => {
        this.readMs = atMs
        const up = this.upgrade
        if (up === undefined) {
          this.frames.feed(buf, 0, end)
          return
        }
        let at: number
        try {
          at = up.feed(buf, 0, end)
        } catch (err) {
          return this.fail(s, err as Error)
        }
        if (at < 0) return
        const why = up.check(this.key)
        if (why !== undefined) return this.fail(s, new Error(`upgrade refused: ${why}`))
        this.upgrade = undefined
        if (at < end) this.frames.feed(buf, at, end)
      },
      this.link(),
    )
    this.socket = s
    this.ctx.sockets.track(s)
    // the stream goes in the auth, not the query (servers/socketio.ts)
    const path = `${this.ctx.path}?EIO=4&transport=websocket`
    s.write(upgradeRequest(hostname, Number(port), path, this.key))
    s.on('error', (err) => {
      this.error(err)
      this.onFail?.(err)
      this.onFail = undefined
    })
    s.on('close', () => {
      if (this.stopped || this.socket !== s) return
      this.socket = undefined
      this.counters.reconnects++
      setTimeout(() => this.open(), RECONNECT_DELAY_MS)
    })
  }

  private fail(s: LeanSocket, err: Error): void {
    this.error(err)
    this.onFail?.(err)
    this.onFail = undefined
    s.destroy()
  }

  onMessage(buf: Buffer, start: number, end: number, isText: boolean): void {
    if (!isText || end <= start) return
    const t = buf[start]
    if (t === EIO_MESSAGE && end - start >= 2) {
      const st = buf[start + 1]
      if (st === SIO_EVENT) {
        if (startsWith(buf, start, end, UPDATE_EVENT)) {
          this.current = buf
          if (scanElements(buf, start + UPDATE_EVENT.length, end, this.each) < 0)
            this.corrupt(
              `bad event ${JSON.stringify(buf.toString('latin1', start, Math.min(end, start + 80)))}`,
            )
        } else if (startsWith(buf, start, end, GAP_EVENT)) {
          this.onGapJson(buf.toString('latin1', start + GAP_EVENT.length, end - 1))
        }
      } else if (st === SIO_CONNECT) {
        this.onOpen?.()
        this.onOpen = undefined
        this.onFail = undefined
      } else if (st === SIO_CONNECT_ERROR) this.refused(buf.toString('utf8', start + 2, end))
      else if (st === SIO_ACK) this.onAck(buf.toString('utf8', start + 2, end))
      else if (st === SIO_DISCONNECT) this.socket?.write(maskedClose(1000))
    } else if (t === EIO_PING) this.socket?.write(maskedFrame(OPCODE.text, '3'))
    else if (t === EIO_OPEN) {
      // connect to the default namespace with the stream and the resume point
      const auth: { stream: number; since?: number } = { stream: this.stream }
      if (this.resumed) auth.since = this.delivery.maxSeq
      this.socket?.write(maskedFrame(OPCODE.text, `40${JSON.stringify(auth)}`))
    } else if (t === EIO_CLOSE) this.socket?.end()
  }

  /** `44{"message":...,"data":{"field":...,"code":...}}`: the server refused the auth. */
  private refused(text: string): void {
    let e: { message?: string; data?: { code?: string } } = {}
    try {
      e = JSON.parse(text)
    } catch {}
    const err = new Error(`connection refused: ${e.message ?? text}`)
    if (this.onFail === undefined && this.resumed && e.data?.code === 'PB_ERR_RESUME_AHEAD')
      this.delivery.onResumeRefused()
    const s = this.socket
    if (s) this.fail(s, err)
  }

  onPing(payload: Buffer): void {
    this.socket?.write(maskedFrame(OPCODE.pong, payload))
  }

  onPong(): void {}

  onClose(code: number): void {
    if (!this.closing) this.socket?.write(maskedClose(code === 1005 ? 1000 : code))
    this.socket?.end()
  }

  onError(err: Error): void {
    this.error(err)
    this.socket?.destroy()
  }

  /** Chat: a `send` event with an ack id, `42ID["send",{...}]`; done on its acknowledgement. */
  send(body: Buffer, done: (err?: Error) => void): void {
    const s = this.socket
    if (s === undefined || this.upgrade !== undefined) {
      done(new Error('not connected'))
      return
    }
    s.write(maskedFrame(OPCODE.text, this.acks.sendPacket(body, done)))
  }

  /** `43ID[...]`: a chat send's acknowledgement (load/lean/socketio-acks.ts) */
  private onAck(text: string): void {
    if (!this.acks.onAck(text)) this.error(new Error(`unexpected ack ${JSON.stringify(text.slice(0, 80))}`))
  }

  stop(): void {
    this.stopped = true
    const s = this.socket
    if (!s) return
    if (this.upgrade === undefined && !s.destroyed) {
      this.closing = true
      // Socket.IO's disconnect, Engine.IO's close, then the WebSocket's close
      s.write(maskedFrame(OPCODE.text, '41'))
      s.write(maskedFrame(OPCODE.text, '1'))
      s.write(maskedClose(1000))
      setTimeout(() => s.destroy(), CLOSE_GRACE_MS + this.ctx.params.rttMs).unref()
    } else s.destroy()
  }
}
