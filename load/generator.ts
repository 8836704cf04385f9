/**
 * A load generator process: runs N clients of one transport against one server, ramped in batches,
 * and reports the window's latency, delivery and its own CPU (so a saturated generator is caught).
 * Started by the orchestrator with an IPC channel: `node --import tsx load/generator.ts`.
 */
import { performance } from 'node:perf_hooks'
import { nowMs } from '../lib/clock.ts'
import { mulberry32 } from '../lib/random.ts'
import { type Transport, transport as transportEntry } from '../lib/transports.ts'
import { workload } from '../lib/workloads.ts'
import { type ClientContext, ClientSockets, type LoadClient } from './clients/common.ts'
import type { Window } from './delivery.ts'
import type { GeneratorMessage, GeneratorReport, GeneratorRequest } from './generator-ipc.ts'
import { newHistogram, summarise } from './latency.ts'
import { stratifiedPhases } from './poll-phases.ts'

const send = (m: GeneratorMessage): void => {
  process.send?.(m)
}

interface Mark {
  cpu: NodeJS.CpuUsage
  elu: ReturnType<typeof performance.eventLoopUtilization>
  bytes: { read: number; written: number }
  atMs: number
}

const window: Window = { startMs: Number.POSITIVE_INFINITY, endMs: Number.POSITIVE_INFINITY }
const latency = newHistogram()
const scheduleLag = newHistogram()
const sockets = new ClientSockets()
const clients: LoadClient[] = []
/** clients whose first connection failed: the drain does not wait for them */
const unconnected = new Set<LoadClient>()
let transport: Transport | undefined
let startMark: Mark | undefined
let finished = false
const timers: NodeJS.Timeout[] = []

const mark = (): Mark => ({
  cpu: process.cpuUsage(),
  elu: performance.eventLoopUtilization(),
  bytes: sockets.bytes(),
  atMs: nowMs(),
})

async function start(m: Extract<GeneratorRequest, { type: 'start' }>): Promise<void> {
  transport = m.transport
  const entry = transportEntry(m.transport)
  const Client = await entry.clients.library()
  const wl = workload(m.workload)
  const streams = wl.streams(m.params)
  const ctx: ClientContext = {
    base: new URL(m.base),
    path: entry.path,
    streams,
    params: m.params,
    window,
    latency,
    scheduleLag,
    sockets,
    pollPhase: stratifiedPhases(m.clients, mulberry32(m.params.seed ^ 0x9e3779b9)),
  }
  const t0 = nowMs()
  let lastError: string | undefined
  for (let i = 0; i < m.clients && !finished; i += m.ramp.batch) {
    const batch: Promise<void>[] = []
    for (let k = i; k < Math.min(m.clients, i + m.ramp.batch); k++) {
      const c = new Client(ctx, wl.streamOf(k, m.params))
      clients.push(c)
      batch.push(
        c.start().catch((err: Error) => {
          unconnected.add(c)
          lastError = err.message
        }),
      )
    }
    await Promise.all(batch)
    send({ type: 'progress', connected: clients.length - unconnected.size, total: m.clients })
    if (m.ramp.pauseMs > 0 && i + m.ramp.batch < m.clients)
      await new Promise((r) => setTimeout(r, m.ramp.pauseMs))
  }
  const failed = unconnected.size
  const subscribers = new Array<number>(streams).fill(0)
  for (const c of clients) if (!unconnected.has(c)) subscribers[c.stream] = (subscribers[c.stream] ?? 0) + 1
  send({
    type: 'connected',
    connected: clients.length - failed,
    failed,
    subscribers,
    ms: nowMs() - t0,
    lastError,
  })
}

/** How often the drain looks whether every client is past the window. */
const DRAIN_CHECK_MS = 20

/**
 * After the window: waits until every connected client has seen an update published after the window's
 * end (in order, so every in-window update that will come has come: a late one counts as late, not as
 * missed), or until `capMs`, whichever is first.
 */
function drainThen(capMs: number, done: () => void): void {
  const deadline = nowMs() + capMs
  const check = (): void => {
    const behind = clients.some((c) => !unconnected.has(c) && c.delivery.maxTs < window.endMs)
    if (!behind || nowMs() >= deadline) done()
    else timers.push(setTimeout(check, DRAIN_CHECK_MS))
  }
  check()
}

