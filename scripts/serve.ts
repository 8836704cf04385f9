/**
 * `pushbench serve`: one transport's server in its own process, in the foreground:
 *   pushbench serve --transport sse --port 0 [--tick-hz 10 ...] [--server baseline]
 *   pushbench serve --transport websocket --tls            (https/wss, a throwaway self-signed certificate)
 * The orchestrator (load/session.ts, load/autocannon.ts) spawns this file as
 * `node --import tsx scripts/serve.ts ...` with an IPC channel. It prints one JSON line when it listens
 * ({"event":"ready","port":...}), answers counter requests over IPC (and with --control, the read-only
 * ones over HTTP on the same port, for a generator on another host: servers/control.ts), and on
 * SIGTERM/SIGINT (or when its parent goes away) closes every connection properly and exits 0.
 */
import { Option } from 'commander'
import { fail, newCommand, numberIn, parseArgs, rangeText } from '../lib/cli.ts'
import { checkPlannedLoad } from '../lib/load-bound.ts'
import { flagName, PARAM_RANGES, SERVER_RANGES, WRITE_POLICIES } from '../lib/params.ts'
import { makeTlsCert, namesFor } from '../lib/tls-cert.ts'
import { transportNames } from '../lib/transports.ts'
import { WORKLOADS } from '../lib/workloads.ts'
import { startBaseline } from '../servers/baseline/index.ts'
import { isLoopbackHost } from '../servers/control.ts'
import { resolveServerOptions, SERVER_DEFAULTS, type ServerOptions } from '../servers/options.ts'
import { serveProcess } from '../servers/process.ts'
import { type RunningServer, SERVER_KINDS, type ServerKind, startServer } from '../servers/server.ts'

