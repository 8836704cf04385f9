/**
 * A server as a process: prints one JSON ready line when it listens, answers the run's requests over
 * IPC (counters on tick boundaries, publish counts, rate steps) and, with `--control`, the read-only ones
 * over HTTP too (servers/control.ts), and on SIGTERM/SIGINT (or when its parent goes away) closes every
 * connection the proper way and exits 0. `pushbench serve` runs it.
 */
import { nowMs } from '../lib/clock.ts'
import { readOwnLinkCounters, WIRE_DEV_ENV } from '../lib/netns.ts'
import { attachControl } from './control.ts'
import { isOutOfDescriptors } from './descriptors.ts'
import type { ReadyLine, ServerReply, ServerRequest } from './ipc.ts'
import type { RunningServer } from './server.ts'
import { atTickBoundary } from './tick-aligned.ts'

/** The line a server prints when it listens (and answers `ready` with). */
export function readyLine(server: RunningServer): ReadyLine {
  return {
    event: 'ready',
    transport: server.options.transport,
    host: server.host,
    port: server.port,
    url: server.url,
    pid: process.pid,
    intervals: {
      heartbeatMs: server.options.heartbeatMs,
      pingIntervalMs: server.options.pingIntervalMs,
      longPollTimeoutMs: server.options.longPollTimeoutMs,
    },
    publishes: {
      workload: server.options.workload,
      seed: server.options.seed,
      symbols: server.options.symbols,
      tickHz: server.options.tickHz,
      updatesPerTick: server.options.updatesPerTick,
      payloadBytes: server.options.payloadBytes,
      writePolicy: server.options.writePolicy,
      ...(server.options.workload === 'chat' ? { rooms: server.options.rooms } : {}),
    },
  }
}

/**
 * Answers one request, whether it came over IPC or over HTTP (servers/control.ts, which lets only the
 * read-only ones through). Never rejects: a failure is an `error` reply.
 */
export async function handleRequest(server: RunningServer, m: ServerRequest): Promise<ServerReply> {
  try {
    switch (m.type) {
      case 'counters':
      case 'mark': {
        // wire mode (lib/netns.ts): the veth end in this server's namespace, whose counters each snapshot adds
        const wireDev = process.env[WIRE_DEV_ENV] || undefined
        const take = () => {
          if (m.type === 'mark') server.markRss()
          const c = server.counters()
          // the link in the same instant as the sockets: both end the window on the same tick
          const link = wireDev === undefined ? undefined : readOwnLinkCounters(wireDev, 'server')
          return link ? { ...c, link } : c
        }
        const counters = m.atMs === undefined ? take() : await atTickBoundary(server.source, m.atMs, take)
        return { id: m.id, type: 'counters', counters }
      }
      case 'published':
        return {
          id: m.id,
          type: 'published',
          perStream: server.source.publishedBetween(m.fromMs, m.toMs),
          lastSeq: server.source.lastSeqOf(0),
        }
      case 'memory': {
        // a full collection first, so that garbage waiting for the next GC is not counted as held
        const gc = (globalThis as { gc?: () => void }).gc
        gc?.()
        return {
          id: m.id,
          type: 'memory',
          rssBytes: process.memoryUsage.rss(),
          connections: server.counters().connections,
          gc: gc !== undefined,
        }
      }
      case 'set-rate':
        server.source.setRate(m.tickHz, m.updatesPerTick)
        return { id: m.id, type: 'ok' }
      case 'ready':
        return { id: m.id, type: 'ready', ready: readyLine(server) }
      case 'drop-all': {
        const atMs = nowMs()
        return { id: m.id, type: 'dropped', connections: server.dropAll(), atMs }
      }
      default:
        throw new Error(`unknown request type ${JSON.stringify((m as { type?: unknown }).type)}`)
    }
  } catch (err) {
    // a /proc read (RSS, the link's counters) with no descriptor left: counted, and the caller told
    if (isOutOfDescriptors(err)) server.stats.fdExhausted++
    return { id: m.id, type: 'error', message: (err as Error).message }
  }
}

export function serveProcess(server: RunningServer): void {
  const ready = readyLine(server)

  let stopping = false
  const stop = async (code = 0): Promise<void> => {
    if (stopping) return
    stopping = true
    const force = setTimeout(() => process.exit(code), 5000)
    force.unref()
    await server.close()
    // when the parent went away the channel is already closed: disconnecting again throws
    if (process.connected) process.disconnect()
    process.exit(code)
  }
  // a resource error is never fatal: what failed for want of a descriptor is counted and the server goes on
  // serving what it holds; anything else ends it as Node would (stack on stderr, exit 1), closing nothing
  const fatal = (err: unknown): void => {
    if (isOutOfDescriptors(err)) {
      server.stats.fdExhausted++
      return
    }
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  }
  process.on('uncaughtException', fatal)
  process.on('unhandledRejection', fatal)
  process.on('SIGTERM', () => void stop())
  process.on('SIGINT', () => void stop())
  process.on('disconnect', () => void stop())

  process.on('message', (m: ServerRequest) => {
    // a reply that comes after the parent went away (a counters request waiting for its tick) is dropped
    void handleRequest(server, m).then((r) => process.connected && process.send?.(r))
  })
  if (server.options.control) attachControl(server, (m) => handleRequest(server, m))

  // only now: a parent may signal as soon as it reads this line, and must find the handlers installed
  process.stdout.write(`${JSON.stringify(ready)}\n`)
}
