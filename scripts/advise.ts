/**
 * `pushbench advise`: which transport for this load, with the evidence.
 *   pushbench advise --clients N --rate R --payload B [--rtt MS] [--poll-interval-ms I]
 *                    [--from FILE|DIR ...] [--json] [--no-run]
 * Evidence: the results files named (default: every one under results/). When none is near the question
 * (no row within 10x in every parameter), a short focused run measures it first (bench/advise-run.ts).
 * Flags and I/O only: the answer is report/advise.ts, its text report/advise-text.ts.
 */
import { FOCUSED_LIMITS, focusedPlan, runFocused } from '../bench/advise-run.ts'
import { fail, newCommand, numberIn, parseArgs, rangeText } from '../lib/cli.ts'
import { PbError } from '../lib/errors.ts'
import { checkOutputDir } from '../lib/output-path.ts'
import { checkNumber, DEFAULT_PARAMS, PARAM_RANGES } from '../lib/params.ts'
import type { ResultsFile } from '../lib/results-schema.ts'
import { type Advice, advise, hasCloseEvidence, type Question } from '../report/advise.ts'
import { formatAdvice } from '../report/advise-text.ts'
import { findResults } from '../report/find-results.ts'
import { formatCount } from '../report/format.ts'

const PROG = 'pushbench advise'
const RESULTS_DIR = 'results'
const FOCUSED_DIR = 'results/advise'
/** a nearest row further than this in any parameter is not evidence enough: measure instead */
const NEAR_FACTOR = 10

/** updates a second: any rate a scenario can express (tickHz x updatesPerTick) */
const RATE_RANGE = {
  min: PARAM_RANGES.tickHz.min,
  max: PARAM_RANGES.tickHz.max * PARAM_RANGES.updatesPerTick.max,
  integer: false,
  unit: 'updates/s',
}
/** a round trip: loopback (0) to a slow satellite link */
const RTT_RANGE = { min: 0, max: 10_000, integer: false, unit: 'ms' }
const MAX_P50_RANGE = { min: 0.1, max: 600_000, integer: false, unit: 'ms' }

const cmd = newCommand(PROG, 'Which transport for this load: the pick, the reasons and the evidence.')
  .requiredOption(
    '--clients <n>',
    `concurrent clients (${rangeText(PARAM_RANGES.clients)})`,
    numberIn(PARAM_RANGES.clients),
  )
  .requiredOption(
    '--rate <n>',
    `updates a second the feed publishes, every client receives each (${rangeText(RATE_RANGE)})`,
    numberIn(RATE_RANGE),
  )
  .requiredOption(
    '--payload <bytes>',
    `bytes of one update (${rangeText(PARAM_RANGES.payloadBytes)})`,
    numberIn(PARAM_RANGES.payloadBytes),
  )
  .option(
    '--rtt <ms>',
    `network round trip, ms (${rangeText(RTT_RANGE)}; 0 = the loopback the rows ran on)`,
    numberIn(RTT_RANGE),
    0,
  )
  .option(
    '--poll-interval-ms <ms>',
    `short polling's interval (${rangeText(PARAM_RANGES.pollIntervalMs)})`,
    numberIn(PARAM_RANGES.pollIntervalMs),
    DEFAULT_PARAMS.pollIntervalMs,
  )
  .option(
    '--max-p50-ms <ms>',
    `the stalest median update latency the feed may have; staler transports are not picked (${rangeText(MAX_P50_RANGE)})`,
    numberIn(MAX_P50_RANGE),
  )
  .option(
    '--from <path...>',
    `results files, or folders of them, to take the evidence from (default: every one under ${RESULTS_DIR}/)`,
  )
  .option('--json', 'print the answer as JSON', false)
  .option('--no-run', 'never run the focused measurement; answer from the files alone')
  .addHelpText(
    'after',
    `
When no measured row is within ${NEAR_FACTOR}x of the question in every parameter (or there is no results
file), advise first runs the four transports near it: at most ${formatCount(FOCUSED_LIMITS.clients)} clients, a ${FOCUSED_LIMITS.durationS} s window after
${FOCUSED_LIMITS.warmupS} s of warm-up (about 40 s), with \`pushbench bench --config\`; its results file goes to ${FOCUSED_DIR}/.
Exit codes: 0 answered, 1 no evidence (with --no-run) or the focused run failed, 2 bad flag or file, 130 interrupted.
Example: pushbench advise --clients 5000 --rate 20 --payload 256 --rtt 40 --from results/`,
  )

