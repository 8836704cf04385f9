/**
 * `pushbench run`: one scenario, one transport, one results file (the single-run contract; scripts and CI call it):
 *   pushbench run --transport sse --clients 100 --tick-hz 10 --duration-s 10 --out r.json
 * Flags only: the run itself is load/single-run.ts.
 */
import { Option } from 'commander'
import { fail, newCommand, numberIn, parseArgs, rangeText } from '../lib/cli.ts'
import { cpuCapQuotaUs } from '../lib/cpu-cap.ts'
import { PbOptionError } from '../lib/errors.ts'
import { checkPlannedLoad } from '../lib/load-bound.ts'
import { checkWireFlags, LINK_MBIT_RANGE } from '../lib/netns.ts'
import { checkOutputDir, checkOutputFile } from '../lib/output-path.ts'
import {
  checkNumber,
  DEFAULT_PARAMS,
  flagName,
  PARAM_RANGES,
  RAMP_RANGES,
  resolveParams,
  type ScenarioParams,
  SERVER_RANGES,
  serverIntervalArgs,
  WRITE_POLICIES,
} from '../lib/params.ts'
import { checkTlsClient } from '../lib/tls-cert.ts'
import { type Transport, transportNames } from '../lib/transports.ts'
import { DEFAULT_WORKLOAD, isTwoWay, WORKLOADS } from '../lib/workloads.ts'
import { stopAll } from '../load/children.ts'
import { BROWSER_MAX_CLIENTS, checkBrowserRun } from '../load/chromium.ts'
import type { ClientKind } from '../load/generator-ipc.ts'
import { checkRttClient } from '../load/lean/delay-line.ts'
import { parseTarget } from '../load/remote-server.ts'
import {
  CLIENT_KINDS,
  DEFAULT_CLIENT,
  DEFAULT_RAMP,
  DEFAULT_VERIFY_EVERY,
  GENERATORS_RANGE,
  SHARD_ALIGN_MS,
  VERIFY_RANGE,
} from '../load/session.ts'
import { singleRun } from '../load/single-run.ts'

const PROG = 'pushbench run'
const d = DEFAULT_PARAMS
const R = PARAM_RANGES
const range = (k: keyof typeof R) => rangeText(R[k])
/** A scenario number flag: what is not a number is refused naming the range (numbers are range-checked once, later). */
const numberOf = (k: keyof typeof R) => numberIn(R[k])

