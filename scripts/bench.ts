/**
 * `npm run bench`: runs a profile (or a config file) of scenarios, every transport of each, and
 * writes one results file, PNG charts and an HTML report; prints a summary table.
 *   npm run bench -- --profile quick|ci|full [--config FILE] [--transports sse,websocket] [--out DIR]
 */
import { basename, extname, join } from 'node:path'
import { Option } from 'commander'
import { fail, newCommand, numberArg, parseArgs } from '../lib/cli.ts'
import { PbError, PbOptionError } from '../lib/errors.ts'
import { checkChoice, checkNumber, PARAM_RANGES, TRANSPORTS, type Transport } from '../lib/params.ts'
import { runAutocannon } from '../load/autocannon.ts'
import { searchCapacity } from '../load/capacity.ts'
import { canPin, stopAll } from '../load/children.ts'
import { runOne } from '../load/session.ts'
import { newResultsFile } from '../lib/results-file.ts'
import { writeResults } from '../lib/results-io.ts'
import type { RunResult, Scenario } from '../lib/results-schema.ts'
import {
  loadConfig,
  type PlannedScenario,
  PROFILES,
  type Profile,
  plannedSeconds,
  planScenarios,
  profilePath,
} from '../bench/config.ts'
import { createProgress } from '../bench/progress.ts'
import { writeHtmlReport } from '../report/html.ts'
import { formatSummary } from '../report/summary.ts'
import { defaultChartsDir, writeCharts } from '../report/write-charts.ts'

const cmd = newCommand(
  'npm run bench --',
  'Measure short polling, long polling, SSE and WebSocket on the same ticker.',
)
  .addOption(
    new Option('--profile <name>', 'shipped profile (bench/profiles/<name>.json)')
      .choices(PROFILES)
      .default('quick'),
  )
  .option(
    '--config <file>',
    'a scenarios file of your own (same format as bench/profiles/*.json); overrides --profile',
  )
  .option('--transports <list>', `comma-separated subset of ${TRANSPORTS.join(',')}`)
  .option('--scenario <name>', 'run only the scenario of that name')
  .option('--seed <n>', 'random-walk seed for every scenario', numberArg)
  .option('--out <dir>', 'folder for the results file, charts and report', 'results')
  .option('--no-charts', 'skip the PNG charts')
  .option('--no-report', 'skip the HTML report')
  .option('--no-pin', 'do not pin server and generator to separate cores')
  .addHelpText(
    'after',
    `
Profiles: quick (default, ~1 min here: the four transports at 1,000 clients), ci (~1.5 min, small and stable),
full (~19 min: sweeps of clients, rate, payload, poll interval, capacity and baselines).
Exit codes: 0 done, 1 a transport failed, 2 bad flag or config, 130 interrupted (what was measured is kept).`,
  )

interface Flags {
  profile: Profile
  config?: string
  transports?: string
  scenario?: string
  seed?: number
  out: string
  charts: boolean
  report: boolean
  pin: boolean
}

function parseTransports(list: string | undefined): Transport[] | undefined {
  if (list === undefined) return undefined
  const items = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (items.length === 0)
    throw new PbOptionError('--transports', `must list one or more of ${TRANSPORTS.join(', ')}`)
  return items.map((t) => checkChoice('--transports', t, TRANSPORTS))
}

interface Task {
  label: string
  plannedS: number
  run: (
    signal: AbortSignal,
    phase: (p: string, d?: string) => void,
    log: (l: string) => void,
  ) => Promise<void>
}

