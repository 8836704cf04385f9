/** One PNG per case group, made from the results file's MicroCase records only. */
import { join } from 'node:path'
import type { ChartConfiguration } from 'chart.js'
import { makeFolders } from '../lib/make-folders.ts'
import type { Env, MicroCase } from '../lib/results-schema.ts'
import { writeAtomic } from '../lib/write-atomic.ts'
import { renderChartPng } from '../report/render-png.ts'
import { sizeLabel } from './fixtures.ts'
import { byGroup } from './table.ts'

const WIDTH = 1100
const HEIGHT = 600
const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
]

const perMessage = (c: MicroCase): number => c.meanNsPerMessage ?? c.meanNs

/** Bars of mean ns per delivered message, log scale: x = payload size, one series per case name. */
export function microChartConfig(
  group: string,
  cases: readonly MicroCase[],
  title: string,
  env?: Env,
): ChartConfiguration<'bar'> {
  const sized = cases.every((c) => c.payloadBytes !== undefined)
  let labels: string[]
  let datasets: ChartConfiguration<'bar'>['data']['datasets']
  if (sized) {
    const sizes = [...new Set(cases.map((c) => c.payloadBytes as number))].sort((a, b) => a - b)
    const names = [...new Set(cases.map((c) => c.name))]
    labels = sizes.map(sizeLabel)
    datasets = names.map((name, i) => ({
      label: name,
      data: sizes.map((s) => {
        const c = cases.find((x) => x.name === name && x.payloadBytes === s)
        return c === undefined ? null : perMessage(c)
      }) as number[],
      backgroundColor: PALETTE[i % PALETTE.length] as string,
    }))
  } else {
    labels = cases.map((c) => c.name)
    datasets = [
      {
        label: 'mean ns per op',
        data: cases.map(perMessage),
        backgroundColor: cases.map((_, i) => PALETTE[i % PALETTE.length] as string),
      },
    ]
  }
  const where = env ? `${env.cpuModel}, ${env.cores} cores, node ${env.node}` : ''
  return {
    type: 'bar',
    data: { labels, datasets },
    options: {
      plugins: {
        title: {
          display: true,
          text: [
            `${group}: ${title}`,
            `mean ns per delivered message (log scale)${where ? ` · ${where}` : ''}`,
          ],
        },
        legend: { display: sized, position: 'right' },
      },
      scales: {
        y: { type: 'logarithmic', title: { display: true, text: 'ns per message' } },
        x: { title: { display: true, text: sized ? 'payload size' : 'case' } },
      },
    },
  }
}

/** Writes `<dir>/<group>.png` for every group (each file atomically); returns the paths. */
export async function writeMicroCharts(
  cases: readonly MicroCase[],
  dir: string,
  titles: Readonly<Record<string, string>>,
  env?: Env,
): Promise<string[]> {
  await makeFolders(dir)
  const paths: string[] = []
  for (const [group, list] of byGroup(cases)) {
    const png = renderChartPng(
      microChartConfig(group, list, titles[group] ?? group, env) as ChartConfiguration,
      WIDTH,
      HEIGHT,
    )
    const path = join(dir, `${group}.png`)
    await writeAtomic(path, png)
    paths.push(path)
  }
  return paths
}
