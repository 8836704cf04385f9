/**
 * The connection lifecycle probe (issue 12, "Connection lifecycle"): connections of one transport opened
 * against a running server one after another (or a few at a time), each taken through its whole life with
 * the lean client's pieces (load/lean/): connect, the request that resumes from a seq the server still holds
 * (so the first update does not wait for a publish), the first update, and the close. Per connection it
 * records the time from the connect start to the first update, the bytes each way up to then, and the time
 * and bytes of the close; per transport, an aggregate beside the model (`setupRoundTrips(tls) * rttMs`), and
 * the sockets the closes left in TIME_WAIT, read from the kernel (/proc/net/tcp, /proc/net/tcp6) of the
 * network namespace the probe runs in.
 *
 * How each transport connects and closes:
 * - short polling, long polling: `GET <path>?since=<latest-1>` on a keep-alive connection; after the answer
 *   the client ends the socket (FIN) and waits for 'close'. The client sends the first FIN.
 * - SSE: `GET <path>` with `Last-Event-ID: <latest-1>`; after the first event the client ends the socket.
 *   The client sends the first FIN.
 * - WebSocket: the upgrade with `?since=<latest-1>`; after the first frame the client sends a masked close
 *   frame (1000) and waits for the server's close frame and the TCP close. `ws` ends the socket once it has
 *   both close frames, so the server sends the first FIN (RFC 6455 7.1.1: the server closes the TCP
 *   connection first, and so holds TIME_WAIT).
 * - short polling also runs its two modes: keep-alive (one connection, K polls back to back) and without
 *   keep-alive (`Connection: close`, so the server sends the first FIN after its answer: K connections).
 *
 * `firstFin` says which side's FIN comes first on the close path the client takes; the TIME_WAIT counts are
 * the kernel's record of it (the side that sends the first FIN holds TIME_WAIT). On loopback both sides are
 * in one namespace and both counts are read here; in wire mode the probe sees only the client's side.
 *
 * Bytes are counted by the probe per phase: what it wrote, and the reads it was handed. On plain TCP they are
 * the TCP payload both ways, the figures the server's socket counters hold. Over TLS they are the counters
 * of the TCP socket under the TLS one (load/lean/connect.ts): records and handshake included, as the
 * server's counters see them; behind the delay line these count bytes as they arrive, up to RTT/2 before
 * the read is handed over.
 *
 * The probe is for the ticker workload (stream 0): it reads `"seq":N` out of the updates.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { nowMs } from '../lib/clock.ts'
import { PbOptionError } from '../lib/errors.ts'
import { type LinkCounters, linkDelta, readOwnLinkCounters } from '../lib/netns.ts'
import { transport as transportEntry } from '../lib/transports.ts'
import { type LeanSocket, type LinkOptions, leanConnect } from './lean/connect.ts'
import { HttpResponseParser } from './lean/http-response.ts'
import { SseEventSplitter } from './lean/sse-events.ts'
import {
  maskedClose,
  maskedFrame,
  OPCODE,
  UpgradeResponse,
  upgradeRequest,
  WsFrameParser,
  wsKey,
} from './lean/ws-frames.ts'
import { setupRoundTrips } from './model/freshness.ts'
import { pollRequestHead } from './model/http.ts'

/** The transports the probe speaks (the suite's four; a plugin transport has its own protocol). */
export const LIFECYCLE_TRANSPORTS = ['short-poll', 'long-poll', 'sse', 'websocket'] as const
export type LifecycleTransport = (typeof LIFECYCLE_TRANSPORTS)[number]

/** Short polling's K (polls on one keep-alive connection, or connections without keep-alive). */
export const DEFAULT_POLLS_PER_CONNECTION = 10
/** After the last close, the kernel is given this long before its TIME_WAIT table is read: ms. */
const TIME_WAIT_SETTLE_MS = 50
/** A connection that has not closed in this long (plus 4 RTT) is cut and counted as an error: ms. */
const DEFAULT_TIMEOUT_MS = 10_000
/** Short polling's discovery: a 204 with `pb-seq: 0` (nothing published yet) is asked again after: ms. */
const DISCOVERY_RETRY_MS = 50
/** Error messages kept in a result. */
const MAX_ERRORS_KEPT = 10