async function main(): Promise<void> {
  const f = parseArgs(cmd).opts<Flags>()
  const transports = parseTransports(f.transports)
  const seed = f.seed === undefined ? undefined : checkNumber('--seed', f.seed, PARAM_RANGES.seed)
  const source = f.config ?? profilePath(f.profile)
  const config = loadConfig(source, f.config ? '--config' : '--profile')
  const plan = planScenarios(config, f.config ?? `profile ${f.profile}`, {
    transports,
    scenario: f.scenario,
    seed,
  })
  // a config file's run is named after the file: results/<name>-<stamp>.json
  const profile = f.config ? basename(f.config, extname(f.config)).replace(/[^\w.-]+/g, '-') : f.profile
  const pinned = f.pin && canPin()
  const file = newResultsFile(profile, pinned)
  const path = join(f.out, `${file.runId}.json`)

  const tasks: Task[] = []
  for (const s of plan) {
    const entry: Scenario = { name: s.name, params: s.params, results: [] }
    file.scenarios.push(entry)
    tasks.push(...tasksOf(s, entry, f.pin))
  }
  const totalS = plan.reduce((n, s) => n + plannedSeconds(s), 0)
  process.stderr.write(
    `pushbench: ${profile}: ${plan.length} scenario(s), ${tasks.length} run(s), about ${Math.ceil(totalS / 60)} min; results -> ${path}\n`,
  )
  if (!pinned)
    process.stderr.write(
      'note: server and generator are not pinned apart (taskset missing, one core, or --no-pin)\n',
    )

  const ac = new AbortController()
  let interrupts = 0
  process.on('SIGINT', () => {
    if (++interrupts > 1) {
      process.stderr.write('\nsecond interrupt: stopping children now\n')
      void stopAll(500).then(() => process.exit(130))
      return
    }
    process.stderr.write(
      '\ninterrupted: closing the current window, keeping what was measured (Ctrl-C again to abort)\n',
    )
    ac.abort()
  })
  process.on('SIGTERM', () => ac.abort())

  const progress = createProgress(tasks.length, totalS)
  let failed = 0
  for (const t of tasks) {
    if (ac.signal.aborted) break
    progress.task(t.label, t.plannedS)
    try {
      await t.run(
        ac.signal,
        (p, d) => progress.phase(p, d),
        (l) => progress.log(l),
      )
    } catch (err) {
      if (!(err instanceof PbError)) throw err
      failed++
      progress.log(`${t.label}: failed: ${err.message}`)
    }
    // every finished task is on disk: a crash or Ctrl-C later loses nothing measured
    if (ac.signal.aborted) file.partial = true
    await writeResults(path, file)
  }
  progress.stop()
  file.finishedAt = new Date().toISOString()
  if (ac.signal.aborted) file.partial = true
  await writeResults(path, file)

  process.stdout.write(
    `${formatSummary(file, { color: process.stdout.isTTY === true && !process.env.NO_COLOR })}\n`,
  )
  const made = [`results: ${path}`]
  if (f.charts) {
    const dir = defaultChartsDir(path)
    const pngs = await writeCharts(file, dir)
    made.push(`charts:  ${dir}/ (${pngs.length} PNG)`)
  }
  if (f.report) {
    const html = join(f.out, `${file.runId}.html`)
    await writeHtmlReport(file, html)
    made.push(`report:  ${html}`)
  }
  process.stdout.write(`\n${made.join('\n')}\n`)
  process.exit(ac.signal.aborted ? 130 : failed > 0 ? 1 : 0)
}

/** The runs of one planned scenario, each writing into its entry of the results file. */
function tasksOf(s: PlannedScenario, entry: Scenario, pin: boolean): Task[] {
  const servers = s.baseline ? (['pushbench', 'baseline'] as const) : (['pushbench'] as const)
  const tasks: Task[] = []
  const runS = (t: Transport) =>
    2 +
    s.params.clients / 1000 +
    s.params.warmupS +
    s.params.durationS +
    (t === 'short-poll' ? (s.params.pollIntervalMs + 1000 / s.params.tickHz) / 1000 : 0.2)
  for (const server of servers) {
    for (const transport of s.transports) {
      const label = `${s.name} · ${transport}${server === 'baseline' ? ' (baseline)' : ''}`
      tasks.push({
        label,
        plannedS: runS(transport),
        run: async (signal, phase, log) => {
          let r: RunResult
          try {
            r = await runOne({ transport, params: s.params, server, pin, signal, onPhase: phase })
          } catch (err) {
            if (!(err instanceof PbError)) throw err
            entry.results.push({ state: 'errored', transport, server, error: err.message })
            throw err
          }
          entry.results.push(r)
          for (const w of r.warnings ?? []) log(`${label}: warning: ${w}`)
        },
      })
    }
    const cap = s.capacity
    if (cap) {
      for (const transport of cap.transports) {
        const label = `${s.name} · ${transport} capacity${server === 'baseline' ? ' (baseline)' : ''}`
        tasks.push({
          label,
          plannedS: 2 + cap.clients / 1000 + (cap.settleS + cap.stepS + 1) * Math.min(cap.maxSteps, 6),
          run: async (signal, phase, log) => {
            const c = await searchCapacity(
              {
                transport,
                params: { ...s.params, clients: cap.clients },
                server,
                pin,
                signal,
                onPhase: phase,
              },
              {
                limits: { minDeliveryRatio: cap.minDeliveryRatio, maxP99Ms: cap.maxP99Ms },
                stepS: cap.stepS,
                settleS: cap.settleS,
                maxSteps: cap.maxSteps,
                onStep: (st) =>
                  phase(
                    'capacity',
                    `${st.offeredPerSecond}/s: ${st.passed ? 'ok' : 'over'} (p99 ${st.latencyP99Ms} ms, ${(st.deliveryRatio * 100).toFixed(1)}%)`,
                  ),
              },
            )
            entry.capacity ??= []
            entry.capacity.push(c)
            log(`${label}: ${c.maxSustainedPerSecond} updates/s sustained (${c.stoppedBecause})`)
          },
        })
      }
    }
    const ac = s.autocannon
    if (ac) {
      tasks.push({
        label: `${s.name} · short-poll autocannon${server === 'baseline' ? ' (baseline)' : ''}`,
        plannedS: ac.durationS + 2,
        run: async (signal, phase) => {
          if (signal.aborted) return
          phase('autocannon', `${ac.connections} connections, ${ac.durationS} s`)
          const r = await runAutocannon({
            params: s.params,
            connections: ac.connections,
            durationS: ac.durationS,
            server,
            pin,
          })
          if (server === 'baseline') entry.autocannonBaseline = r
          else entry.autocannon = r
        },
      })
    }
  }
  return tasks
}

main().catch(async (err) => {
  await stopAll(500)
  fail(err, 'bench')
})
