/**
 * Lean WebSocket client: a raw socket, the upgrade written and its 101 checked by hand
 * (load/lean/ws-frames.ts), frames parsed in place, seq and ts scanned from each text message. One clock
 * read per socket read. Answers pings with masked pongs and a close with a close. Resumes with `?since=`;
 * a `{"type":"gap",...}` message is accounted as lost seqs, a close 1008 after a resume (past the
 * server's newest seq) starts afresh.
 */
import { type LeanSocket, leanConnect } from '../../lean/connect.ts'
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
import { BaseClient, isGapMessage, isRefusedMessage, RECONNECT_DELAY_MS } from '../common.ts'

/** A peer that does not answer our close in this long (plus the emulated RTT) is cut. */
const CLOSE_GRACE_MS = 1000

export class LeanWebSocketClient extends BaseClient implements WsHandlers {
  private socket: LeanSocket | undefined
  private readonly frames = new WsFrameParser(this)
  private upgrade: UpgradeResponse | undefined
  private key = ''
  private readMs = 0
  private closing = false
  /** this connection asked with `since=` */
  private resumed = false

  start(): Promise<void> {
    return new Promise((resolve, reject) => this.open(resolve, reject))
  }

  private open(onOpen?: () => void, onFail?: (e: Error) => void): void {
    if (this.stopped) return
    this.counters.requests++
    const { hostname, port } = this.ctx.base
    this.resumed = this.delivery.maxSeq > 0
    const path = this.target(this.resumed ? `since=${this.delivery.maxSeq}` : '')
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
          return this.failOpen(s, err as Error, onFail)
        }
        if (at < 0) return
        const why = up.check(this.key)
        if (why !== undefined) return this.failOpen(s, new Error(`upgrade refused: ${why}`), onFail)
        this.upgrade = undefined
        onOpen?.()
        if (at < end) this.frames.feed(buf, at, end)
      },
      this.link(),
    )
    this.socket = s
    this.ctx.sockets.track(s)
    s.write(upgradeRequest(hostname, Number(port), path, this.key))
    s.on('error', (err) => {
      this.error(err)
      onFail?.(err)
    })
    s.on('close', () => {
      if (this.stopped || this.socket !== s) return
      this.socket = undefined
      this.counters.reconnects++
      setTimeout(() => this.open(), RECONNECT_DELAY_MS)
    })
  }

  private failOpen(s: LeanSocket, err: Error, onFail?: (e: Error) => void): void {
    this.error(err)
    onFail?.(err)
    s.destroy()
  }

  onMessage(buf: Buffer, start: number, end: number, isText: boolean): void {
    if (!isText) return
    if (isGapMessage(buf, start, end)) this.onGapJson(buf.toString('latin1', start, end))
    else if (isRefusedMessage(buf, start, end))
      this.onRefusedJson(JSON.parse(buf.toString('utf8', start, end)) as { field?: unknown })
    else this.onUpdateBytes(buf, start, end, this.readMs)
  }

  /**
   * Chat upstream on this connection: one masked text frame (a fresh mask key each, RFC 6455 5.3) on the
   * socket; `done` once it is written (the server answers nothing; a refusal comes back as a message).
   */
  send(body: Buffer, done: (err?: Error) => void): void {
    const s = this.socket
    if (s === undefined || s.destroyed || this.upgrade !== undefined || this.closing) {
      done(new Error('WebSocket not open'))
      return
    }
    s.write(maskedFrame(OPCODE.text, body))
    done()
  }

  onPing(payload: Buffer): void {
    this.socket?.write(maskedFrame(OPCODE.pong, payload))
  }

  onPong(): void {}

  onClose(code: number): void {
    if (code === 1008 && this.resumed && !this.closing) this.delivery.onResumeRefused()
    // the server's close: answer it (RFC 6455 5.5.1) unless this was the answer to ours, then let TCP end
    if (!this.closing) this.socket?.write(maskedClose(code === 1005 ? 1000 : code))
    this.socket?.end()
  }

  onError(err: Error): void {
    this.error(err)
    this.socket?.destroy()
  }

  stop(): void {
    this.stopped = true
    const s = this.socket
    if (!s) return
    if (this.upgrade === undefined && !s.destroyed) {
      this.closing = true
      s.write(maskedClose(1000))
      setTimeout(() => s.destroy(), CLOSE_GRACE_MS + this.ctx.params.rttMs).unref()
    } else s.destroy()
  }
}
