/**
 * Socket.IO client (socket.io-client, what an application would use), for both Socket.IO rows: its
 * WebSocket transport or its long polling, by the registry's name, on the registry's path. The stream and
 * the resume point go in the handshake's `auth` (`{stream, since}`); each `u` event carries one update per
 * argument (servers/socketio.ts), each accounted with one clock read per event; a `gap` event is accounted
 * as lost seqs. The suite reconnects itself (reconnection off): after a drop it connects afresh with
 * `since`, and a refused resume (past the server's newest seq) starts from now. TLS: the server's
 * certificate as `ca`. The TCP sockets are counted through an agent of the client's own.
 */
import http from 'node:http'
import https from 'node:https'
import type { Socket as NetSocket } from 'node:net'
import { io, type Socket } from 'socket.io-client'
import { nowMs } from '../../lib/clock.ts'
import { BaseClient, type ClientContext, type ParsedMessage, RECONNECT_DELAY_MS } from './common.ts'
import { isTls, portOf, tlsConnect } from './tls.ts'

/** What the server has to answer the client's close in, before the client cuts its connections. */
const CLOSE_GRACE_MS = 1000

export interface UpdateLike extends ParsedMessage {
  seq: number
  ts: number
}

/** An agent whose every connection is counted by the client tally (and, under TLS, trusts `ca`). */
function countingAgent(ctx: ClientContext): http.Agent {
  const { base, ca, sockets } = ctx
  if (isTls(base)) {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 2 })
    ;(agent as unknown as { createConnection: unknown }).createConnection = () =>
      tlsConnect(base.hostname, portOf(base), ca, sockets)
    return agent
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 })
  const create = agent.createConnection.bind(agent)
  agent.createConnection = ((opts: object, cb?: unknown) => {
    const s = (create as (o: object, c?: unknown) => NetSocket)({ ...opts, noDelay: true }, cb)
    sockets.track(s)
    return s
  }) as typeof agent.createConnection
  return agent
}

abstract class SocketIoClient extends BaseClient {
  private socket: Socket | undefined
  private readonly agent: http.Agent
  /** Engine.IO's transport this row uses, and no other (no upgrade) */
  protected abstract readonly transports: string[]

  constructor(ctx: ClientContext, stream: number, index?: number) {
    super(ctx, stream, index)
    this.agent = countingAgent(ctx)
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => this.open(resolve, reject))
  }

  private open(onOpen?: () => void, onFail?: (e: Error) => void): void {
    if (this.stopped) return
    this.counters.requests++
    const resumed = this.delivery.maxSeq > 0
    const auth: { stream: number; since?: number } = { stream: this.stream }
    if (resumed) auth.since = this.delivery.maxSeq
    const { base, ca } = this.ctx
    const socket = io(base.origin, {
      path: this.ctx.path,
      transports: this.transports,
      upgrade: false,
      auth,
      forceNew: true,
      reconnection: false,
      agent: this.agent as unknown as string,
      ...(ca === undefined ? {} : { ca }),
    })
    this.socket = socket
    socket.on('u', (...updates: UpdateLike[]) => this.onUpdates(updates, nowMs()))
    socket.on('gap', (g: unknown) => this.onGapJson(JSON.stringify(g)))
    socket.once('connect', () => onOpen?.())
    socket.once('connect_error', (err: Error & { data?: { code?: string } }) => {
      this.error(err)
      if (onFail) return onFail(err)
      if (resumed && err.data?.code === 'PB_ERR_RESUME_AHEAD') this.delivery.onResumeRefused()
      this.again(socket)
    })
    socket.once('disconnect', () => this.again(socket))
  }

  /** One `u` event's updates (socket.io-client has parsed them), received at `at`. */
  protected onUpdates(updates: readonly UpdateLike[], at: number): void {
    for (const u of updates) this.onParsed(u, at)
  }

  /** The connection is gone: connect afresh (resuming), unless stopped. */
  private again(socket: Socket): void {
    if (this.stopped || this.socket !== socket) return
    this.socket = undefined
    socket.removeAllListeners()
    socket.close()
    this.counters.reconnects++
    setTimeout(() => this.open(), RECONNECT_DELAY_MS)
  }

  /** Chat: a `send` event with the message, done on its acknowledgement (a refusal is an error). */
  send(body: Buffer, done: (err?: Error) => void): void {
    const socket = this.socket
    if (socket === undefined || !socket.connected) {
      done(new Error('not connected'))
      return
    }
    socket.emit('send', JSON.parse(body.toString('utf8')), (ack: { error?: string }) => {
      done(ack?.error === undefined ? undefined : new Error(ack.error))
    })
  }

  stop(): void {
    this.stopped = true
    const socket = this.socket
    this.socket = undefined
    if (socket) {
      socket.removeAllListeners()
      socket.close()
    }
    // the close goes out first (long polling POSTs it); then whatever the agent holds is cut
    const agent = this.agent
    setTimeout(() => agent.destroy(), CLOSE_GRACE_MS).unref()
  }
}

/** `socketio-ws`: Engine.IO's WebSocket transport only. */
export class SocketIoWsClient extends SocketIoClient {
  protected readonly transports = ['websocket']
}

/** `socketio-poll`: Engine.IO's HTTP long polling only. */
export class SocketIoPollClient extends SocketIoClient {
  protected readonly transports = ['polling']
}
