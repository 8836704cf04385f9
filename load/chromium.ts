/**
 * The one headless Chromium of a generator process (`--client browser`): Debian's chromium driven by
 * playwright-core, never a browser a package downloads. Launched on first use, closed with the last page.
 * Its processes are the generator's children, so they run on the generator's pinned core, and their CPU
 * is read from /proc (load/process-tree-cpu.ts) and charged to the generator: a browser client costs far
 * more than a Node one.
 */
import { existsSync } from 'node:fs'
import type { Browser, BrowserContext } from 'playwright-core'
import { PbError, PbOptionError } from '../lib/errors.ts'

/** Where Debian puts it; PB_CHROMIUM names another binary. */
export const CHROMIUM_PATH = process.env.PB_CHROMIUM ?? '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  // a measuring page must not be slowed as a hidden tab would be
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
] as const

/** One line naming the fix when Chromium is not here; undefined when it is. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH)
    ? undefined
    : `--client browser needs Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (or set PB_CHROMIUM)`
}

/**
 * The most pages one generator opens: each is a renderer process, and Chromium spent 2.5 ms of CPU per
 * pushed update a page received (README, "Browsers as clients"), all on the generator's one core.
 */
export const BROWSER_MAX_CLIENTS = 200

/** Before anything starts: Chromium is here, and `clients` pages fit (exit 2 naming `field` otherwise). */
export function checkBrowserRun(clients: number, field: string): void {
  const missing = chromiumMissing()
  if (missing) throw new PbOptionError('--client', missing)
  if (clients > BROWSER_MAX_CLIENTS)
    throw new PbOptionError(
      field,
      `with --client browser at most ${BROWSER_MAX_CLIENTS} clients (each is a page of headless Chromium), got ${clients}`,
    )
}

/** When Chromium is taken to be done starting its pages (load/generator.ts untilBrowserSettles). */
export const BROWSER_SETTLE = { sliceMs: 1000, belowPercent: 50, maxMs: 30_000 } as const

/** Launches Chromium (playwright-core is loaded here, not by every process that imports this module). */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  const missing = chromiumMissing()
  if (missing) throw new PbError('PB_ERR_CHROMIUM', missing)
  const { chromium } = await import('playwright-core')
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    // signals are the run's to handle (load/children.ts): playwright's own handlers would close the
    // browser and exit 130 beside the generator's. Chromium is in a process group of its own, so Ctrl-C
    // does not reach it, and playwright still kills it when this process exits, however it exits
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  })
}

/**
 * Every page of a run gets a host name of its own under this domain, which the browser resolves to the
 * server's address (`--host-resolver-rules`): a browser keeps at most six HTTP/1.1 connections per host,
 * so pages of one host would share six (an SSE stream or a held long poll each); with a host each, every
 * page has its own connections, as every user's browser does. Nothing is looked up in DNS.
 * `localhost` names, because a browser treats them as secure contexts, as it treats an https site: it
 * then sends what it sends a real deployment (client hints, `Sec-Fetch-*`): under `pb.test` a poll
 * request was 432 B, under `localhost` 624 to 629 B.
 */
export const PAGE_DOMAIN = 'localhost'

/** `http://c<index>.localhost:<port>/`: page `index`'s own origin for the server at `base`. */
export function pageOrigin(base: URL, index: number): string {
  return `${base.protocol}//c${index}.${PAGE_DOMAIN}:${base.port}`
}

let shared: Promise<{ browser: Browser; context: BrowserContext }> | undefined
let users = 0

/**
 * The process's browser and its one context, launched by the first caller for the server at `base`;
 * each caller gives it back with releaseBrowser. One context for all pages: a context per page opens a
 * window per page, whose browser UI kept a core busy for ten seconds after 5 pages opened.
 */
export function acquireBrowser(base: URL): Promise<{ browser: Browser; context: BrowserContext }> {
  users++
  shared ??= launchChromium([`--host-resolver-rules=MAP *.${PAGE_DOMAIN} ${base.hostname}`]).then(
    async (browser) => ({ browser, context: await browser.newContext() }),
  )
  return shared
}

export function releaseBrowser(): void {
  if (--users > 0 || shared === undefined) return
  const b = shared
  shared = undefined
  b.then(({ browser }) => browser.close()).catch(() => {})
}