function openWindow(m: Extract<GeneratorRequest, { type: 'window' }>): void {
  window.startMs = m.startMs
  window.endMs = m.endMs
  startMark = undefined
  timers.push(setTimeout(() => (startMark = mark()), Math.max(0, m.startMs - nowMs())))
  closeWindowAt(m.endMs, m.drainMs, false, m.last)
}

/** At `endMs`: marks the window's end, drains, then reports it. */
function closeWindowAt(endMs: number, drainMs: number, partial: boolean, last: boolean): void {
  timers.push(
    setTimeout(
      () => {
        const end = mark()
        drainThen(drainMs, () => report(end, partial, last))
      },
      Math.max(0, endMs - nowMs()),
    ),
  )
}

/** Reports the window that `end` closed; then either stops every client or readies the next window. */
function report(end: Mark, partial: boolean, last: boolean): void {
  if (finished) return
  if (last) {
    finished = true
    for (const t of timers) clearTimeout(t)
    for (const c of clients) c.stop()
  }
  const start = startMark ?? end
  const windowMs = Math.max(0, end.atMs - start.atMs)
  const userUs = end.cpu.user - start.cpu.user
  const systemUs = end.cpu.system - start.cpu.system
  const elu = performance.eventLoopUtilization(end.elu, start.elu)
  let delivered = 0
  let duplicates = 0
  let outOfOrder = 0
  let minDelivered = Number.POSITIVE_INFINITY
  let requests = 0
  let errors = 0
  let reconnects = 0
  let lastError: string | undefined
  for (const c of clients) {
    delivered += c.delivery.delivered
    duplicates += c.delivery.duplicates
    outOfOrder += c.delivery.outOfOrder
    minDelivered = Math.min(minDelivered, c.delivery.delivered)
    requests += c.counters.requests
    errors += c.counters.errors
    reconnects += c.counters.reconnects
    lastError = c.counters.lastError ?? lastError
  }
  const result: GeneratorReport = {
    clients: clients.length,
    latency: summarise(latency),
    scheduleLag: transport && transportEntry(transport).kind === 'poll' ? summarise(scheduleLag) : undefined,
    delivered,
    duplicates,
    outOfOrder,
    minDeliveredPerClient: Number.isFinite(minDelivered) ? minDelivered : 0,
    requests,
    errors,
    reconnects,
    lastError,
    clientBytes: {
      read: end.bytes.read - start.bytes.read,
      written: end.bytes.written - start.bytes.written,
    },
    cpuUserUs: userUs,
    cpuSystemUs: systemUs,
    windowMs,
    cpuPercent: windowMs > 0 ? ((userUs + systemUs) / 1000 / windowMs) * 100 : 0,
    eventLoopUtilization: elu.utilization,
    partial,
  }
  if (!last) {
    // the next window starts clean; positions in the stream are kept
    latency.reset()
    scheduleLag.reset()
    for (const c of clients) {
      c.delivery.resetCounts()
      c.counters.requests = 0
      c.counters.errors = 0
      c.counters.reconnects = 0
    }
    window.startMs = Number.POSITIVE_INFINITY
    window.endMs = Number.POSITIVE_INFINITY
    send({ type: 'result', report: result })
    return
  }
  // let the IPC message go, then leave (the clients' sockets are closing)
  process.send?.({ type: 'result', report: result } satisfies GeneratorMessage, () => {
    setTimeout(() => process.exit(0), 200).unref()
    process.disconnect?.()
  })
}

process.on('message', (m: GeneratorRequest) => {
  switch (m.type) {
    case 'start':
      start(m).catch((err: Error) => send({ type: 'error', message: err.message }))
      return
    case 'window':
      openWindow(m)
      return
    case 'stop': {
      // an interrupt: the window ends where the orchestrator closes it (the server's counters and its
      // published count end there too), then drains and reports as a planned end does
      if (finished) return
      // (a start mark still pending on a late timer is taken now, not dropped with the timers)
      if (startMark === undefined && nowMs() >= window.startMs) startMark = mark()
      for (const t of timers) clearTimeout(t)
      window.endMs = Math.min(window.endMs, m.endMs ?? nowMs())
      closeWindowAt(window.endMs, m.drainMs ?? 0, true, true)
      return
    }
  }
})

// never outlive the orchestrator
process.on('disconnect', () => {
  if (!finished) process.exit(1)
})
// the orchestrator handles Ctrl-C for the whole run
process.on('SIGINT', () => {})
process.on('SIGTERM', () => process.exit(1))
