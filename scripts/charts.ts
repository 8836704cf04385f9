/**
 * npm run charts -- results/FILE.json [--out DIR] [--html]
 * One PNG per chart, made from the results file alone; prints the paths.
 */
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { fail, newCommand, numberArg, parseArgs } from '../lib/cli.ts'
import { PbOptionError } from '../lib/errors.ts'
import { writeHtmlReport } from '../report/html.ts'
import { readResultsArg } from '../report/read-input.ts'
import { CHART_HEIGHT, CHART_WIDTH, defaultChartsDir, writeCharts } from '../report/write-charts.ts'

export { defaultChartsDir, writeCharts } from '../report/write-charts.ts'

const PROG = 'charts'

async function main(): Promise<void> {
  const cmd = newCommand(PROG, 'Render the charts of a results file to PNG (chart.js + @napi-rs/canvas).')
    .argument('<results>', 'a results JSON file, e.g. results/2026-11-25T06-23-51Z.json')
    .option('-o, --out <dir>', 'folder for the PNGs (default: beside the results file, named after it)')
    .option('--width <px>', 'image width in pixels', numberArg, CHART_WIDTH)
    .option('--height <px>', 'image height in pixels', numberArg, CHART_HEIGHT)
    .option('--html', 'also write the self-contained HTML report as report.html in the same folder', false)
  parseArgs(cmd)
  const [resultsPath] = cmd.args as [string]
  const opts = cmd.opts<{ out?: string; width: number; height: number; html: boolean }>()
  for (const [flag, v] of [
    ['--width', opts.width],
    ['--height', opts.height],
  ] as const)
    if (!Number.isInteger(v) || v < 100 || v > 8000)
      throw new PbOptionError(flag, `must be an integer from 100 to 8000 pixels, got ${v}`)
  const file = readResultsArg(resultsPath, 'results file')
  const outDir = opts.out ?? defaultChartsDir(resultsPath)
  const paths = await writeCharts(file, outDir, { width: opts.width, height: opts.height })
  if (opts.html) {
    const report = join(outDir, 'report.html')
    await writeHtmlReport(file, report)
    paths.push(report)
  }
  process.stdout.write(
    paths.length > 0 ? `${paths.join('\n')}\n` : 'no charts: the results file has no scenarios\n',
  )
}

// run only as a script: bench.ts imports writeCharts from here
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err) => fail(err, PROG))
}