export interface LifecycleOptions {
  /** a registry name (lib/transports.ts), one of LIFECYCLE_TRANSPORTS */
  transport: string
  /** the server: http://host:port, or https://host:port with `ca` */
  base: string
  /** TLS: the server's certificate (PEM), the one the client trusts */
  ca?: string | undefined
  /** emulated round-trip time (load/lean/delay-line.ts), ms; 0: none */
  rttMs: number
  /** connections taken through their lifecycle */
  connections: number
  /** short polling: K, polls on the keep-alive connection and connections without keep-alive */
  pollsPerConnection: number
  /** connections under way at once (default 1: one after another) */
  concurrency?: number | undefined
  /** the newest seq, when the caller knows it (skips the discovery connection); must be >= 1 */
  latestSeq?: number | undefined
  /** per connection, from its connect start to its close: ms (default 10 s + 4 RTT) */
  timeoutMs?: number | undefined
  /** as LinkOptions.sharedReads */
  sharedReads?: boolean | undefined
  /**
   * wire mode (lib/netns.ts): the veth end in the probe's namespace, whose counters are read around each
   * phase (link-level bytes and packets), and the server's namespace, whose TIME_WAIT table is read too
   */
  wire?: { clientDev: string; serverNs: string } | undefined
}

/** What the orchestrator sends the probe's process (load/lifecycle-process.ts). */
export interface LifecycleRequest extends LifecycleOptions {
  type: 'lifecycle'
}

/** What the probe's process answers, then it exits. */
export type LifecycleReply =
  | ({ type: 'lifecycle-result' } & LifecycleResult)
  | { type: 'error'; message: string }

export interface Bytes {
  clientToServer: number
  serverToClient: number
}

/** ms, over the completed connections (or polls); nearest-rank percentiles, 3 decimals. */
export interface MsSummary {
  count: number
  p50: number
  p90: number
  max: number
  mean: number
  min: number
}

/** New sockets in TIME_WAIT for the server's port, per side, in the probe's network namespace. */
export interface TimeWaitCount {
  /** local port is not the server's: the client's sockets */
  client: number
  /** local port is the server's: the server's sockets (only when the server is in this namespace) */
  server: number
}

export interface PollRecord {
  /** from the request's write (the connect start, for a poll that opened its connection) to the answer parsed */
  ms: number
  /** this poll opened its connection */
  connected: boolean
  /** the request and the answer */
  bytes: Bytes
  /** updates in the answer */
  updates: number
}

/** One connection, connect to close. */
export interface ConnectionRecord {
  /** the seq it resumed from */
  since: number
  /** connect start to the read that carried the first update (its emulated arrival, behind the delay line) */
  firstUpdateMs: number
  /** bytes up to and including the read that carried the first update */
  setup: Bytes
  /** updates parsed in the setup bytes (the first one and any it shared a read with) */
  setupUpdates: number
  /** close start (right after the read that carried the last answer) to the socket's 'close' */
  closeMs: number
  /** bytes from the close start to 'close' */
  close: Bytes
  /** updates that arrived during the close (published while it was under way): in `close.serverToClient` */
  closeUpdates: number
  /** the socket's own counters at 'close' (plain TCP: equal to the probe's sums; TLS: plaintext) */
  total: Bytes
  /** whose FIN comes first on the close path taken */
  firstFin: 'client' | 'server'
  /** short polling: every poll of the connection */
  polls?: PollRecord[] | undefined
  /** WebSocket: the opening and closing handshakes */
  ws?:
    | {
        /** the upgrade request, bytes */
        requestBytes: number
        /** the 101 response head, blank line included, bytes */
        responseHeadBytes: number
        /** data frames (header + payload) in the setup bytes after the 101 head */
        setupFrameBytes: number
        /** the close frames each way, bytes (client: masked, 2 + 4 + 2 for a code; server: 2 + body) */
        closeFrames: Bytes
        /** the code of the server's close frame */
        closeCode: number
      }
    | undefined
}

