/**
 * A server as a process: prints one JSON ready line when it listens, answers the run's requests over
 * IPC (counters on tick boundaries, publish counts, rate steps), and on SIGTERM/SIGINT (or when its
 * parent goes away) closes every connection the proper way and exits 0. `pushbench serve` runs it.
 */
import { readOwnLinkCounters, WIRE_DEV_ENV } from '../lib/netns.ts'
import type { ReadyLine, ServerReply, ServerRequest } from './ipc.ts'
import type { RunningServer } from './server.ts'
import { atTickBoundary } from './tick-aligned.ts'

export function serveProcess(server: RunningServer): void {
  // wire mode (lib/netns.ts): the veth end in this server's namespace, whose counters each snapshot adds
  const wireDev = process.env[WIRE_DEV_ENV] || undefined
  const ready: ReadyLine = {
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
  }

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
  process.on('SIGTERM', () => void stop())
  process.on('SIGINT', () => void stop())
  process.on('disconnect', () => void stop())

  process.on('message', (m: ServerRequest) => {
    const reply = (r: ServerReply) => process.send?.(r)
    try {
      switch (m.type) {
        case 'counters':
        case 'mark': {
          const take = () => {
            if (m.type === 'mark') server.markRss()
            const c = server.counters()
            // the link in the same instant as the sockets: both end the window on the same tick
            const link = wireDev === undefined ? undefined : readOwnLinkCounters(wireDev, 'server')
            return link ? { ...c, link } : c
          }
          if (m.atMs === undefined) return reply({ id: m.id, type: 'counters', counters: take() })
          void atTickBoundary(server.source, m.atMs, take).then((counters) =>
            reply({ id: m.id, type: 'counters', counters }),
          )
          return
        }
        case 'published':
          return reply({
            id: m.id,
            type: 'published',
            perStream: server.source.publishedBetween(m.fromMs, m.toMs),
            lastSeq: server.source.lastSeqOf(0),
          })
        case 'memory': {
          // a full collection first, so that garbage waiting for the next GC is not counted as held
          const gc = (globalThis as { gc?: () => void }).gc
          gc?.()
          return reply({
            id: m.id,
            type: 'memory',
            rssBytes: process.memoryUsage.rss(),
            connections: server.counters().connections,
            gc: gc !== undefined,
          })
        }
        case 'set-rate':
          server.source.setRate(m.tickHz, m.updatesPerTick)
          return reply({ id: m.id, type: 'ok' })
      }
    } catch (err) {
      reply({ id: m.id, type: 'error', message: (err as Error).message })
    }
  })

  // only now: a parent may signal as soon as it reads this line, and must find the handlers installed
  process.stdout.write(`${JSON.stringify(ready)}\n`)
}
