/**
 * WebSocket client (ws): one text message per update; resumes at connect with `?since=SEQ`; wss when the
 * server is https. A `{"type":"gap",...}` message is accounted as lost seqs; a close 1008 after a resume
 * (past the server's newest seq) starts afresh.
 */
import WebSocket from 'ws'
import { nowMs } from '../../lib/clock.ts'
import { BaseClient, isGapMessage, RECONNECT_DELAY_MS } from './common.ts'
import { isTls, portOf, tlsConnect } from './tls.ts'

export class WebSocketClient extends BaseClient {
  private ws: WebSocket | undefined

  start(): Promise<void> {
    return new Promise((resolve, reject) => this.open(resolve, reject))
  }

  private open(onOpen?: () => void, onFail?: (e: Error) => void): void {
    if (this.stopped) return
    this.counters.requests++
    const resumed = this.delivery.maxSeq > 0
    const url = new URL(this.target(resumed ? `since=${this.delivery.maxSeq}` : ''), this.ctx.base)
    const { base, ca, sockets } = this.ctx
    const secure = isTls(base)
    url.protocol = secure ? 'wss:' : 'ws:'
    const ws = new WebSocket(
      url,
      secure
        ? // wss: TLS over a TCP socket that the tally counts (load/clients/tls.ts)
          {
            perMessageDeflate: false,
            createConnection: () => tlsConnect(base.hostname, portOf(base), ca, sockets),
          }
        : { perMessageDeflate: false },
    )
    this.ws = ws
    if (!secure) ws.once('upgrade', (res) => sockets.track(res.socket))
    ws.once('open', () => onOpen?.())
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return
      if (isGapMessage(data, 0, data.length)) this.onGapJson(data.toString('latin1'))
      else this.onJson(data.toString('latin1'), nowMs())
    })
    ws.once('error', (err) => {
      this.error(err)
      onFail?.(err)
    })
    ws.once('close', (code: number) => {
      if (this.stopped) return
      if (code === 1008 && resumed) this.delivery.onResumeRefused()
      this.counters.reconnects++
      setTimeout(() => this.open(), RECONNECT_DELAY_MS)
    })
  }

  /** Chat upstream on this connection: a text message; `done` once ws has written it. */
  send(body: Buffer, done: (err?: Error) => void): void {
    const ws = this.ws
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) done(new Error('WebSocket not open'))
    else ws.send(body, { binary: false }, (err) => done(err ?? undefined))
  }

  stop(): void {
    this.stopped = true
    const ws = this.ws
    if (!ws) return
    if (ws.readyState === WebSocket.OPEN) ws.close(1000)
    else ws.terminate()
    // a peer that does not finish the close handshake in time is cut
    setTimeout(() => ws.terminate(), 1000).unref()
  }
}