export interface LifecycleAggregate {
  /** connections tried */
  connections: number
  /** connections that got their first update and closed */
  completed: number
  errors: number
  firstUpdateMs: MsSummary
  closeMs: MsSummary
  /** mean per completed connection */
  setup: Bytes
  /** mean per completed connection */
  close: Bytes
  /** mean per completed connection: the socket's counters at 'close' */
  total: Bytes
  /** mean updates per connection in the setup bytes */
  setupUpdates: number
  /**
   * mean setup bytes over the connections whose setup carried exactly one update (a connection resumes from
   * the newest seq the probe has seen minus one, so a publish since then adds its updates to the answer: at
   * a tick period shorter than a connection's life most setups carry two)
   */
  setupOneUpdate: Bytes & { connections: number }
  /** updates that crossed a close, over all connections */
  closeUpdates: number
  /** mean close bytes over the connections no update crossed the close of */
  closeNoUpdate: Bytes & { connections: number }
  /** whose FIN came first; `mixed` if the connections differ */
  firstFin: 'client' | 'server' | 'mixed'
  timeWait: TimeWaitCount
  /** wire mode: link-level bytes and packets each way, mean per completed connection (its whole life) */
  link?: LinkCounters | undefined
}

/** Short polling's two modes over K polls. */
export interface PollModeResult {
  keepAlive: boolean
  /** TCP connections opened */
  connections: number
  /** polls answered */
  polls: number
  errors: number
  /** every poll */
  pollMs: MsSummary
  /** polls that opened their connection (all of them without keep-alive, the first with it) */
  connectPollMs: MsSummary
  /** polls on a connection already open (keep-alive only) */
  reusedPollMs: MsSummary
  /** mean per poll, closes excluded */
  perPoll: Bytes
  /** every close, summed */
  close: Bytes
  /** the first connect start to the last 'close': ms */
  totalMs: number
  /** the sockets' counters, summed */
  total: Bytes
  firstFin: 'client' | 'server' | 'mixed'
  timeWait: TimeWaitCount
  /** wire mode: link-level bytes and packets each way over the mode's K polls, closes included */
  link?: LinkCounters | undefined
  records: ConnectionRecord[]
}

export interface LifecycleResult {
  transport: LifecycleTransport
  rttMs: number
  tls: boolean
  concurrency: number
  /** newest seq when the probe began (learned by a discovery connection, or given) */
  latestSeq: number
  /**
   * Round trips from a connection's first packet to its first update (load/model/freshness.ts) and to its
   * 'close', each times rttMs. Close: one round trip when the client starts it (its FIN, or its close
   * frame, and the answer), none when the server closes after its answer (no keep-alive).
   */
  model: { setupRoundTrips: number; firstUpdateMs: number; closeRoundTrips: number; closeMs: number }
  lifecycle: LifecycleAggregate
  /** short polling only */
  shortPoll?: { keepAlive: PollModeResult; noKeepAlive: PollModeResult } | undefined
  /** the discovery connections' socket counters (zero when latestSeq was given) */
  discovery: Bytes
  /** every socket the probe opened, discovery included: what the server's counters must have seen on plain TCP */
  totals: Bytes
  /** `tcp-payload`: plain TCP; `tls-plaintext`: the bytes inside TLS */
  bytesAre: 'tcp-payload'
  /** the first few error messages */
  errors: string[]
  records: ConnectionRecord[]
}

type Mode = 'poll' | 'poll-close' | 'sse' | 'websocket'

interface Target {
  host: string
  port: number
  path: string
  link: LinkOptions
  timeoutMs: number
}

interface ConnSpec {
  mode: Mode
  /** undefined: no resume (the discovery connection) */
  since: number | undefined
  /** poll: answers to ask for on the connection */
  polls: number
  /** poll: the since of the next poll on the connection */
  nextSince: () => number
  /** told the highest seq of every answer or event, as it comes */
  onSeq?: ((seq: number) => void) | undefined
}

interface ConnOutcome {
  record: ConnectionRecord
  /** highest seq seen (or a 204's pb-seq) */
  maxSeq: number
}

const SEQ_RE = /"seq":(\d+)/g

/** Updates in `buf[s, e)` and the highest seq among them. */
function scanSeqs(buf: Buffer, s: number, e: number): { n: number; max: number } {
  const text = buf.toString('latin1', s, e)
  let n = 0
  let max = 0
  for (const m of text.matchAll(SEQ_RE)) {
    n++
    const v = Number(m[1])
    if (v > max) max = v
  }
  return { n, max }
}

/** A data frame's header length from its payload length (server frames: unmasked). */
const wsHeaderLength = (len: number): number => (len < 126 ? 2 : len <= 0xffff ? 4 : 10)