const cmd = newCommand(PROG, 'Measure one transport under one scenario and write one results file.')
  .addOption(
    new Option('--transport <name>', 'transport to measure').choices(transportNames()).makeOptionMandatory(),
  )
  .addOption(
    new Option('--workload <name>', 'what is published').choices(WORKLOADS).default(DEFAULT_WORKLOAD),
  )
  .addOption(
    new Option(
      '--client <kind>',
      `who measures: lean (raw sockets and byte scans, the least work that measures), library (ws, undici, eventsource-parser: what an app would use) or browser (pages in headless Chromium, at most ${BROWSER_MAX_CLIENTS} clients)`,
    )
      .choices(CLIENT_KINDS)
      .default(DEFAULT_CLIENT),
  )
  .option(
    '--verify-every <n>',
    `lean client: parse 1 update in N in full and check it against the scan (${rangeText(VERIFY_RANGE)}; 1 = every update)`,
    numberIn(VERIFY_RANGE),
    DEFAULT_VERIFY_EVERY,
  )
  .option(
    '--clients <n>',
    `concurrent clients, one connection each (${range('clients')})`,
    numberOf('clients'),
    d.clients,
  )
  .option('--tick-hz <n>', `ticks a second (${range('tickHz')})`, numberOf('tickHz'), d.tickHz)
  .option(
    '--updates-per-tick <n>',
    `updates per tick (${range('updatesPerTick')})`,
    numberOf('updatesPerTick'),
    d.updatesPerTick,
  )
  .option(
    '--payload-bytes <n>',
    `bytes of one update (${range('payloadBytes')})`,
    numberOf('payloadBytes'),
    d.payloadBytes,
  )
  .option(
    '--poll-interval-ms <n>',
    `short polling: ms between polls (${range('pollIntervalMs')})`,
    numberOf('pollIntervalMs'),
    d.pollIntervalMs,
  )
  .option(
    '--duration-s <n>',
    `measured window, s (${range('durationS')})`,
    numberOf('durationS'),
    d.durationS,
  )
  .option(
    '--warmup-s <n>',
    `warm-up before the window, s (${range('warmupS')})`,
    numberOf('warmupS'),
    d.warmupS,
  )
  .option(
    '--max-warmup-s <n>',
    `warm up past --warmup-s until the server's CPU per update is steady (two 1 s slices within 10%), for at most this long (${range('maxWarmupS')}; 0 = a fixed warm-up)`,
    numberOf('maxWarmupS'),
    d.maxWarmupS,
  )
  .option(
    '--rooms <n>',
    `chat workload: rooms, client i joins room i % rooms (${range('rooms')})`,
    numberOf('rooms'),
    d.rooms,
  )
  .option(
    '--send-hz <n>',
    `chat workload: messages a second each client sends (${range('sendHz')})`,
    numberOf('sendHz'),
    d.sendHz,
  )
  .option('--seed <n>', `random-walk seed (${range('seed')})`, numberOf('seed'), d.seed)
  .option('--symbols <n>', `ticker symbols (${range('symbols')})`, numberOf('symbols'), d.symbols)
  .option(
    '--rtt-ms <n>',
    `round-trip time the generator emulates per connection, ms (${range('rttMs')}; lean client only; 0 = loopback as it is)`,
    numberOf('rttMs'),
    d.rttMs,
  )
  .addOption(
    new Option('--write-policy <p>', 'push write policy').choices(WRITE_POLICIES).default(d.writePolicy),
  )
  .addOption(
    new Option('--server <kind>', 'server to measure')
      .choices(['pushbench', 'baseline'])
      .default('pushbench'),
  )
  .option('--out <file>', 'results file to write (default results/<runId>.json)')
  .option('--no-pin', 'do not pin server and generator to separate cores')
  .option(
    '--ramp-batch <n>',
    `clients connected per batch (${rangeText(RAMP_RANGES.batch)})`,
    numberIn(RAMP_RANGES.batch),
    DEFAULT_RAMP.batch,
  )
  .option(
    '--ramp-pause-ms <n>',
    `pause between batches, ms (${rangeText(RAMP_RANGES.pauseMs)})`,
    numberIn(RAMP_RANGES.pauseMs),
    DEFAULT_RAMP.pauseMs,
  )
  .option(
    '--server-cpu <cores>',
    'run the server under a CPU quota of this many cores (cgroup, 10 ms period; needs root), e.g. 0.25',
    numberIn({ min: 0.1, max: 1024 }),
  )
  .option('--per-message-deflate', 'WebSocket permessage-deflate on (changes the bytes)', false)
  .option(
    '--heartbeat-ms <n>',
    `SSE comment heartbeat period, ms (${rangeText(SERVER_RANGES.heartbeatMs)}; server default 15000)`,
    numberIn(SERVER_RANGES.heartbeatMs),
  )
  .option(
    '--ping-interval-ms <n>',
    `WebSocket ping period, ms (${rangeText(SERVER_RANGES.pingIntervalMs)}; server default 30000)`,
    numberIn(SERVER_RANGES.pingIntervalMs),
  )
  .option(
    '--long-poll-timeout-ms <n>',
    `how long a long poll is held before a 204, ms (${rangeText(SERVER_RANGES.longPollTimeoutMs)}; server default 30000)`,
    numberIn(SERVER_RANGES.longPollTimeoutMs),
  )
  .option(
    '--wire',
    'wire mode: server and generator in two network namespaces joined by a veth pair (made and removed by the run; needs root and ethtool); adds link-level bytes and packets',
    false,
  )
  .option(
    '--link-mbit <n>',
    `with --wire: cap the link to N Mbit/s each way with tc tbf (${rangeText(LINK_MBIT_RANGE)})`,
    numberIn(LINK_MBIT_RANGE),
  )
  .option(
    '--tls',
    'https and wss: a self-signed certificate made for the run (openssl) in a temporary folder, removed at exit; the clients trust it alone (not with --client browser)',
    false,
  )
  .option(
    '--generators <n>',
    `generator processes the clients are split over, all on the generator's core; their histograms are merged exactly (${rangeText(GENERATORS_RANGE)})`,
    numberIn(GENERATORS_RANGE),
    1,
  )
  .option(
    '--target <url>',
    'measure a server on another host, started there with `pushbench serve --control` (http://host:port); its counters and clock are read over HTTP, nothing is started for it',
  )
  .option(
    '--shard <i/n>',
    "with --target: run shard i of n (0-based), the i-th slice of --clients (the total over all shards); merge the shards' files with `pushbench merge`",
  )
  .option(
    '--start-at <time>',
    `with --target: open the window at this instant of the server's clock (ISO 8601 or epoch ms), the same for every shard; default: the next ${SHARD_ALIGN_MS / 1000} s boundary after the warm-up`,
  )
  .addOption(
    new Option(
      '--clock <mode>',
      'with --target: estimated (an NTP-style exchange with the server at start and end; instants corrected by it) or synchronised (chrony or PTP keep the hosts in step: the offset is measured, not applied)',
    )
      .choices(['estimated', 'synchronised'])
      .default('estimated'),
  )
  .option('--quiet', 'no progress on stderr', false)
  .addHelpText(
    'after',
    '\nExit codes: 0 done, 1 the run failed, 2 bad flag, 130 interrupted (what was measured is kept, marked partial).',
  )

