/**
 * `pushbench pages`: the four transports' servers and one page that shows their live pages side by side,
 * for a person to watch (each is the page its server serves at `/`, servers/page.ts):
 *   pushbench pages [--port 8080] [--tick-hz 10] [--poll-interval-ms 1000]
 * With `--screenshot FILE` it opens that page in headless Chromium, waits, writes a PNG and exits
 * (the README's picture is made so).
 */
import { createServer } from 'node:http'
import { fail, newCommand, numberIn, parseArgs, rangeText } from '../lib/cli.ts'
import { checkOutputFile } from '../lib/output-path.ts'
import { checkNumber, PARAM_RANGES, SERVER_RANGES } from '../lib/params.ts'
import { transport, transportNames } from '../lib/transports.ts'
import { writeAtomic } from '../lib/write-atomic.ts'
import { launchChromium } from '../load/chromium.ts'
import { listenError } from '../servers/listen-error.ts'
import { SERVER_DEFAULTS } from '../servers/options.ts'
import { type PushbenchServer, startServer } from '../servers/server.ts'

const PROG = 'pushbench pages'
const P = PARAM_RANGES
const SHOT_WAIT_RANGE = { min: 1, max: 120, integer: false, unit: 's' }

const cmd = newCommand(PROG, 'Serve the four transports and a page that shows their live pages side by side.')
  .option('--host <addr>', 'address every server binds', SERVER_DEFAULTS.host)
  .option('--port <n>', 'port of the side-by-side page (0 = any free port)', numberIn(SERVER_RANGES.port), 0)
  .option('--tick-hz <n>', `ticks a second (${rangeText(P.tickHz)})`, numberIn(P.tickHz), 10)
  .option(
    '--updates-per-tick <n>',
    `updates per tick (${rangeText(P.updatesPerTick)})`,
    numberIn(P.updatesPerTick),
    1,
  )
  .option(
    '--payload-bytes <n>',
    `bytes of one update (${rangeText(P.payloadBytes)})`,
    numberIn(P.payloadBytes),
    128,
  )
  .option(
    '--poll-interval-ms <n>',
    `the short-polling page's interval (${rangeText(P.pollIntervalMs)})`,
    numberIn(P.pollIntervalMs),
    250,
  )
  .option('--screenshot <file>', 'open the page in headless Chromium, write a PNG of it, and exit')
  .option(
    '--screenshot-after-s <n>',
    `how long the pages run before the picture (${rangeText(SHOT_WAIT_RANGE)})`,
    numberIn(SHOT_WAIT_RANGE),
    6,
  )
  .addHelpText(
    'after',
    '\nServes until SIGINT or SIGTERM (exit 0), or until the screenshot is written.\nExit codes: 0 done, 1 failed, 2 bad flag.',
  )

interface Flags {
  host: string
  port: number
  tickHz: number
  updatesPerTick: number
  payloadBytes: number
  pollIntervalMs: number
  screenshot?: string
  screenshotAfterS: number
}

/** The side-by-side page: one frame per server, each showing the page that server serves. */
function gridHtml(servers: readonly PushbenchServer[], pollIntervalMs: number): string {
  const frames = servers
    .map((s) => {
      const label = transport(s.options.transport).label
      return `<figure><figcaption>${label} <code>${s.url}/</code></figcaption><iframe src="${s.url}/?interval=${pollIntervalMs}" title="${label}"></iframe></figure>`
    })
    .join('\n')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>pushbench · the four transports live</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1rem; color: #222; }
main { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
figure { margin: 0; border: 1px solid #ccc; border-radius: 4px; padding: .5rem; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
iframe { width: 100%; height: 19rem; border: 0; }
</style>
</head>
<body>
<h1 style="font-size:1.2rem">The same ticker over four transports, each page on its browser's own API</h1>
<main>
${frames}
</main>
</body>
</html>
`
}

async function main(): Promise<void> {
  const f = parseArgs(cmd).opts<Flags>()
  const params = {
    tickHz: checkNumber('--tick-hz', f.tickHz, P.tickHz),
    updatesPerTick: checkNumber('--updates-per-tick', f.updatesPerTick, P.updatesPerTick),
    payloadBytes: checkNumber('--payload-bytes', f.payloadBytes, P.payloadBytes),
  }
  const port = checkNumber('--port', f.port, SERVER_RANGES.port)
  const interval = checkNumber('--poll-interval-ms', f.pollIntervalMs, P.pollIntervalMs)
  const shotAfterS = checkNumber('--screenshot-after-s', f.screenshotAfterS, SHOT_WAIT_RANGE)
  if (f.screenshot !== undefined) checkOutputFile('--screenshot', f.screenshot, 'pages.png')
  const names = {
    host: '--host',
    tickHz: '--tick-hz',
    updatesPerTick: '--updates-per-tick',
    payloadBytes: '--payload-bytes',
  }
  const servers: PushbenchServer[] = []
  for (const name of transportNames().filter((n) => transport(n).clients.browser !== undefined))
    servers.push(await startServer({ transport: name, host: f.host, ...params }, names))
  const html = gridHtml(servers, interval)
  const grid = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html)
  })
  await new Promise<void>((resolve, reject) => {
    grid.once('error', (err) =>
      reject(listenError(err, { host: f.host, port }, { host: '--host', port: '--port' })),
    )
    grid.listen(port, f.host, resolve)
  })
  const addr = grid.address()
  const url = `http://${f.host.includes(':') ? `[${f.host}]` : f.host}:${typeof addr === 'object' && addr ? addr.port : f.port}/`
  const stop = async (code: number): Promise<never> => {
    grid.close()
    grid.closeAllConnections()
    await Promise.all(servers.map((s) => s.close()))
    process.exit(code)
  }
  process.on('SIGINT', () => void stop(0))
  process.on('SIGTERM', () => void stop(0))

  if (f.screenshot === undefined) {
    process.stdout.write(`${url}\n`)
    process.stderr.write(`${PROG}: the four pages side by side at ${url} (Ctrl-C stops)\n`)
    return
  }
  const browser = await launchChromium()
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } })
    await page.goto(url)
    await new Promise((r) => setTimeout(r, shotAfterS * 1000))
    await writeAtomic(f.screenshot, await page.screenshot({ fullPage: true }))
  } finally {
    await browser.close()
  }
  process.stdout.write(`${f.screenshot}\n`)
  await stop(0)
}

main().catch((err) => fail(err, PROG))