/** Takes one connection through its life. Resolves when the socket has closed; rejects on error or timeout. */
function runConnection(target: Target, spec: ConnSpec): Promise<ConnOutcome> {
  return new Promise<ConnOutcome>((resolve, reject) => {
    const { host, port, path, link } = target
    const t0 = nowMs()
    let read = 0
    let written = 0
    /** setup: before the first update; open: got it; closing: close started; done */
    let phase: 'setup' | 'open' | 'closing' | 'done' = 'setup'
    let readAt = t0
    let firstUpdateMs = Number.NaN
    let setup: Bytes = { clientToServer: 0, serverToClient: 0 }
    let setupUpdates = 0
    /** the setup bytes are taken: later answers of a keep-alive poll connection are not setup */
    let setupTaken = false
    let closeUpdates = 0
    let closeStartMs = 0
    let closeStart: Bytes = { clientToServer: 0, serverToClient: 0 }
    let maxSeq = 0
    /** an answer (or the first update) came in the read being parsed */
    let answered = false
    let failure: Error | undefined
    const polls: PollRecord[] = []
    let pollStartMs = t0
    let pollStart: Bytes = { clientToServer: 0, serverToClient: 0 }
    let pollUpdates = 0
    // WebSocket
    const key = spec.mode === 'websocket' ? wsKey() : ''
    let upgrade: UpgradeResponse | undefined = spec.mode === 'websocket' ? new UpgradeResponse() : undefined
    let requestBytes = 0
    let responseHeadBytes = 0
    let setupFrameBytes = 0
    let clientCloseBytes = 0
    let serverCloseBytes = 0
    let closeCode = 0

    const fail = (err: Error): void => {
      failure ??= err
      if (!s.destroyed) s.destroy()
    }

    const onUpdates = (n: number, max: number): void => {
      if (max > maxSeq) maxSeq = max
      spec.onSeq?.(max)
      if (phase === 'setup') {
        firstUpdateMs = readAt - t0
        phase = 'open'
      }
      if (phase === 'closing') closeUpdates += n
      else if (!setupTaken) setupUpdates += n
    }

    // protocol parsers, fed from the read callback
    const http = new HttpResponseParser(
      spec.mode === 'sse'
        ? {
            onHead: (status: number) => {
              if (status !== 200) fail(new Error(`SSE answered ${status}`))
            },
            onData: (buf: Buffer, start: number, end: number) => events.feed(buf, start, end),
            onEnd: () => {},
            onError: fail,
          }
        : {
            onResponse: (status: number, body: Buffer, pbSeq: number | undefined) => {
              if (phase === 'closing') return
              if (status === 200) {
                const { n, max } = scanSeqs(body, 0, body.length)
                if (n === 0) return fail(new Error('a 200 answer without an update'))
                onUpdates(n, max)
                pollUpdates = n
              } else if (status === 204 && spec.since === undefined) {
                // discovery: nothing newer than "now"; the newest seq is in the header
                if ((pbSeq ?? 0) > maxSeq) maxSeq = pbSeq ?? 0
                if (phase === 'setup') phase = 'open'
              } else {
                return fail(
                  new Error(`poll answered ${status}${status === 204 ? ` (since=${spec.since})` : ''}`),
                )
              }
              answered = true
            },
            onError: fail,
          },
    )
    const events = new SseEventSplitter({
      onEvent: (data, start, end) => {
        const { n, max } = scanSeqs(data, start, end)
        if (n > 0) {
          onUpdates(n, max)
          answered = true
        }
      },
    })
    const frames = new WsFrameParser({
      onMessage: (buf, start, end, isText) => {
        if (phase === 'setup' || phase === 'open')
          setupFrameBytes += wsHeaderLength(end - start) + end - start
        if (!isText) return
        const { n, max } = scanSeqs(buf, start, end)
        if (n > 0) {
          onUpdates(n, max)
          answered = true
        }
      },
      onPing: (payload) => {
        if (phase !== 'closing') write(maskedFrame(OPCODE.pong, payload))
      },
      onPong: () => {},
      onClose: (code, reason) => {
        closeCode = code
        serverCloseBytes = 2 + (code === 1005 ? 0 : 2 + Buffer.byteLength(reason))
        // a close the server started (its shutdown) is not the lifecycle measured: cut, counted as an error
        if (phase !== 'closing') {
          fail(new Error(`the server closed the WebSocket first (${code})`))
        }
      },
      onError: fail,
    })

    const s: LeanSocket = leanConnect(
      host,
      port,
      (buf, end, atMs) => {
        if (phase === 'done') return
        readAt = atMs
        read += end
        answered = false
        if (spec.mode === 'websocket') {
          let at = 0
          if (upgrade !== undefined) {
            try {
              at = upgrade.feed(buf, 0, end)
            } catch (err) {
              return fail(err as Error)
            }
            if (at < 0) return
            const why = upgrade.check(key)
            if (why !== undefined) return fail(new Error(`upgrade refused: ${why}`))
            responseHeadBytes = read - end + at
            upgrade = undefined
          }
          if (at < end) frames.feed(buf, at, end)
        } else http.feed(buf, 0, end)
        if (answered && failure === undefined) afterAnswer()
      },
      link,
    )

    const write = (data: string | Buffer): void => {
      written += typeof data === 'string' ? Buffer.byteLength(data) : data.length
      s.write(data)
    }
    // over TLS, the TCP socket's own counters (load/lean/connect.ts): records and handshake included, as the
    // server's counters and a capture see them; on plain TCP, the bytes written and handed over
    const bytesNow = (): Bytes =>
      link.ca !== undefined
        ? { clientToServer: s.bytesWritten, serverToClient: s.bytesRead }
        : { clientToServer: written, serverToClient: read }
    const minus = (a: Bytes, b: Bytes): Bytes => ({
      clientToServer: a.clientToServer - b.clientToServer,
      serverToClient: a.serverToClient - b.serverToClient,
    })

    /** The read that carried an answer has been parsed: ask again, or close. */
    const afterAnswer = (): void => {
      if (phase !== 'open') return
      if (spec.mode === 'poll' || spec.mode === 'poll-close') {
        polls.push({
          ms: readAt - pollStartMs,
          connected: polls.length === 0,
          bytes: minus(bytesNow(), pollStart),
          updates: pollUpdates,
        })
        if (!setupTaken) {
          setup = bytesNow()
          setupTaken = true
        }
        if (spec.mode === 'poll' && polls.length < spec.polls) {
          pollStartMs = nowMs()
          pollStart = bytesNow()
          write(pollRequestHead(`${path}?since=${spec.nextSince()}`, host, port))
          return
        }
      } else {
        setup = bytesNow()
        setupTaken = true
      }
      phase = 'closing'
      closeStartMs = nowMs()
      closeStart = bytesNow()
      if (spec.mode === 'websocket') {
        const frame = maskedClose(1000)
        clientCloseBytes = frame.length
        write(frame)
      } else if (spec.mode !== 'poll-close') s.end()
    }

    const timer = setTimeout(
      () => fail(new Error(`no close within ${target.timeoutMs} ms (phase ${phase})`)),
      target.timeoutMs,
    )
    s.on('error', (err) => {
      failure ??= err
    })
    s.once('close', () => {
      clearTimeout(timer)
      const closedAt = nowMs()
      const was = phase
      phase = 'done'
      if (failure !== undefined) return reject(failure)
      if (was !== 'closing')
        return reject(
          new Error(`the connection closed before the ${was === 'setup' ? 'first update' : 'close'}`),
        )
      if (spec.mode === 'websocket' && serverCloseBytes === 0)
        return reject(new Error("the TCP connection closed without the server's close frame"))
      const record: ConnectionRecord = {
        since: spec.since ?? -1,
        firstUpdateMs,
        setup,
        setupUpdates,
        closeMs: closedAt - closeStartMs,
        close: minus(bytesNow(), closeStart),
        closeUpdates,
        total: { clientToServer: s.bytesWritten, serverToClient: s.bytesRead },
        firstFin: spec.mode === 'websocket' || spec.mode === 'poll-close' ? 'server' : 'client',
        polls: spec.mode === 'poll' || spec.mode === 'poll-close' ? polls : undefined,
        ws:
          spec.mode === 'websocket'
            ? {
                requestBytes,
                responseHeadBytes,
                setupFrameBytes,
                closeFrames: { clientToServer: clientCloseBytes, serverToClient: serverCloseBytes },
                closeCode,
              }
            : undefined,
      }
      resolve({ record, maxSeq })
    })

    // the request
    const since = spec.since
    switch (spec.mode) {
      case 'poll':
        write(pollRequestHead(since === undefined ? path : `${path}?since=${since}`, host, port))
        break
      case 'poll-close':
        write(
          pollRequestHead(since === undefined ? path : `${path}?since=${since}`, host, port).replace(
            'Connection: keep-alive',
            'Connection: close',
          ),
        )
        break
      case 'sse': {
        const resume = since === undefined ? '' : `Last-Event-ID: ${since}\r\n`
        write(
          `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: text/event-stream\r\n${resume}Connection: keep-alive\r\n\r\n`,
        )
        break
      }
      case 'websocket': {
        const req = upgradeRequest(host, port, since === undefined ? path : `${path}?since=${since}`, key)
        requestBytes = Buffer.byteLength(req)
        write(req)
        break
      }
    }
  })
}

