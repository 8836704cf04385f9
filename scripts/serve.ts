/**
 * One transport's server in its own process:
 *   node --import tsx servers/main.ts --transport sse --port 0 [--tick-hz 10 ...] [--server baseline]
 * Prints one JSON line when it listens ({"event":"ready","port":...}), answers counter requests over
 * IPC, and on SIGTERM/SIGINT (or when its parent goes away) closes every connection properly and exits 0.
 */
import { Option } from 'commander'
import { fail, newCommand, numberArg, parseArgs } from '../lib/cli.ts'
import { flagName, TRANSPORTS, WRITE_POLICIES } from '../lib/params.ts'
import { startBaseline } from '../servers/baseline/index.ts'
import type { ReadyLine, ServerReply, ServerRequest } from '../servers/ipc.ts'
import { SERVER_DEFAULTS, type ServerOptions } from '../servers/options.ts'
import { type RunningServer, SERVER_KINDS, type ServerKind, startServer } from '../servers/server.ts'
import { atTickBoundary } from '../servers/tick-aligned.ts'
import { MIN_PAYLOAD_BYTES } from '../servers/update.ts'

const d = SERVER_DEFAULTS
const cmd = newCommand(
  'servers/main.ts',
  'Serve the ticker over one transport (binds 127.0.0.1 unless --host says otherwise).',
)
  .addOption(new Option('--transport <name>', 'transport to serve').choices(TRANSPORTS).makeOptionMandatory())
  .addOption(
    new Option(
      '--server <kind>',
      "whose server: the suite's own, or the bare baseline it is held against (same paths and bytes)",
    )
      .choices(SERVER_KINDS)
      .default('pushbench'),
  )
  .option('--host <addr>', 'address to bind', d.host)
  .option('--port <n>', 'port (0 = any free port)', numberArg, d.port)
  .option('--seed <n>', 'random-walk seed (0..2^32-1)', numberArg, d.seed)
  .option('--symbols <n>', 'ticker symbols (1..10000)', numberArg, d.symbols)
  .option('--tick-hz <n>', 'ticks a second (0.1..1000)', numberArg, d.tickHz)
  .option('--updates-per-tick <n>', 'updates published per tick (1..10000)', numberArg, d.updatesPerTick)
  .option(
    '--payload-bytes <n>',
    `bytes of one serialised update (${MIN_PAYLOAD_BYTES}..1048576)`,
    numberArg,
    d.payloadBytes,
  )
  .addOption(
    new Option('--write-policy <p>', 'push write policy').choices(WRITE_POLICIES).default(d.writePolicy),
  )
  .option('--ring-size <n>', 'updates kept for resume (0 = sized from the payload)', numberArg, d.ringSize)
  .option(
    '--max-buffered-bytes <n>',
    'unsent bytes before a slow consumer is cut',
    numberArg,
    d.maxBufferedBytes,
  )
  .option('--heartbeat-ms <n>', 'SSE comment heartbeat period (pushbench only)', numberArg, d.heartbeatMs)
  .option('--ping-interval-ms <n>', 'WebSocket ping period (pushbench only)', numberArg, d.pingIntervalMs)
  .option('--long-poll-timeout-ms <n>', 'long poll: hold before 204', numberArg, d.longPollTimeoutMs)
  .option(
    '--per-message-deflate',
    'WebSocket permessage-deflate (changes the bytes; pushbench only)',
    d.perMessageDeflate,
  )
  .option(
    '--max-client-message-bytes <n>',
    'largest client WebSocket message (else close 1009)',
    numberArg,
    d.maxClientMessageBytes,
  )
  .option('--backlog <n>', 'listen backlog', numberArg, d.backlog)

async function main(): Promise<void> {
  const { server: kind, ...opts } = parseArgs(cmd).opts<
    Omit<ServerOptions, 'autoStart'> & { server: ServerKind }
  >()
  const names = Object.fromEntries(Object.keys(opts).map((k) => [k, flagName(k)]))
  const start = kind === 'baseline' ? startBaseline : startServer
  let server: RunningServer
  try {
    server = await start({ ...opts, autoStart: true, transport: opts.transport }, names)
  } catch (err) {
    fail(err, 'servers/main.ts')
  }
  const ready: ReadyLine = {
    event: 'ready',
    transport: server.options.transport,
    host: server.host,
    port: server.port,
    url: server.url,
    pid: process.pid,
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
            return server.counters()
          }
          if (m.atMs === undefined) return reply({ id: m.id, type: 'counters', counters: take() })
          void atTickBoundary(server.ticker, m.atMs, take).then((counters) =>
            reply({ id: m.id, type: 'counters', counters }),
          )
          return
        }
        case 'published':
          return reply({
            id: m.id,
            type: 'published',
            count: server.ticker.publishedBetween(m.fromMs, m.toMs),
            lastSeq: server.ticker.lastSeq,
          })
        case 'set-rate':
          server.ticker.setRate(m.tickHz, m.updatesPerTick)
          return reply({ id: m.id, type: 'ok' })
      }
    } catch (err) {
      reply({ id: m.id, type: 'error', message: (err as Error).message })
    }
  })

  // only now: a parent may signal as soon as it reads this line, and must find the handlers installed
  process.stdout.write(`${JSON.stringify(ready)}\n`)
}

main().catch((err) => fail(err, 'servers/main.ts'))
