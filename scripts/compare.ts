/**
 * `pushbench compare`: BASE.json HEAD.json [--threshold METRIC=PCT ...] [--allow-missing] [--json]
 * Exit 0: no regression; 1: a metric regressed past its threshold (or a transport errored or went
 * missing in HEAD); 2: bad input (missing or invalid file, bad flag).
 */
import { Option } from 'commander'
import { fail, newCommand, parseArgs } from '../lib/cli.ts'
import {
  COMPARE_METRICS,
  compareResults,
  DEFAULT_THRESHOLDS,
  formatComparison,
  resolveThresholds,
} from '../report/compare.ts'
import { readResultsArg } from '../report/read-input.ts'

const PROG = 'pushbench compare'

const defaults = COMPARE_METRICS.map((m) => `${m}=${DEFAULT_THRESHOLDS[m]}`).join(' ')

const cmd = newCommand(PROG, 'Compare two results files metric by metric; exit 1 on a regression (for CI).')
  .argument('<base>', 'results file to compare against (e.g. the main branch baseline)')
  .argument('<head>', 'results file of the change under test')
  .addOption(
    new Option(
      '-t, --threshold <metric=pct...>',
      `allowed worsening in percent of BASE, or "off"; metrics: ${COMPARE_METRICS.join(', ')}`,
    ).default([], defaults),
  )
  .option('--allow-missing', 'a scenario or transport missing from HEAD is reported but does not fail', false)
  .option('--json', 'print the comparison as JSON instead of the table', false)
  .addHelpText(
    'after',
    '\nExit status: 0 no regression, 1 regression, 2 bad input.\nExample: pushbench compare baseline.json results/head/run.json --threshold p99=40 --threshold missed=off',
  )

parseArgs(cmd)
try {
  const [basePath, headPath] = cmd.args as [string, string]
  const opts = cmd.opts<{ threshold: string[]; allowMissing: boolean; json: boolean }>()
  const thresholds = resolveThresholds(opts.threshold)
  const base = readResultsArg(basePath, 'BASE')
  const head = readResultsArg(headPath, 'HEAD')
  const c = compareResults(base, head, thresholds, { allowMissing: opts.allowMissing })
  const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR
  process.stdout.write(opts.json ? `${JSON.stringify(c, null, 2)}\n` : formatComparison(c, { color }))
  process.exitCode = c.regressed ? 1 : 0
} catch (err) {
  fail(err, PROG)
}
