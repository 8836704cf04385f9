/**
 * One scenario, one transport, one results file (the single-run contract; scripts and CI call it):
 *   node --import tsx load/run.ts --transport sse --clients 100 --tick-hz 10 --duration-s 10 --out r.json
 */
import { InvalidArgumentError, Option } from 'commander'
import { fail, newCommand, numberArg, parseArgs } from '../lib/cli.ts'
import { PbError } from '../lib/errors.ts'
import {
  DEFAULT_PARAMS,
  flagName,
  PARAM_RANGES,
  resolveParams,
  type ScenarioParams,
  TRANSPORTS,
  WRITE_POLICIES,
} from '../lib/params.ts'
import { writeResults } from '../lib/results-io.ts'
import type { RunResult } from '../lib/results-schema.ts'
import { canPin, stopAll } from '../load/children.ts'
import { DEFAULT_RAMP, runOne } from '../load/session.ts'
import { newResultsFile } from '../lib/results-file.ts'

const d = DEFAULT_PARAMS
const R = PARAM_RANGES
const range = (k: keyof typeof R) => `${R[k].min}..${R[k].max}`
/** A scenario number flag: what is not a number is refused naming the range (numbers are range-checked once, later). */
const numberIn =
  (k: keyof typeof R) =>
  (value: string): number => {
    try {
      return numberArg(value)
    } catch {
      throw new InvalidArgumentError(`not a number (allowed: ${range(k)}).`)
    }
  }

const cmd = newCommand('load/run.ts', 'Measure one transport under one scenario and write one results file.')
  .addOption(
    new Option('--transport <name>', 'transport to measure').choices(TRANSPORTS).makeOptionMandatory(),
  )
  .option(
    '--clients <n>',
    `concurrent clients, one connection each (${range('clients')})`,
    numberIn('clients'),
    d.clients,
  )
  .option('--tick-hz <n>', `ticks a second (${range('tickHz')})`, numberIn('tickHz'), d.tickHz)
  .option(
    '--updates-per-tick <n>',
    `updates per tick (${range('updatesPerTick')})`,
    numberIn('updatesPerTick'),
    d.updatesPerTick,
  )
  .option(
    '--payload-bytes <n>',
    `bytes of one update (${range('payloadBytes')})`,
    numberIn('payloadBytes'),
    d.payloadBytes,
  )
  .option(
    '--poll-interval-ms <n>',
    `short polling: ms between polls (${range('pollIntervalMs')})`,
    numberIn('pollIntervalMs'),
    d.pollIntervalMs,
  )
  .option(
    '--duration-s <n>',
    `measured window, s (${range('durationS')})`,
    numberIn('durationS'),
    d.durationS,
  )
  .option(
    '--warmup-s <n>',
    `warm-up before the window, s (${range('warmupS')})`,
    numberIn('warmupS'),
    d.warmupS,
  )
  .option('--seed <n>', `random-walk seed (${range('seed')})`, numberIn('seed'), d.seed)
  .option('--symbols <n>', `ticker symbols (${range('symbols')})`, numberIn('symbols'), d.symbols)
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
  .option('--ramp-batch <n>', 'clients connected per batch', numberArg, DEFAULT_RAMP.batch)
  .option('--ramp-pause-ms <n>', 'pause between batches, ms', numberArg, DEFAULT_RAMP.pauseMs)
  .option('--per-message-deflate', 'WebSocket permessage-deflate on (changes the bytes)', false)
  .option('--quiet', 'no progress on stderr', false)

interface Flags extends ScenarioParams {
  transport: (typeof TRANSPORTS)[number]
  server: 'pushbench' | 'baseline'
  out?: string
  pin: boolean
  rampBatch: number
  rampPauseMs: number
  perMessageDeflate: boolean
  quiet: boolean
}

async function main(): Promise<void> {
  const f = parseArgs(cmd).opts<Flags>()
  const names = Object.fromEntries(Object.keys(d).map((k) => [k, flagName(k)]))
  const params = resolveParams(f, names)
  for (const [k, v] of [
    ['rampBatch', f.rampBatch],
    ['rampPauseMs', f.rampPauseMs],
  ] as const) {
    if (!Number.isInteger(v) || v < (k === 'rampBatch' ? 1 : 0)) {
      throw new PbError(
        'PB_ERR_OPTION',
        `${flagName(k)}: must be a ${k === 'rampBatch' ? 'positive' : 'non-negative'} integer, got ${v}`,
      )
    }
  }
  const pinned = f.pin && canPin()
  const file = newResultsFile('single', pinned)
  const out = f.out ?? `results/${file.runId}.json`
  const ac = new AbortController()
  let interrupts = 0
  process.on('SIGINT', () => {
    if (++interrupts > 1) {
      process.stderr.write('\nsecond interrupt: stopping children now\n')
      void stopAll(500).then(() => process.exit(130))
      return
    }
    process.stderr.write(
      '\ninterrupted: closing the window and keeping what was measured (Ctrl-C again to abort)\n',
    )
    ac.abort()
  })
  process.on('SIGTERM', () => ac.abort())

  const t0 = Date.now()
  const log = (s: string) => {
    if (!f.quiet) process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${s}\n`)
  }
  let result: RunResult
  try {
    result = await runOne({
      transport: f.transport,
      params,
      server: f.server,
      pin: f.pin,
      ramp: { batch: f.rampBatch, pauseMs: f.rampPauseMs },
      serverArgs: f.perMessageDeflate ? ['--per-message-deflate'] : [],
      signal: ac.signal,
      onPhase: (phase, detail) => log(`${f.transport}: ${phase}${detail ? ` (${detail})` : ''}`),
    })
  } catch (err) {
    if (!(err instanceof PbError)) throw err
    result = { state: 'errored', transport: f.transport, server: f.server, error: err.message }
  }
  const name = `${f.transport} ${params.clients} clients ${params.tickHz * params.updatesPerTick}/s ${params.payloadBytes} B`
  file.scenarios.push({ name, params, results: [result] })
  file.finishedAt = new Date().toISOString()
  if (ac.signal.aborted) file.partial = true
  await writeResults(out, file)
  if (result.state === 'errored') {
    process.stderr.write(`${f.transport}: failed: ${result.error}\n`)
  } else {
    const l = result.latencyMs
    log(
      `${f.transport}: p50 ${l.p50} ms, p99 ${l.p99} ms, delivered ${result.updates.delivered}/${result.updates.expected}, ` +
        `${result.bytes.perDeliveredUpdate} B/update (model ${result.bytes.modelPerUpdate}), server CPU ${result.serverCpu.percentOfCore}%`,
    )
    for (const w of result.warnings ?? []) process.stderr.write(`warning: ${w}\n`)
  }
  process.stdout.write(`${out}\n`)
  process.exit(ac.signal.aborted ? 130 : result.state === 'errored' ? 1 : 0)
}

main().catch(async (err) => {
  await stopAll(500)
  fail(err, 'load/run.ts')
})
