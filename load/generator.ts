/**
 * A load generator: runs N clients of one transport against one server, ramped in batches, and reports
 * each measured window's latency, delivery and its own CPU (so a saturated generator is caught). All its
 * state is in one instance; `load/generator-process.ts` drives it over IPC from the run.
 */
import { performance } from 'node:perf_hooks'
import { nowMs } from '../lib/clock.ts'
import { PbError } from '../lib/errors.ts'
import { newHistogram, summarise } from '../lib/latency.ts'
import { mulberry32 } from '../lib/random.ts'
import { transport as transportEntry } from '../lib/transports.ts'
import { isTwoWay, publishesNothing, workload } from '../lib/workloads.ts'
import { ChatSender, ChatTally, sendPhases } from './chat/driver.ts'
import { LeanPostSender, LibraryPostSender, type PostSender } from './chat/post-sender.ts'
import { BROWSER_SETTLE } from './chromium.ts'
import type { BrowserClient } from './clients/browser.ts'
import {
  type ClientChat,
  type ClientClass,
  type ClientContext,
  ClientSockets,
  type LoadClient,
} from './clients/common.ts'
import type { Window } from './delivery.ts'
import type { ClientKind, GeneratorMessage, GeneratorReport, GeneratorRequest } from './generator-ipc.ts'
import { stratifiedPhases } from './poll-phases.ts'
import { descendantsCpu } from './process-tree-cpu.ts'
import { sourceAddressOf } from './source-addresses.ts'

interface Mark {
  /** this process's, plus its children's (Chromium) with browser clients */
  cpu: NodeJS.CpuUsage
  processes: number
  elu: ReturnType<typeof performance.eventLoopUtilization>
  bytes: { read: number; written: number }
  atMs: number
}

/** How often the drain looks whether every client is past the window. */
const DRAIN_CHECK_MS = 20
/** How often the ramp looks whether every client is subscribed. */
const SUBSCRIBE_CHECK_MS = 20

/** Pages opened at once: opening one costs Chromium tens of ms of the generator's core. */
const BROWSER_RAMP_BATCH = 10

/**
 * How long the clients may wait for the server to count them as subscribers: a held long poll is
 * answered at the next tick, so at least three tick periods, and 10 s for a server busy with the others.
 */
export const subscribeBoundMs = (tickHz: number): number => Math.max(10_000, 3000 / tickHz)

/** RSS after a full collection, when this process runs with --expose-gc. */
function rssAfterGc(): number | undefined {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) return undefined
  gc()
  return process.memoryUsage.rss()
}

/** A phase sequence past its first `n`: a generator's slice takes the phases of its own clients. */
function skipped<T>(next: () => T, n: number): () => T {
  for (let i = 0; i < n; i++) next()
  return next
}

type Start = Extract<GeneratorRequest, { type: 'start' }>
type OpenWindow = Extract<GeneratorRequest, { type: 'window' }>

export class Generator {
  private readonly window: Window = { startMs: Number.POSITIVE_INFINITY, endMs: Number.POSITIVE_INFINITY }
  private readonly latency = newHistogram()
  private readonly scheduleLag = newHistogram()
  private readonly sockets = new ClientSockets()
  private readonly clients: LoadClient[] = []
  /** clients whose first connection failed: the drain does not wait for them */
  private readonly unconnected = new Set<LoadClient>()
  private readonly timers: NodeJS.Timeout[] = []
  /** polled transports record how late each poll left its schedule */
  private polled = false
  private kind: ClientKind = 'library'
  private startMark: Mark | undefined
  /** the last window was reported: every client is stopped */
  finished = false

  /** the chat workload's senders and their tally (load/chat/); none for a one-way workload */
  private readonly senders: ChatSender[] = []
  private chat: ChatTally | undefined

  /**
   * `send` carries progress and reports to the run; `last` is true for the final report. `options` are
   * for tests that run a generator in-process: `chatRecord` sees every chat message each client receives,
   * `chatSendLimit` bounds the messages each client sends.
   */
  constructor(
    private readonly send: (m: GeneratorMessage, last: boolean) => void,
    private readonly options: { chatRecord?: ClientChat['record']; chatSendLimit?: number } = {},
  ) {}

  private queuedSends(): number {
    let n = 0
    for (const s of this.senders) n += s.post?.queued ?? 0
    return n
  }

  private mark(): Mark {
    const cpu = process.cpuUsage()
    let processes = 1
    if (this.kind === 'browser') {
      const tree = descendantsCpu()
      cpu.user += tree.userUs
      cpu.system += tree.systemUs
      processes += tree.processes
    }
    return {
      cpu,
      processes,
      elu: performance.eventLoopUtilization(),
      bytes: this.sockets.bytes(),
      atMs: nowMs(),
    }
  }