// ---- TIME_WAIT, from the kernel ----

/** TCP state TIME_WAIT in /proc/net/tcp. */
const TCP_TIME_WAIT = '06'

/**
 * The TIME_WAIT sockets of `port` in /proc/net/tcp or /proc/net/tcp6 text, by side: `server` when the
 * local port is `port`, `client` when the remote one is. Each as `local>remote` (hex, as the table has it).
 */
export function timeWaitEntries(table: string, port: number): { client: string[]; server: string[] } {
  const client: string[] = []
  const server: string[] = []
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length < 4 || f[3] !== TCP_TIME_WAIT) continue
    const local = f[1] as string
    const remote = f[2] as string
    const lp = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16)
    const rp = Number.parseInt(remote.slice(remote.lastIndexOf(':') + 1), 16)
    if (lp === port) server.push(`${local}>${remote}`)
    else if (rp === port) client.push(`${local}>${remote}`)
  }
  return { client, server }
}

/**
 * The TIME_WAIT sockets of `port` in this process's network namespace (both tables); with `serverNs`,
 * the server side is read from that namespace's tables instead (wire mode: the server runs there).
 */
export function readTimeWait(port: number, serverNs?: string): { client: Set<string>; server: Set<string> } {
  const own = timeWaitSets(port, (file) => readFileSync(file, 'latin1'))
  if (serverNs === undefined) return own
  const there = timeWaitSets(port, (file) =>
    execFileSync('ip', ['netns', 'exec', serverNs, 'cat', file], { encoding: 'latin1' }),
  )
  return { client: own.client, server: there.server }
}

