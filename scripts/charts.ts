/**
 * `pushbench charts`: results/FILE.json [--out DIR] [--html]
 * One PNG per chart, made from the results file alone; prints the paths.
 */
import { join } from 'node:path'
import { fail, newCommand, numberIn, parseArgs, rangeText } from '../lib/cli.ts'
import { checkOutputDir } from '../lib/output-path.ts'
import { checkNumber } from '../lib/params.ts'
import { chartPlan } from '../report/chart-configs.ts'
import { writeHtmlReport } from '../report/html.ts'
import { readResultsArg } from '../report/read-input.ts'
import { CHART_HEIGHT, CHART_WIDTH, defaultChartsDir, writeCharts } from '../report/write-charts.ts'

const PROG = 'pushbench charts'
const PIXELS = { min: 100, max: 8000, integer: true, unit: 'pixels' }

const cmd = newCommand(PROG, 'Render the charts of a results file to PNG (chart.js + @napi-rs/canvas).')
  .argument('<results>', 'a results JSON file, e.g. results/2026-11-25T06-23-51Z.json')
  .option('-o, --out <dir>', 'folder for the PNGs (default: beside the results file, named after it)')
  .option('--width <px>', `image width in pixels (${rangeText(PIXELS)})`, numberIn(PIXELS), CHART_WIDTH)
  .option('--height <px>', `image height in pixels (${rangeText(PIXELS)})`, numberIn(PIXELS), CHART_HEIGHT)
  .option('--html', 'also write the self-contained HTML report as report.html in the same folder', false)
  .addHelpText('after', '\nExit codes: 0 done, 1 failed, 2 bad flag or results file.')

async function main(): Promise<void> {
  parseArgs(cmd)
  const [resultsPath] = cmd.args as [string]
  const opts = cmd.opts<{ out?: string; width: number; height: number; html: boolean }>()
  const width = checkNumber('--width', opts.width, PIXELS)
  const height = checkNumber('--height', opts.height, PIXELS)
  const outDir = opts.out ?? defaultChartsDir(resultsPath)
  checkOutputDir(opts.out === undefined ? '--out (default: beside the results file)' : '--out', outDir)
  const file = readResultsArg(resultsPath, 'results file')
  const paths = await writeCharts(file, outDir, { width, height })
  if (opts.html) {
    const report = join(outDir, 'report.html')
    await writeHtmlReport(file, report)
    paths.push(report)
  }
  process.stdout.write(
    paths.length > 0 ? `${paths.join('\n')}\n` : 'no charts: the results file has no scenarios\n',
  )
  for (const o of chartPlan(file).omitted)
    process.stderr.write(`${o.scenario ? `${o.scenario}: ` : ''}${o.reason}\n`)
}

main().catch((err) => fail(err, PROG))
