/**
 * Per-message costs in-process (tinybench): serialising, framing, building and parsing an update, and
 * the load generator's own recording cost.
 *   pushbench micro [--time-ms N] [--group NAME]... [--out DIR] [--no-charts]
 * Writes <out>/micro-<stamp>.json (profile "micro", a `micro` section) and <out>/micro-<stamp>/<group>.png.
 */
import { join } from 'node:path'
import { InvalidArgumentError } from 'commander'
import { fail, newCommand, numberIn, parseArgs, rangeText } from '../lib/cli.ts'
import { checkOutputDir } from '../lib/output-path.ts'
import { checkNumber } from '../lib/params.ts'
import { newResultsFile } from '../lib/results-file.ts'
import { writeResults } from '../lib/results-io.ts'
import type { MicroCase } from '../lib/results-schema.ts'
import { GROUPS, type Group } from '../micro/case.ts'
import { writeMicroCharts } from '../micro/charts.ts'
import { buildCases, GROUP_TITLES } from '../micro/groups.ts'
import { RUN_DEFAULTS, runCases } from '../micro/run.ts'
import { formatTable } from '../micro/table.ts'

const PROG = 'pushbench micro'
const DEFAULT_TIME_MS = 400
const TIME_MS = { min: 1, max: 60_000, integer: true, unit: 'ms' }

function groupArg(value: string, previous: Group[] | undefined): Group[] {
  if (!(GROUPS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`Allowed choices are ${GROUPS.join(', ')}.`)
  }
  return [...(previous ?? []), value as Group]
}

const cmd = newCommand(
  PROG,
  'Per-message costs in-process with tinybench: a results file, a summary table and a chart per case group.',
)
  .option(
    '--time-ms <n>',
    `tinybench time budget per case, ms (${rangeText(TIME_MS)})`,
    numberIn(TIME_MS),
    DEFAULT_TIME_MS,
  )
  .option(`--group <name>`, `run only this case group, repeatable (${GROUPS.join(', ')})`, groupArg)
  .option('--out <dir>', 'folder for the results file and its charts folder', 'results')
  .option('--no-charts', 'do not render the PNG charts')

/** `2026-11-25T06:23:51.123Z` -> `2026-11-25T06-23-51Z`: sortable and safe in a file name. */
function stamp(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-')
}

async function main(): Promise<void> {
  const o = parseArgs(cmd).opts<{ timeMs: number; group?: Group[]; out: string; charts: boolean }>()
  const timeMs = checkNumber('--time-ms', o.timeMs, TIME_MS)
  checkOutputDir('--out', o.out)
  const groups = o.group ? GROUPS.filter((g) => o.group?.includes(g)) : [...GROUPS]
  const startedAt = new Date()
  const wallStart = performance.now()
  const file = newResultsFile('micro', false, startedAt)
  const micro: MicroCase[] = []
  const opts = { ...RUN_DEFAULTS, timeMs, warmupMs: Math.min(RUN_DEFAULTS.warmupMs, timeMs) }

  for (const [i, group] of groups.entries()) {
    const t0 = performance.now()
    const cases = await buildCases(group)
    process.stderr.write(`[${i + 1}/${groups.length}] ${group}: ${cases.length} cases ...`)
    micro.push(...runCases(cases, opts))
    process.stderr.write(` ${((performance.now() - t0) / 1000).toFixed(1)} s\n`)
  }

  const path = join(o.out, `micro-${stamp(startedAt)}.json`)
  await writeResults(path, { ...file, finishedAt: new Date().toISOString(), micro })
  process.stdout.write(`${formatTable(micro, GROUP_TITLES)}\n\n`)
  process.stdout.write(`results: ${path}\n`)
  if (o.charts) {
    const dir = join(o.out, `micro-${stamp(startedAt)}`)
    for (const p of await writeMicroCharts(micro, dir, GROUP_TITLES, file.env))
      process.stdout.write(`chart: ${p}\n`)
  }
  process.stderr.write(
    `${PROG}: ${micro.length} cases in ${((performance.now() - wallStart) / 1000).toFixed(1)} s\n`,
  )
}

main().catch((err) => fail(err, PROG))