interface Flags extends ScenarioParams {
  transport: Transport
  workload: string
  client: ClientKind
  verifyEvery: number
  server: 'pushbench' | 'baseline'
  out?: string
  pin: boolean
  rampBatch: number
  rampPauseMs: number
  perMessageDeflate: boolean
  heartbeatMs?: number
  pingIntervalMs?: number
  longPollTimeoutMs?: number
  serverCpu?: number
  wire: boolean
  linkMbit?: number
  tls: boolean
  generators: number
  target?: string
  shard?: string
  startAt?: string
  clock: 'estimated' | 'synchronised'
  quiet: boolean
}

/** `--shard i/n`: 0 <= i < n <= SHARDS_MAX. */
const SHARDS_MAX = 1000
function parseShard(text: string, clients: number): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim())
  const index = Number(m?.[1])
  const count = Number(m?.[2])
  if (!m || count < 1 || count > SHARDS_MAX || index >= count)
    throw new PbOptionError(
      '--shard',
      `must be i/n with 0 <= i < n <= ${SHARDS_MAX} (e.g. 0/4 for the first of four), got ${JSON.stringify(text)}`,
    )
  if (count > clients)
    throw new PbOptionError('--shard', `${count} shards for ${clients} clients leaves a shard without any`)
  return { index, count }
}

/** `--start-at`: ISO 8601 or epoch ms. */
function parseStartAt(text: string): number {
  const ms = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : Date.parse(text)
  if (!Number.isFinite(ms) || ms < Date.UTC(2000, 0, 1))
    throw new PbOptionError(
      '--start-at',
      `must be an ISO 8601 time (2026-12-05T13:00:00Z) or epoch milliseconds, got ${JSON.stringify(text)}`,
    )
  return ms
}