  /** Connects the clients in batches, reporting progress, then how many connected on each stream. */
  async start(m: Start): Promise<void> {
    const entry = transportEntry(m.transport)
    this.polled = entry.kind === 'poll'
    const lean = m.client === 'lean' ? entry.clients.lean : undefined
    this.kind = m.client === 'browser' ? 'browser' : lean ? 'lean' : 'library'
    let Client: ClientClass
    if (this.kind === 'browser') {
      if (entry.clients.browser === undefined)
        throw new PbError(
          'PB_ERR_CLIENT',
          `transport ${m.transport} has no browser client (servers/page/page.js)`,
        )
      Client = (await import('./clients/browser.ts')).BrowserClient
    } else Client = await (lean ?? entry.clients.library)()
    const batchSize = this.kind === 'browser' ? Math.min(m.ramp.batch, BROWSER_RAMP_BATCH) : m.ramp.batch
    const wl = workload(m.workload)
    const streams = wl.streams(m.params)
    const twoWay = isTwoWay(m.workload)
    if (twoWay && this.kind === 'browser')
      throw new PbError('PB_ERR_CLIENT', `the ${m.workload} workload has no browser client (lean or library)`)
    if (twoWay) this.chat = new ChatTally(this.window, this.options.chatRecord)
    // this process's slice of the run's clients (--generators): client k here is client first + k of total
    const first = m.firstClient ?? 0
    const total = m.totalClients ?? m.clients
    const sources = m.sources && m.sources.addresses.length > 0 ? m.sources : undefined
    let nextClient = 0
    const idleRssBytes = rssAfterGc()
    const ctx: ClientContext = {
      base: new URL(m.base),
      path: entry.path,
      streams,
      params: m.params,
      window: this.window,
      latency: this.latency,
      scheduleLag: this.scheduleLag,
      sockets: this.sockets,
      pollPhase: skipped(stratifiedPhases(total, mulberry32(m.params.seed ^ 0x9e3779b9)), first),
      verifyEvery: m.verifyEvery,
      ca: m.ca,
      nextSourceAddress: sources ? () => sourceAddressOf(sources, first + nextClient++) : undefined,
      chat: this.chat,
    }
    const { clients, unconnected } = this
    const t0 = nowMs()
    let lastError: string | undefined
    for (let i = 0; i < m.clients && !this.finished; i += batchSize) {
      const batch: Promise<void>[] = []
      for (let k = i; k < Math.min(m.clients, i + batchSize); k++) {
        const c = new Client(ctx, wl.streamOf(first + k, m.params), first + k)
        clients.push(c)
        batch.push(
          c.start().catch((err: Error) => {
            unconnected.add(c)
            lastError = err.message
          }),
        )
      }
      await Promise.all(batch)
      this.send({ type: 'progress', connected: clients.length - unconnected.size, total: m.clients }, false)
      if (m.ramp.pauseMs > 0 && i + batchSize < m.clients)
        await new Promise((r) => setTimeout(r, m.ramp.pauseMs))
    }
    // a poll of the idle workload is answered only when its hold times out: nothing is waited for
    if (!publishesNothing(m.workload))
      lastError = (await this.untilSubscribed(subscribeBoundMs(m.params.tickHz))) ?? lastError
    if (this.kind === 'browser') await this.untilBrowserSettles()
    if (this.chat && !this.finished) this.startSenders(m, first, sources)
    const failed = unconnected.size
    const subscribers = new Array<number>(streams).fill(0)
    for (const c of clients) if (!unconnected.has(c)) subscribers[c.stream] = (subscribers[c.stream] ?? 0) + 1
    this.send(
      {
        type: 'connected',
        connected: clients.length - failed,
        failed,
        subscribers,
        ms: nowMs() - t0,
        lastError,
        idleRssBytes,
        rampRssBytes: rssAfterGc(),
      },
      false,
    )
  }

  /**
   * The chat: a sender per connected client, on its seeded phase (load/chat/driver.ts), through the
   * client's own connection or a POST /send connection of its own, as the transport's entry says.
   */
  private startSenders(m: Start, first: number, sources: Start['sources']): void {
    const tally = this.chat as ChatTally
    const entry = transportEntry(m.transport)
    const phase = sendPhases(m.params.seed, first, m.params.sendHz)
    const base = new URL(m.base)
    for (const [k, c] of this.clients.entries()) {
      const phaseMs = phase()
      if (this.unconnected.has(c)) continue
      let post: PostSender | undefined
      if (entry.upstream === 'post') {
        post =
          this.kind === 'lean'
            ? new LeanPostSender(base, this.sockets, {
                rttMs: m.params.rttMs,
                ca: m.ca,
                localAddress: sources ? sourceAddressOf(sources, first + k) : undefined,
              })
            : new LibraryPostSender(base, this.sockets, m.ca)
      } else if (c.send === undefined)
        throw new PbError(
          'PB_ERR_CLIENT',
          `${m.transport}'s ${this.kind} client cannot send (no LoadClient.send)`,
        )
      const s = new ChatSender(c, first + k, m.params, tally, post, this.options.chatSendLimit)
      this.senders.push(s)
      s.start(phaseMs)
    }
  }