const PROG = 'pushbench serve'
const d = SERVER_DEFAULTS
const P = PARAM_RANGES
const S = SERVER_RANGES
const cmd = newCommand(
  PROG,
  'Serve one workload over one transport (binds 127.0.0.1 unless --host says otherwise).',
)
  .addOption(
    new Option('--transport <name>', 'transport to serve').choices(transportNames()).makeOptionMandatory(),
  )
  .addOption(new Option('--workload <name>', 'what is published').choices(WORKLOADS).default(d.workload))
  .addOption(
    new Option(
      '--server <kind>',
      "whose server: the suite's own, or the bare baseline it is held against (same paths and bytes)",
    )
      .choices(SERVER_KINDS)
      .default('pushbench'),
  )
  .option('--host <addr>', 'address to bind', d.host)
  .option('--port <n>', `port (${rangeText(S.port)}; 0 = any free port)`, numberIn(S.port), d.port)
  .option('--seed <n>', `random-walk seed (${rangeText(P.seed)})`, numberIn(P.seed), d.seed)
  .option('--symbols <n>', `ticker symbols (${rangeText(P.symbols)})`, numberIn(P.symbols), d.symbols)
  .option('--rooms <n>', `chat workload: rooms (${rangeText(P.rooms)})`, numberIn(P.rooms), d.rooms)
  .option('--tick-hz <n>', `ticks a second (${rangeText(P.tickHz)})`, numberIn(P.tickHz), d.tickHz)
  .option(
    '--updates-per-tick <n>',
    `updates published per tick (${rangeText(P.updatesPerTick)})`,
    numberIn(P.updatesPerTick),
    d.updatesPerTick,
  )
  .option(
    '--payload-bytes <n>',
    `bytes of one serialised update (${rangeText(P.payloadBytes)})`,
    numberIn(P.payloadBytes),
    d.payloadBytes,
  )
  .addOption(
    new Option('--write-policy <p>', 'push write policy').choices(WRITE_POLICIES).default(d.writePolicy),
  )
  .option(
    '--ring-size <n>',
    `updates kept for resume (${rangeText(S.ringSize)}; 0 = sized from the payload)`,
    numberIn(S.ringSize),
    d.ringSize,
  )
  .option(
    '--epoch-ms <ms>',
    `tick origin, epoch ms (${rangeText(S.epochMs)}; 0 = none): a server started on an earlier one's epoch regenerates its updates and continues its sequence`,
    numberIn(S.epochMs),
    d.epochMs,
  )
  .option(
    '--max-buffered-bytes <n>',
    `unsent bytes before a slow consumer is cut (${rangeText(S.maxBufferedBytes)})`,
    numberIn(S.maxBufferedBytes),
    d.maxBufferedBytes,
  )
  .option(
    '--heartbeat-ms <n>',
    `SSE comment heartbeat period (${rangeText(S.heartbeatMs)}; pushbench only)`,
    numberIn(S.heartbeatMs),
    d.heartbeatMs,
  )
  .option(
    '--sse-retry-ms <n>',
    `SSE: reconnect delay a browser's EventSource is told (retry: field) (${rangeText(S.sseRetryMs)}; 0 = none sent; pushbench only)`,
    numberIn(S.sseRetryMs),
    d.sseRetryMs,
  )
  .option(
    '--ping-interval-ms <n>',
    `WebSocket ping period (${rangeText(S.pingIntervalMs)}; pushbench only)`,
    numberIn(S.pingIntervalMs),
    d.pingIntervalMs,
  )
  .option(
    '--long-poll-timeout-ms <n>',
    `long poll: hold before 204 (${rangeText(S.longPollTimeoutMs)})`,
    numberIn(S.longPollTimeoutMs),
    d.longPollTimeoutMs,
  )
  .option(
    '--per-message-deflate',
    'WebSocket permessage-deflate (changes the bytes; pushbench only)',
    d.perMessageDeflate,
  )
  .option(
    '--max-client-message-bytes <n>',
    `largest client WebSocket message, else close 1009 (${rangeText(S.maxClientMessageBytes)})`,
    numberIn(S.maxClientMessageBytes),
    d.maxClientMessageBytes,
  )
  .option('--backlog <n>', `listen backlog (${rangeText(S.backlog)})`, numberIn(S.backlog), d.backlog)
  .option(
    '--headers-timeout-ms <n>',
    `a request that has not sent its whole header section by then gets 408 and is closed (a slowloris); held polls and open streams are never cut (${rangeText(S.headersTimeoutMs)}; pushbench only)`,
    numberIn(S.headersTimeoutMs),
    d.headersTimeoutMs,
  )
  .option(
    '--allow-origin <list>',
    'origins (comma-separated) whose pages may use this server, or * for any; default: same origin only',
    // checked, and named in errors, with the other options (servers/options.ts)
    (list: string) => list.split(',').map((o) => o.trim()),
  )
  .option('--tls-key <file>', 'serve https and wss with this private key (PEM; with --tls-cert)')
  .option('--tls-cert <file>', 'the certificate for --tls-key (PEM)')
  .option(
    '--control',
    'serve GET /pushbench/clock and POST /pushbench/control (read-only counters) on the same port, for a load generator on another host (run --target)',
    d.control,
  )
  .option(
    '--tls',
    'serve https and wss with a self-signed certificate made now (openssl) in a temporary folder, removed at exit; its path is printed on stderr',
    false,
  )
  .addHelpText(
    'after',
    '\nPrints one JSON ready line on stdout when it listens, then serves until SIGINT or SIGTERM (exit 0).\nExit codes: 0 stopped, 1 failed, 2 bad flag.',
  )

async function main(): Promise<void> {
  const {
    server: kind,
    tls,
    ...opts
  } = parseArgs(cmd).opts<Omit<ServerOptions, 'autoStart'> & { server: ServerKind; tls: boolean }>()
  const names = Object.fromEntries([...Object.keys(opts), 'tlsKey', 'tlsCert'].map((k) => [k, flagName(k)]))
  const start = kind === 'baseline' ? startBaseline : startServer
  let server: RunningServer
  try {
    // what one core can publish (lib/load-bound.ts); the clients are whoever connects
    checkPlannedLoad({ ...resolveServerOptions({ ...opts, autoStart: true }, names), clients: 1 }, names)
    if (tls && opts.tlsKey === undefined && opts.tlsCert === undefined) {
      // removed by lib/tls-cert.ts's exit handler: serveProcess ends with process.exit on every path
      const cert = await makeTlsCert(namesFor(opts.host))
      opts.tlsKey = cert.keyPath
      opts.tlsCert = cert.certPath
      process.stderr.write(
        `${PROG}: TLS with a self-signed certificate made for this run: ${cert.certPath} (key beside it; the folder is removed at exit)\n`,
      )
    }
    server = await start({ ...opts, autoStart: true, transport: opts.transport }, names)
  } catch (err) {
    fail(err, PROG)
  }
  if (server.options.control && !isLoopbackHost(server.host)) {
    process.stderr.write(
      `${PROG}: warning: --control on ${server.host}: the control endpoint (/pushbench/clock, /pushbench/control) is readable by anyone who can reach port ${server.port} (read-only)\n`,
    )
  }
  serveProcess(server)
}

main().catch((err) => fail(err, PROG))
