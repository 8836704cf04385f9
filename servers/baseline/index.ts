/**
 * The baseline servers the suite's own are held against (issue 4, "Targets"): bare, minimal code on the
 * same Ticker (same seed, same bytes), the same paths and answers, the same write policy and queue bound,
 * counted the same way (socket bytes, CPU, RSS). `startBaseline` returns the same RunningServer shape.
 */
import { PbOptionError } from '../../lib/errors.ts'
import { transport } from '../../lib/transports.ts'
import { newTransportStats, RssSampler, SocketCounters, snapshot } from '../counters.ts'
import { guardDescriptors } from '../descriptors.ts'
import { listenError } from '../listen-error.ts'
import { resolveServerOptions, type ServerOptions, serverUrl } from '../options.ts'
import { dropSockets, type RunningServer } from '../server.ts'
import { Ticker } from '../ticker.ts'

/**
 * Starts the baseline for `input.transport`; same options and option errors as `startServer`.
 * Options the baseline has no use for (heartbeatMs, pingIntervalMs) are accepted and ignored.
 */
export async function startBaseline(
  input: Partial<ServerOptions> & { transport: unknown },
  names: Partial<Record<keyof ServerOptions, string>> = {},
): Promise<RunningServer> {
  const options = resolveServerOptions(input, names)
  const entry = transport(options.transport)
  if (!entry.baseline) {
    throw new PbOptionError(names.transport ?? 'transport', `${options.transport} has no baseline server`)
  }
  const factory = await entry.baseline()
  const ticker = new Ticker(options)
  const stats = newTransportStats()
  const sockets = new SocketCounters()
  const t = factory({ ticker, path: entry.path, options, stats, sockets })
  sockets.attach(t.httpServer)
  await t.listen().catch((err) => {
    throw listenError(err, options, names)
  })
  const addr = t.httpServer.address()
  const port = typeof addr === 'object' && addr ? addr.port : options.port
  const rss = new RssSampler(stats)
  // connections past what the open-files limit holds are turned away and counted, never fatal
  const fds = guardDescriptors(t.httpServer, stats, { backlog: options.backlog })
  if (options.autoStart) ticker.start()
  let closing: Promise<void> | undefined
  return {
    kind: 'baseline',
    httpServer: t.httpServer,
    source: ticker,
    options,
    stats,
    host: options.host,
    port,
    url: serverUrl(options, port),
    counters: () => snapshot(sockets, rss, stats, ticker.lastSeq),
    markRss: () => rss.mark(),
    excludeSocket: (socket) => sockets.exclude(socket),
    dropAll: () => dropSockets(sockets),
    close: () => {
      closing ??= (async () => {
        ticker.stop()
        rss.stop()
        fds.stop()
        await t.close()
        for (const s of sockets.sockets()) s.destroy()
      })()
      return closing
    },
  }
}
