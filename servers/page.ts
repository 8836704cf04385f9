/**
 * The page a server serves at `/`: it opens the server's transport with the browser's own API
 * (servers/page/page.js) and shows the live ticker with its latency. The same page is the measuring
 * client of `--client browser` (load/clients/browser.ts) with `?bench`. No CDN, no build step.
 */
import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { transport } from '../lib/transports.ts'
import type { ServerOptions } from './options.ts'

export const PAGE_PATH = '/'
export const PAGE_SCRIPT_PATH = '/pushbench-page.js'
/** what a person watching sees polled, unless `?interval=` says otherwise (the bench passes its own) */
export const PAGE_POLL_INTERVAL_MS = 250

/** the page's script, as served (a page on another origin serves its own copy: module scripts load with CORS) */
export const PAGE_SCRIPT = readFileSync(new URL('./page/page.js', import.meta.url))

/** What the page reads from its `pb-config` script element. */
export interface PageConfig {
  transport: string
  label: string
  /** the page's client (servers/page/page.js `clients`) */
  client: string
  path: string
  /** the server's origin when the page is served from another one; empty: its own */
  server: string
  payloadBytes: number
  pollIntervalMs: number
}

export function pageConfig(options: Readonly<ServerOptions>, server = ''): PageConfig {
  const entry = transport(options.transport)
  return {
    transport: options.transport,
    label: entry.label,
    client: entry.clients.browser ?? '',
    path: entry.path,
    server,
    payloadBytes: options.payloadBytes,
    pollIntervalMs: PAGE_POLL_INTERVAL_MS,
  }
}

/** The page's HTML; `scriptSrc` is where its script is (another origin's page names the server's). */
export function pageHtml(config: PageConfig, scriptSrc = PAGE_SCRIPT_PATH): string {
  // `<` escaped: the JSON cannot close the script element it sits in
  const json = JSON.stringify(config).replace(/</g, '\\u003c')
  const title = `pushbench · ${config.label}`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${title}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1rem; color: #222; }
h1 { font-size: 1.1rem; margin: 0 0 .4rem; }
.meta { color: #555; margin: .2rem 0; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; margin-top: .6rem; font-variant-numeric: tabular-nums; }
td { padding: .1rem .8rem .1rem 0; }
td:nth-child(2), td:nth-child(3) { text-align: right; }
</style>
</head>
<body>
<h1>${title}</h1>
<div class="meta" id="pb-api"></div>
<div class="meta" id="pb-latency">connecting</div>
<div class="meta" id="pb-count"></div>
<div class="meta" id="pb-status"></div>
<table><tbody id="pb-rows"></tbody></table>
<script type="application/json" id="pb-config">${json}</script>
<script type="module" src="${scriptSrc}"></script>
</body>
</html>
`
}

/** Registers `/` and the page's script on a server's app. Not counted as transport requests. */
export function servePage(app: FastifyInstance, options: Readonly<ServerOptions>): void {
  const html = pageHtml(pageConfig(options))
  app.get(PAGE_PATH, (_req, reply) => {
    reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(html)
  })
  app.get(PAGE_SCRIPT_PATH, (_req, reply) => {
    reply.header('cache-control', 'no-store').type('text/javascript; charset=utf-8').send(PAGE_SCRIPT)
  })
}