  /**
   * Waits until every connected client is a subscriber the server knows of (a poll client once its
   * first request was answered: a server that has not read that request yet owes it nothing), for at most
   * `boundMs`. A client still waiting then is stopped and counted as not connected, so that no window
   * expects updates for it. The reason, when some were dropped.
   */
  private async untilSubscribed(boundMs: number): Promise<string | undefined> {
    const deadline = nowMs() + boundMs
    const waiting = (): LoadClient[] => this.clients.filter((c) => !this.unconnected.has(c) && !c.subscribed)
    while (!this.finished && waiting().length > 0 && nowMs() < deadline)
      await new Promise((r) => setTimeout(r, SUBSCRIBE_CHECK_MS))
    const late = waiting()
    for (const c of late) {
      this.unconnected.add(c)
      c.stop()
    }
    return late.length > 0
      ? `${late.length} clients had no answer to their first request within ${(boundMs / 1000).toFixed(0)} s`
      : undefined
  }

  /**
   * Chromium keeps a core busy for seconds after its pages opened (20 pages: 85-96% of a core for 2 s,
   * then 35-40%): a window opened before that measures the browser's start, not the transport. Waits
   * until a 1 s slice of its CPU is under BROWSER_SETTLE.belowPercent of a core and no longer falling
   * (at least 3/4 of the slice before), for at most BROWSER_SETTLE.maxMs; a browser that stays above it
   * is flagged busy or saturated by the window anyway.
   */
  private async untilBrowserSettles(): Promise<void> {
    const deadline = nowMs() + BROWSER_SETTLE.maxMs
    let prev: number | undefined
    let a = descendantsCpu()
    let at = nowMs()
    while (!this.finished && nowMs() < deadline) {
      await new Promise((r) => setTimeout(r, BROWSER_SETTLE.sliceMs))
      const b = descendantsCpu()
      const now = nowMs()
      const percent = ((b.userUs + b.systemUs - a.userUs - a.systemUs) / 1000 / (now - at)) * 100
      const connected = this.clients.length - this.unconnected.size
      const note = `Chromium settling: ${percent.toFixed(0)}% of a core`
      this.send({ type: 'progress', connected, total: this.clients.length, note }, false)
      if (percent < BROWSER_SETTLE.belowPercent && prev !== undefined && percent >= prev * 0.75) return
      prev = percent
      a = b
      at = now
    }
  }

  /** A window to measure: marked at its start, reported after its end and the drain. */
  openWindow(m: OpenWindow): void {
    this.window.startMs = m.startMs
    this.window.endMs = m.endMs
    this.window.deliveredBySlice = []
    this.startMark = undefined
    this.timers.push(setTimeout(() => (this.startMark = this.mark()), Math.max(0, m.startMs - nowMs())))
    this.closeWindowAt(m.endMs, m.drainMs, false, m.last)
  }

  /**
   * An interrupt: the window ends where the run closes it (the server's counters and its published count
   * end there too), then drains and reports as a planned end does.
   */
  stop(endMs: number | undefined, drainMs: number | undefined): void {
    if (this.finished) return
    // (a start mark still pending on a late timer is taken now, not dropped with the timers)
    if (this.startMark === undefined && nowMs() >= this.window.startMs) this.startMark = this.mark()
    for (const t of this.timers) clearTimeout(t)
    this.window.endMs = Math.min(this.window.endMs, endMs ?? nowMs())
    this.closeWindowAt(this.window.endMs, drainMs ?? 0, true, true)
  }

  /**
   * After the window: waits until every connected client has seen an update published after the
   * window's end (in order, so every in-window update that will come has come: a late one counts as
   * late, not as missed), or until `capMs`, whichever is first.
   */
  private drainThen(capMs: number, done: () => void): void {
    const deadline = nowMs() + capMs
    const check = (): void => {
      const behind = this.clients.some(
        (c) => !this.unconnected.has(c) && c.delivery.maxTs < this.window.endMs,
      )
      if (!behind || nowMs() >= deadline) done()
      else this.timers.push(setTimeout(check, DRAIN_CHECK_MS))
    }
    check()
  }

