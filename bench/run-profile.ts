/**
 * `pushbench bench` once its flags are checked and its scenarios planned: runs every task in order,
 * writes the results file after each one (a crash or Ctrl-C later loses nothing measured), then prints
 * the summary and writes the PNG charts and the HTML report.
 */

import { join } from 'node:path'
import { PbError } from '../lib/errors.ts'
import { newResultsFile } from '../lib/results-file.ts'
import { writeResults } from '../lib/results-io.ts'
import type { Scenario } from '../lib/results-schema.ts'
import { resultParams } from '../lib/workloads.ts'
import { abortOnInterrupt, canPin, interruptedBy } from '../load/children.ts'
import type { ClientKind } from '../load/generator-ipc.ts'
import { chartPlan } from '../report/chart-configs.ts'
import { writeHtmlReport } from '../report/html.ts'
import { formatSummary } from '../report/summary.ts'
import { defaultChartsDir, writeCharts } from '../report/write-charts.ts'
import { type PlannedScenario, plannedSeconds } from './config.ts'
import { createProgress } from './progress.ts'
import { type Task, tasksOf } from './tasks.ts'

export interface ProfileRun {
  /** the scenarios to run, checked and expanded (bench/config.ts planScenarios) */
  plan: PlannedScenario[]
  /** names the run: results/<profile>-<stamp>.json */
  profile: string
  /** folder for the results file, charts and report */
  out: string
  /** pin server and generator to separate cores (when taskset and 2 cores exist) */
  pin: boolean
  /** which client measures */
  client: ClientKind
  /** every run over TLS (https, wss) */
  tls?: boolean | undefined
  charts: boolean
  report: boolean
}

/**
 * Progress on stderr; the summary and where the files are on stdout. Returns the exit code: 0 done,
 * 1 a run failed, 130 interrupted (the current window is closed and what was measured is written,
 * marked partial; a second SIGINT stops the children and exits 130 at once).
 */
export async function runProfile(o: ProfileRun): Promise<number> {
  const { plan, profile } = o
  const pinned = o.pin && canPin()
  const file = newResultsFile(profile, pinned)
  const path = join(o.out, `${file.runId}.json`)

  const tasks: Task[] = []
  for (const s of plan) {
    // named apart from the plain run of the same scenario, so that compare never holds one against the other
    const entry: Scenario = {
      name: o.tls ? `${s.name} over TLS` : s.name,
      params: resultParams(s.params, s.workload),
      results: [],
    }
    file.scenarios.push(entry)
    tasks.push(...tasksOf(s, entry, { pin: o.pin, client: o.client, tls: o.tls }))
  }
  const totalS = plan.reduce((n, s) => n + plannedSeconds(s, o.client), 0)
  process.stderr.write(
    `pushbench: ${profile}: ${plan.length} scenario(s), ${tasks.length} run(s), about ${Math.ceil(totalS / 60)} min; results -> ${path}\n`,
  )
  if (!pinned)
    process.stderr.write(
      'note: server and generator are not pinned apart (taskset missing, one core, or --no-pin)\n',
    )

  let done = 0
  let written = false
  // a second signal exits at once: it says what is on disk (the file as of the last finished run)
  const signal = abortOnInterrupt({
    onDisk: () =>
      written
        ? `results so far: ${path} (${done} of ${tasks.length} runs, marked partial)`
        : `results: ${path} not written (no run had finished)`,
  })
  // the file on disk says it is partial, and why, until the end: a bench killed outright leaves it so
  const save = async (): Promise<void> => {
    await writeResults(path, file)
    written = true
  }

  const progress = createProgress(tasks.length, totalS)
  let failed = 0
  let current = ''
  for (const t of tasks) {
    if (signal.aborted) break
    current = t.label
    progress.task(t.label, t.plannedS)
    try {
      await t.run(
        signal,
        (p, d) => progress.phase(p, d),
        (l) => progress.log(l),
      )
    } catch (err) {
      if (!(err instanceof PbError)) throw err
      failed++
      progress.log(`${t.label}: failed: ${err.message}`)
    }
    // every finished task is on disk: a crash or Ctrl-C later loses nothing measured
    done++
    file.partial = true
    file.partialReason = signal.aborted
      ? `interrupted by ${interruptedBy(signal)} during ${current}`
      : `in progress: ${done} of ${tasks.length} runs done (a file left like this is from a bench that was killed)`
    await save()
  }
  progress.stop()
  file.finishedAt = new Date().toISOString()
  if (signal.aborted) {
    file.partial = true
    file.partialReason = `interrupted by ${interruptedBy(signal)}${current ? ` during ${current}` : ' before the first run'}`
  } else {
    delete file.partial
    delete file.partialReason
  }
  await save()

  process.stdout.write(
    `${formatSummary(file, { color: process.stdout.isTTY === true && !process.env.NO_COLOR })}\n`,
  )
  const made = [`results: ${path}`]
  if (o.charts) {
    const dir = defaultChartsDir(path)
    const pngs = await writeCharts(file, dir)
    made.push(`charts:  ${dir}/ (${pngs.length} PNG)`)
    for (const o of chartPlan(file).omitted)
      made.push(`         ${o.scenario ? `${o.scenario}: ` : ''}${o.reason}`)
  }
  if (o.report) {
    const html = join(o.out, `${file.runId}.html`)
    await writeHtmlReport(file, html)
    made.push(`report:  ${html}`)
  }
  process.stdout.write(`\n${made.join('\n')}\n`)
  return signal.aborted ? 130 : failed > 0 ? 1 : 0
}