/** What a run against a target cannot do: whatever needs the server started here. */
function checkTargetFlags(f: Flags): void {
  if (f.target === undefined) {
    for (const [flag, given] of [
      ['--shard', f.shard !== undefined],
      ['--start-at', f.startAt !== undefined],
    ] as const)
      if (given) throw new PbOptionError(flag, 'needs --target (shards measure one server started elsewhere)')
    return
  }
  parseTarget(f.target)
  const here: [string, boolean][] = [
    ['--wire', f.wire],
    ['--tls', f.tls],
    ['--server-cpu', f.serverCpu !== undefined],
    ['--server', f.server !== 'pushbench'],
    ['--per-message-deflate', f.perMessageDeflate],
    ['--heartbeat-ms', f.heartbeatMs !== undefined],
    ['--ping-interval-ms', f.pingIntervalMs !== undefined],
    ['--long-poll-timeout-ms', f.longPollTimeoutMs !== undefined],
    ['--client', f.client === 'browser'],
  ]
  for (const [flag, given] of here)
    if (given)
      throw new PbOptionError(
        flag,
        'not with --target: it sets up the server, which runs elsewhere (give it to `pushbench serve` there)',
      )
}

/** The chat's clients send: no browser client, no baseline server (no POST /send), no shards (untested). */
function checkChatFlags(f: Flags): void {
  for (const [flag, given] of [
    ['--client', f.client === 'browser'],
    ['--server', f.server === 'baseline'],
    ['--shard', f.shard !== undefined],
  ] as const)
    if (given)
      throw new PbOptionError(
        flag,
        `not with --workload ${f.workload}: its clients send messages (lean or library clients, the suite's own servers, one generator host)`,
      )
}

/** `--server-cpu`: a quota the kernel can enforce, at most this machine's cores (else exit 2 naming it). */
function checkServerCpu(cores: number): number {
  cpuCapQuotaUs(cores)
  return cores
}

async function main(): Promise<void> {
  const f = parseArgs(cmd).opts<Flags>()
  const names = Object.fromEntries(Object.keys(d).map((k) => [k, flagName(k)]))
  const params = resolveParams(f, names)
  if (isTwoWay(f.workload)) checkChatFlags(f)
  if (f.client === 'browser') checkBrowserRun(params.clients, '--clients')
  checkRttClient(params.rttMs, f.client, '--rtt-ms')
  checkTlsClient(f.tls, f.client)
  const ramp = {
    batch: checkNumber('--ramp-batch', f.rampBatch, RAMP_RANGES.batch),
    pauseMs: checkNumber('--ramp-pause-ms', f.rampPauseMs, RAMP_RANGES.pauseMs),
  }
  checkTargetFlags(f)
  const wire = checkWireFlags(f)
  // the results file is written at the end: a path that cannot take it fails now, before any load
  if (f.out === undefined) checkOutputDir('--out (default results/<runId>.json)', 'results')
  else checkOutputFile('--out', f.out, 'r.json')
  checkPlannedLoad(params, names, f.shard === undefined ? 1 : parseShard(f.shard, params.clients).count)
  process.exit(
    await singleRun({
      transport: f.transport,
      workload: f.workload,
      client: f.client,
      verifyEvery: checkNumber('--verify-every', f.verifyEvery, VERIFY_RANGE),
      params,
      server: f.server,
      out: f.out,
      pin: f.pin,
      ramp,
      perMessageDeflate: f.perMessageDeflate,
      serverArgs: serverIntervalArgs(f),
      serverCpu: f.serverCpu === undefined ? undefined : checkServerCpu(f.serverCpu),
      wire,
      tls: f.tls,
      generators: checkNumber('--generators', f.generators, GENERATORS_RANGE),
      target: f.target,
      shard: f.shard === undefined ? undefined : parseShard(f.shard, params.clients),
      startAtMs: f.startAt === undefined ? undefined : parseStartAt(f.startAt),
      clockMode: f.clock,
      quiet: f.quiet,
    }),
  )
}

main().catch(async (err) => {
  await stopAll(500)
  fail(err, PROG)
})