  /** At `endMs`: marks the window's end, drains, then reports it. */
  private closeWindowAt(endMs: number, drainMs: number, partial: boolean, last: boolean): void {
    const atEnd = (): void => {
      const end = this.mark()
      this.drainThen(drainMs, () => this.report(end, partial, last))
    }
    this.timers.push(setTimeout(atEnd, Math.max(0, endMs - nowMs())))
  }

  /** What only pages have: how far their clock was from this one, and the close codes they saw. */
  private browserFigures(): Pick<GeneratorReport, 'clockOffset' | 'closeCodes'> {
    let clockOffset: GeneratorReport['clockOffset']
    const closeCodes: Record<string, number> = {}
    for (const c of this.clients as BrowserClient[]) {
      const o = c.clockOffset
      if (o && (clockOffset === undefined || Math.abs(o.ms) > Math.abs(clockOffset.ms))) clockOffset = o
      for (const code of c.closeCodes) closeCodes[code] = (closeCodes[code] ?? 0) + 1
    }
    return { clockOffset, ...(Object.keys(closeCodes).length > 0 ? { closeCodes } : {}) }
  }

  /** Reports the window that `end` closed; then either stops every client or readies the next window. */
  private report(end: Mark, partial: boolean, last: boolean): void {
    if (this.finished) return
    const { clients } = this
    if (last) {
      this.finished = true
      for (const t of this.timers) clearTimeout(t)
      for (const s of this.senders) s.stop()
      for (const c of clients) c.stop()
    }
    const start = this.startMark ?? end
    const windowMs = Math.max(0, end.atMs - start.atMs)
    const userUs = end.cpu.user - start.cpu.user
    const systemUs = end.cpu.system - start.cpu.system
    const elu = performance.eventLoopUtilization(end.elu, start.elu)
    let delivered = 0
    let duplicates = 0
    let outOfOrder = 0
    const gaps = { signals: 0, seqs: 0, resumeRefused: 0 }
    let minDelivered = Number.POSITIVE_INFINITY
    let requests = 0
    let errors = 0
    let reconnects = 0
    let verified = 0
    let corrupt = 0
    let lastError: string | undefined
    for (const c of clients) {
      c.delivery.flush()
      delivered += c.delivery.delivered
      duplicates += c.delivery.duplicates
      outOfOrder += c.delivery.outOfOrder
      gaps.signals += c.delivery.gapSignals
      gaps.seqs += c.delivery.gapSeqs
      gaps.resumeRefused += c.delivery.resumeRefused
      minDelivered = Math.min(minDelivered, c.delivery.delivered)
      requests += c.counters.requests
      errors += c.counters.errors
      reconnects += c.counters.reconnects
      verified += c.counters.verified
      corrupt += c.counters.corrupt
      lastError = c.counters.lastError ?? lastError
    }
    const report: GeneratorReport = {
      client: this.kind,
      clients: clients.length,
      latency: summarise(this.latency, { withHdr: true }),
      scheduleLag: this.polled ? summarise(this.scheduleLag, { withHdr: true }) : undefined,
      delivered,
      duplicates,
      outOfOrder,
      gaps,
      minDeliveredPerClient: Number.isFinite(minDelivered) ? minDelivered : 0,
      requests,
      errors,
      reconnects,
      verified,
      corrupt,
      lastError,
      clientBytes: {
        read: end.bytes.read - start.bytes.read,
        written: end.bytes.written - start.bytes.written,
      },
      cpuUserUs: userUs,
      cpuSystemUs: systemUs,
      processes: Math.max(start.processes, end.processes),
      ...(this.kind === 'browser' ? this.browserFigures() : {}),
      windowMs,
      cpuPercent: windowMs > 0 ? ((userUs + systemUs) / 1000 / windowMs) * 100 : 0,
      eventLoopUtilization: elu.utilization,
      partial,
      deliveredBySlice: Array.from(this.window.deliveredBySlice ?? [], (n) => n ?? 0),
      ...(this.chat ? { chat: this.chat.report(this.queuedSends()) } : {}),
    }
    if (!last) {
      // the next window starts clean; positions in the stream are kept
      this.latency.reset()
      this.scheduleLag.reset()
      this.chat?.reset(this.queuedSends())
      for (const c of clients) {
        c.delivery.resetCounts()
        c.counters.requests = 0
        c.counters.errors = 0
        c.counters.reconnects = 0
        c.counters.verified = 0
        c.counters.corrupt = 0
      }
      this.window.startMs = Number.POSITIVE_INFINITY
      this.window.endMs = Number.POSITIVE_INFINITY
    }
    this.send({ type: 'result', report }, last)
  }
}