function timeWaitSets(
  port: number,
  read: (file: string) => string,
): { client: Set<string>; server: Set<string> } {
  const client = new Set<string>()
  const server = new Set<string>()
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try {
      text = read(file)
    } catch {
      continue
    }
    const e = timeWaitEntries(text, port)
    for (const k of e.client) client.add(k)
    for (const k of e.server) server.add(k)
  }
  return { client, server }
}

/** Sockets in TIME_WAIT in `after` that were not in `before`. */
export function newTimeWait(
  before: { client: Set<string>; server: Set<string> },
  after: { client: Set<string>; server: Set<string> },
): TimeWaitCount {
  let client = 0
  let server = 0
  for (const k of after.client) if (!before.client.has(k)) client++
  for (const k of after.server) if (!before.server.has(k)) server++
  return { client, server }
}

// ---- aggregation ----

const round3 = (x: number): number => Math.round(x * 1000) / 1000

/** Nearest-rank percentiles of `values`, ms. */
export function summariseMs(values: readonly number[]): MsSummary {
  const n = values.length
  if (n === 0) return { count: 0, p50: 0, p90: 0, max: 0, mean: 0, min: 0 }
  const v = [...values].sort((a, b) => a - b)
  const at = (p: number): number => v[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))] as number
  return {
    count: n,
    p50: round3(at(50)),
    p90: round3(at(90)),
    max: round3(v[n - 1] as number),
    mean: round3(v.reduce((a, b) => a + b, 0) / n),
    min: round3(v[0] as number),
  }
}

function sumBytes(list: readonly Bytes[]): Bytes {
  let c = 0
  let s = 0
  for (const b of list) {
    c += b.clientToServer
    s += b.serverToClient
  }
  return { clientToServer: c, serverToClient: s }
}

function meanBytes(list: readonly Bytes[]): Bytes {
  const t = sumBytes(list)
  const n = Math.max(1, list.length)
  return { clientToServer: round3(t.clientToServer / n), serverToClient: round3(t.serverToClient / n) }
}

function meanOf(list: readonly Bytes[]): Bytes & { connections: number } {
  return { connections: list.length, ...meanBytes(list) }
}

function firstFinOf(records: readonly ConnectionRecord[]): 'client' | 'server' | 'mixed' {
  const sides = new Set(records.map((r) => r.firstFin))
  return sides.size === 1 ? ([...sides][0] as 'client' | 'server') : 'mixed'
}

// ---- the probe ----

