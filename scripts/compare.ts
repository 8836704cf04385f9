/**
 * `pushbench compare`: BASE.json HEAD.json [--threshold METRIC=PCT ...] [--allow-missing] [--json]
 *   [--html OUT.html]
 * Exit 0: no regression; 1: a metric regressed past its threshold (or a transport errored or went
 * missing in HEAD); 2: bad input (missing or invalid file, a file with no scenarios, bad flag, an --html
 * path that cannot be written). --html also writes the comparison as a self-contained page; the exit status is the same.
 */
import { Option } from 'commander'
import { fail, newCommand, parseArgs } from '../lib/cli.ts'
import { PbOptionError } from '../lib/errors.ts'
import { checkOutputFile } from '../lib/output-path.ts'
import {
  COMPARE_METRICS,
  compareResults,
  DEFAULT_THRESHOLDS,
  formatComparison,
  resolveThresholds,
} from '../report/compare.ts'
import { writeCompareHtml } from '../report/compare-html.ts'
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
  .option('--html <file>', 'also write the comparison as a self-contained HTML page (same exit status)')
  .addHelpText(
    'after',
    [
      '',
      'Exit status: 0 no regression, 1 regression, 2 bad input (with or without --html).',
      'Examples:',
      '  pushbench compare baseline.json results/head/run.json --threshold p99=40 --threshold missed=off',
      '  pushbench compare baseline.json results/head/run.json --html results/head/compare.html',
    ].join('\n'),
  )

async function main(): Promise<void> {
  parseArgs(cmd)
  const [basePath, headPath] = cmd.args as [string, string]
  const opts = cmd.opts<{ threshold: string[]; allowMissing: boolean; json: boolean; html?: string }>()
  const thresholds = resolveThresholds(opts.threshold)
  // a bad --html path is bad input (exit 2), found before any work: never a failure CI could read as a regression
  if (opts.html !== undefined) checkOutputFile('--html', opts.html, 'compare.html')
  const base = readResultsArg(basePath, 'BASE')
  const head = readResultsArg(headPath, 'HEAD')
  // an empty comparison has no regression to find: exit 0 there would pass any CI gate
  for (const [field, path, file] of [
    ['BASE', basePath, base],
    ['HEAD', headPath, head],
  ] as const)
    if (file.scenarios.length === 0)
      throw new PbOptionError(field, `${path} has no scenarios: nothing to compare`)
  const c = compareResults(base, head, thresholds, { allowMissing: opts.allowMissing })
  const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR
  process.stdout.write(opts.json ? `${JSON.stringify(c, null, 2)}\n` : formatComparison(c, { color }))
  if (opts.html !== undefined) {
    try {
      await writeCompareHtml(c, base, head, opts.html)
    } catch (err) {
      throw new PbOptionError(
        '--html',
        `cannot write ${JSON.stringify(opts.html)}: ${(err as Error).message}`,
      )
    }
    process.stderr.write(`compare: wrote ${opts.html}\n`)
  }
  process.exitCode = c.regressed ? 1 : 0
}

main().catch((err) => fail(err, PROG))