interface Flags {
  clients: number
  rate: number
  payload: number
  rtt: number
  pollIntervalMs: number
  maxP50Ms?: number
  from?: string[]
  json: boolean
  run: boolean
}

function question(f: Flags): Question {
  return {
    clients: checkNumber('--clients', f.clients, PARAM_RANGES.clients),
    ratePerS: checkNumber('--rate', f.rate, RATE_RANGE),
    payloadBytes: checkNumber('--payload', f.payload, PARAM_RANGES.payloadBytes),
    pollIntervalMs: checkNumber('--poll-interval-ms', f.pollIntervalMs, PARAM_RANGES.pollIntervalMs),
    rttMs: checkNumber('--rtt', f.rtt, RTT_RANGE),
    ...(f.maxP50Ms === undefined ? {} : { maxP50Ms: checkNumber('--max-p50-ms', f.maxP50Ms, MAX_P50_RANGE) }),
  }
}

async function main(): Promise<void> {
  const f = parseArgs(cmd).opts<Flags>()
  const q = question(f)
  const found = findResults(f.from ?? [RESULTS_DIR], '--from')
  const files: ResultsFile[] = found.files.map((x) => x.file)
  const sources = found.files.map((x) => x.path)
  for (const n of found.notes) process.stderr.write(`${PROG}: note: ${n}\n`)
  let advice = advise(q, files)
  let focused: { path: string; params: object; clamped: string[] } | undefined
  if (!hasCloseEvidence(advice, NEAR_FACTOR)) {
    const why =
      files.length === 0
        ? 'no results file'
        : `no measured row within ${NEAR_FACTOR}x of the question in every parameter`
    if (!f.run) {
      if (!advice.transports.some((t) => t.prediction))
        throw new PbError('PB_ERR_ADVISE_NO_EVIDENCE', `${why}, and --no-run: nothing to answer from`)
      process.stderr.write(`${PROG}: note: ${why}; --no-run: answering from what there is\n`)
    } else {
      const plan = focusedPlan(q)
      checkOutputDir(
        `${FOCUSED_DIR} (the focused run's folder, in the working directory; or --no-run)`,
        FOCUSED_DIR,
      )
      process.stderr.write(
        `${PROG}: ${why}: running the four transports near the question first (about 40 s), results -> ${FOCUSED_DIR}/\n`,
      )
      if (plan.clamped.length > 0)
        process.stderr.write(`${PROG}: clamped to what this machine runs: ${plan.clamped.join('; ')}\n`)
      const path = await runFocused(plan, FOCUSED_DIR)
      const ran = findResults([path], 'focused run')
      files.push(...ran.files.map((x) => x.file))
      sources.push(path)
      focused = { path, params: plan.params, clamped: plan.clamped }
      advice = advise(q, files)
    }
  }
  process.stdout.write(
    f.json
      ? `${JSON.stringify({ ...advice, sources, focusedRun: focused }, null, 2)}\n`
      : text(advice, focused),
  )
}

function text(advice: Advice, focused: { path: string; clamped: string[] } | undefined): string {
  const ran = focused
    ? `Measured first: a focused run of the four transports${focused.clamped.length > 0 ? ` (clamped: ${focused.clamped.join('; ')})` : ''}, results ${focused.path}\n`
    : ''
  return `${ran}${formatAdvice(advice)}`
}

main().catch((err) => {
  if (err instanceof PbError && err.code === 'PB_ERR_INTERRUPTED') {
    process.stderr.write(`${PROG}: ${err.message}\n`)
    process.exit(130)
  }
  fail(err, PROG)
})