function modeOf(name: string): Mode {
  switch (name as LifecycleTransport) {
    case 'short-poll':
    case 'long-poll':
      return 'poll'
    case 'sse':
      return 'sse'
    case 'websocket':
      return 'websocket'
    default:
      throw new PbOptionError(
        'transport',
        `the lifecycle probe speaks ${LIFECYCLE_TRANSPORTS.join(', ')}; got ${JSON.stringify(name)}`,
      )
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function positiveInt(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new PbOptionError(field, `must be a positive integer, got ${JSON.stringify(v)}`)
  return v
}

/** Runs the probe: discovery (unless latestSeq is given), the lifecycle connections, short polling's modes. */
export async function runLifecycle(o: LifecycleOptions): Promise<LifecycleResult> {
  const mode = modeOf(o.transport)
  const name = o.transport as LifecycleTransport
  const connections = positiveInt('connections', o.connections)
  const K = positiveInt('pollsPerConnection', o.pollsPerConnection)
  const concurrency = Math.min(connections, positiveInt('concurrency', o.concurrency ?? 1))
  if (typeof o.rttMs !== 'number' || !(o.rttMs >= 0))
    throw new PbOptionError('rttMs', `must be a number >= 0, got ${JSON.stringify(o.rttMs)}`)
  const url = new URL(o.base)
  const tls = o.ca !== undefined
  if (url.protocol === 'https:' && !tls)
    throw new PbOptionError('ca', 'an https base needs the certificate to trust')
  if (url.protocol !== 'https:' && tls)
    throw new PbOptionError('base', 'a certificate was given for a plain http base')
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80)
  const target: Target = {
    host,
    port,
    path: transportEntry(name).path,
    link: { rttMs: o.rttMs, ca: o.ca, sharedReads: o.sharedReads },
    timeoutMs: (o.timeoutMs ?? DEFAULT_TIMEOUT_MS) + 4 * o.rttMs,
  }
  const errors: string[] = []
  let errorCount = 0
  const noteError = (err: unknown): void => {
    errorCount++
    if (errors.length < MAX_ERRORS_KEPT) errors.push((err as Error).message)
  }
  const totals: Bytes[] = []

  // the newest seq: a connection without resume (a 204's pb-seq for short polling, else its first update)
  let latest = o.latestSeq ?? 0
  const discovery: Bytes[] = []
  if (o.latestSeq !== undefined) positiveInt('latestSeq', o.latestSeq)
  else {
    const deadline = nowMs() + target.timeoutMs
    while (latest < 1) {
      const out = await runConnection(target, { mode, since: undefined, polls: 1, nextSince: () => 0 }).catch(
        (err: Error) => {
          throw new Error(`learning the newest seq (a connection without resume): ${err.message}`)
        },
      )
      discovery.push(out.record.total)
      latest = out.maxSeq
      if (latest < 1) {
        if (nowMs() > deadline) throw new Error(`no update published within ${target.timeoutMs} ms`)
        await sleep(DISCOVERY_RETRY_MS)
      }
    }
  }
  let maxSeen = latest
  const nextSince = (): number => Math.max(0, maxSeen - 1)
  const onSeq = (seq: number): void => {
    if (seq > maxSeen) maxSeen = seq
  }

  /** `count` connections of `spec`, `width` at a time; records in start order, failures counted. */
  const runMany = async (count: number, width: number, spec: () => ConnSpec): Promise<ConnectionRecord[]> => {
    const out: (ConnectionRecord | undefined)[] = new Array(count)
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < count) {
        const i = next++
        try {
          const r = await runConnection(target, spec())
          out[i] = r.record
          totals.push(r.record.total)
        } catch (err) {
          noteError(err)
        }
      }
    }
    await Promise.all(Array.from({ length: width }, worker))
    return out.filter((r): r is ConnectionRecord => r !== undefined)
  }

  const serverNs = o.wire?.serverNs
  const linkNow = (): LinkCounters | undefined =>
    o.wire ? readOwnLinkCounters(o.wire.clientDev, 'client') : undefined
  /** TIME_WAIT sockets the phase left, and (wire mode) what crossed the link during it */
  const timeWaitAround = async <T>(
    fn: () => Promise<T>,
  ): Promise<[T, TimeWaitCount, LinkCounters | undefined]> => {
    await sleep(TIME_WAIT_SETTLE_MS)
    const before = readTimeWait(port, serverNs)
    const l0 = linkNow()
    const value = await fn()
    // the last FIN/ACK crosses the link well within the settle time
    await sleep(TIME_WAIT_SETTLE_MS)
    const l1 = linkNow()
    return [
      value,
      newTimeWait(before, readTimeWait(port, serverNs)),
      l0 && l1 ? linkDelta(l0, l1) : undefined,
    ]
  }
  const perConnection = (l: LinkCounters | undefined, n: number): LinkCounters | undefined =>
    l && n > 0
      ? {
          clientToServer: round3(l.clientToServer / n),
          serverToClient: round3(l.serverToClient / n),
          packetsClientToServer: round3(l.packetsClientToServer / n),
          packetsServerToClient: round3(l.packetsServerToClient / n),
        }
      : undefined

  const errorsBefore = errorCount
  const [records, lifeTw, lifeLink] = await timeWaitAround(() =>
    runMany(connections, concurrency, () => ({ mode, since: nextSince(), polls: 1, nextSince, onSeq })),
  )
  const lifecycle: LifecycleAggregate = {
    connections,
    completed: records.length,
    errors: errorCount - errorsBefore,
    firstUpdateMs: summariseMs(records.map((r) => r.firstUpdateMs)),
    closeMs: summariseMs(records.map((r) => r.closeMs)),
    setup: meanBytes(records.map((r) => r.setup)),
    close: meanBytes(records.map((r) => r.close)),
    total: meanBytes(records.map((r) => r.total)),
    setupOneUpdate: meanOf(records.filter((r) => r.setupUpdates === 1).map((r) => r.setup)),
    setupUpdates: round3(records.reduce((a, r) => a + r.setupUpdates, 0) / Math.max(1, records.length)),
    closeUpdates: records.reduce((a, r) => a + r.closeUpdates, 0),
    closeNoUpdate: meanOf(records.filter((r) => r.closeUpdates === 0).map((r) => r.close)),
    firstFin: firstFinOf(records),
    timeWait: lifeTw,
    ...(lifeLink ? { link: perConnection(lifeLink, records.length) } : {}),
  }

  let shortPoll: LifecycleResult['shortPoll']
  if (name === 'short-poll') {
    const pollMode = async (keepAlive: boolean): Promise<PollModeResult> => {
      const before = errorCount
      let t0 = 0
      let t1 = 0
      const [recs, tw, link] = await timeWaitAround(async () => {
        t0 = nowMs()
        const r = keepAlive
          ? await runMany(1, 1, () => ({ mode: 'poll', since: nextSince(), polls: K, nextSince, onSeq }))
          : await runMany(K, 1, () => ({
              mode: 'poll-close',
              since: nextSince(),
              polls: 1,
              nextSince,
              onSeq,
            }))
        t1 = nowMs()
        return r
      })
      const polls = recs.flatMap((r) => r.polls ?? [])
      return {
        keepAlive,
        connections: keepAlive ? 1 : K,
        polls: polls.length,
        errors: errorCount - before,
        pollMs: summariseMs(polls.map((p) => p.ms)),
        connectPollMs: summariseMs(polls.filter((p) => p.connected).map((p) => p.ms)),
        reusedPollMs: summariseMs(polls.filter((p) => !p.connected).map((p) => p.ms)),
        perPoll: meanBytes(polls.map((p) => p.bytes)),
        close: sumBytes(recs.map((r) => r.close)),
        totalMs: round3(t1 - t0),
        total: sumBytes(recs.map((r) => r.total)),
        firstFin: firstFinOf(recs),
        timeWait: tw,
        ...(link ? { link } : {}),
        records: recs,
      }
    }
    const keepAlive = await pollMode(true)
    const noKeepAlive = await pollMode(false)
    shortPoll = { keepAlive, noKeepAlive }
  }

  const rounds = setupRoundTrips(tls)
  return {
    transport: name,
    rttMs: o.rttMs,
    tls,
    concurrency,
    latestSeq: latest,
    model: { setupRoundTrips: rounds, firstUpdateMs: rounds * o.rttMs, closeRoundTrips: 1, closeMs: o.rttMs },
    lifecycle,
    shortPoll,
    discovery: sumBytes(discovery),
    totals: sumBytes([...discovery, ...totals]),
    // load/lean/connect.ts counts a TLS connection on the TCP socket under it: records and handshake included
    bytesAre: 'tcp-payload',
    errors,
    records,
  }
}
