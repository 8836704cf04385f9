/** Renders a chart.js configuration to PNG in Node (@napi-rs/canvas); the background is filled (the canvas is transparent). */
import { createCanvas } from '@napi-rs/canvas'
import { Chart, type ChartConfiguration, type Plugin, registerables } from 'chart.js'

Chart.register(...registerables)

const background = (color: string): Plugin => ({
  id: 'pb-background',
  beforeDraw(chart) {
    const { ctx, width, height } = chart
    ctx.save()
    ctx.globalCompositeOperation = 'destination-over'
    ctx.fillStyle = color
    ctx.fillRect(0, 0, width, height)
    ctx.restore()
  },
})

export function renderChartPng(
  config: ChartConfiguration,
  width = 960,
  height = 540,
  backgroundColor = '#ffffff',
): Buffer {
  const canvas = createCanvas(width, height)
  const chart = new Chart(
    canvas.getContext('2d') as never,
    {
      ...config,
      options: { ...config.options, responsive: false, animation: false, devicePixelRatio: 1 },
      plugins: [...(config.plugins ?? []), background(backgroundColor)],
    } as ChartConfiguration,
  )
  const png = canvas.toBuffer('image/png')
  chart.destroy()
  return png
}
