/** Renders every chart of a results file to PNG files in one folder. */
import { basename, dirname, extname, join } from 'node:path'
import { makeFolders } from '../lib/make-folders.ts'
import type { ResultsFile } from '../lib/results-schema.ts'
import { writeAtomic } from '../lib/write-atomic.ts'
import { chartConfigs } from './chart-configs.ts'
import { renderChartPng } from './render-png.ts'

export const CHART_WIDTH = 960
export const CHART_HEIGHT = 540

/** `results/2026-11-25T06-23-51Z.json` -> `results/2026-11-25T06-23-51Z`: the charts sit beside their results. */
export function defaultChartsDir(resultsPath: string): string {
  return join(dirname(resultsPath), basename(resultsPath, extname(resultsPath)))
}

/** Writes `<outDir>/<chart id>.png` for every chart (each file atomically) and returns the paths in chart order. */
export async function writeCharts(
  file: ResultsFile,
  outDir: string,
  size: { width?: number; height?: number } = {},
): Promise<string[]> {
  await makeFolders(outDir)
  const paths: string[] = []
  for (const spec of chartConfigs(file)) {
    const png = renderChartPng(spec.config, size.width ?? CHART_WIDTH, size.height ?? CHART_HEIGHT)
    const path = join(outDir, `${spec.id}.png`)
    await writeAtomic(path, png)
    paths.push(path)
  }
  return paths
}
