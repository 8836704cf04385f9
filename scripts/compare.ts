/**
 * `pushbench compare`: BASE.json HEAD.json [--threshold METRIC=PCT ...] [--allow-missing] [--json]
 *   [--html OUT.html]
 * Exit 0: no regression; 1: a metric regressed past its threshold (or a transport errored or went
 * missing in HEAD); 2: bad input (missing or invalid file, bad flag, an --html path that cannot be
 * written). --html also writes the comparison as a self-contained page; the exit status is the same.
 */
import { accessSync, constants, type Stats, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { Option } from 'commander'
import { fail, newCommand, parseArgs } from '../lib/cli.ts'
import { PbOptionError } from '../lib/errors.ts'
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

/**
 * Refuses an --html path that cannot be written before any work: an existing folder, or a parent that
 * cannot be created (the nearest existing ancestor is a file, or not writable). A bad path is bad input
 * (exit 2), so it must not surface later as a failure that CI could read as a regression.
 */
function checkHtmlPath(path: string): void {
  const bad = (why: string) => new PbOptionError('--html', `cannot write ${JSON.stringify(path)}: ${why}`)
  if (path.trim() === '') throw bad('empty path')
  if (/[\\/]$/.test(path) || statOf(path)?.isDirectory())
    throw bad('it is a folder; name a file, e.g. compare.html')
  let dir = dirname(resolve(path))
  let st = statOf(dir)
  while (!st && dirname(dir) !== dir) {
    dir = dirname(dir)
    st = statOf(dir)
  }
  if (!st?.isDirectory()) throw bad(`${dir} is not a folder`)
  try {
    accessSync(dir, constants.W_OK)
  } catch {
    throw bad(`${dir} is not writable`)
  }
}

/** stat, or undefined for a path that is not there (ENOENT, or ENOTDIR under a file). */
function statOf(path: string): Stats | undefined {
  try {
    return statSync(path)
  } catch {
    return undefined
  }
}

async function main(): Promise<void> {
  parseArgs(cmd)
  const [basePath, headPath] = cmd.args as [string, string]
  const opts = cmd.opts<{ threshold: string[]; allowMissing: boolean; json: boolean; html?: string }>()
  const thresholds = resolveThresholds(opts.threshold)
  if (opts.html !== undefined) checkHtmlPath(opts.html)
  const base = readResultsArg(basePath, 'BASE')
  const head = readResultsArg(headPath, 'HEAD')
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
