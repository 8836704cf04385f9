/**
 * `--client browser`: one simulated client is one page of headless Chromium (load/chromium.ts), on a
 * host name of its own that the browser resolves to the server (HTTP/1.1's six connections per host
 * would otherwise be shared by every page). The page is the one the server serves at `/`
 * (servers/page/page.js) with `?bench`: it opens the transport with the browser's API and measures on
 * the page's clock, `performance.timeOrigin + performance.now()`, checked against the suite's by readClockOffset.
 * Every second it hands its records over the `pbReport` binding; they are accounted here as a Node
 * client accounts its own.
 */
import type { Page } from 'playwright-core'
import { hostNowMs } from '../../lib/clock.ts'
import { recordMs } from '../../lib/latency.ts'
import { PAGE_PATH } from '../../servers/page.ts'
import { acquireBrowser, pageOrigin, releaseBrowser } from '../chromium.ts'
import { BaseClient } from './common.ts'

/** How long a page may take to load and open its transport. */
const OPEN_TIMEOUT_MS = 30_000

/** Wall-clock edges each side reads its clock at; the smallest reading is kept (a late one is only larger). */
const CLOCK_EDGES = 5
/** performance.now() in a page that is not cross-origin isolated is coarsened to 100 us */
const PAGE_CLOCK_RESOLUTION_MS = 0.1

/**
 * The performance clock minus the wall clock, read just as `Date.now()` ticks over to a new millisecond.
 * Self-contained: it also runs in the page (page.evaluate sends its source).
 */
function skewAtWallClockEdge(edges: number): number {
  let best = Number.POSITIVE_INFINITY
  for (let k = 0; k < edges; k++) {
    const d0 = Date.now()
    let d = d0
    do d = Date.now()
    while (d === d0)
    best = Math.min(best, performance.timeOrigin + performance.now() - d)
  }
  return best
}

/** What the page hands over every second (servers/page/page.js). */
export interface PageBatch {
  /** seq, ts, receivedMs per update, flat */
  updates: number[]
  /** scheduledMs, lagMs per short poll */
  lags: number[]
  events: {
    type: string
    atMs: number
    message?: string
    code?: number
    reason?: string
    /** a gap signal's seq resumed from and first seq held */
    from?: number
    first?: number
  }[]
}

/** pages opened by this process so far: each gets its own host name (load/chromium.ts) */
let pagesOpened = 0

export class BrowserClient extends BaseClient {
  private page: Page | undefined
  private isSubscribed = false
  private acquired = false
  /** close codes the page saw (WebSocket), for the report */
  readonly closeCodes: number[] = []
  /** page clock minus the generator's, ms, with its uncertainty (readClockOffset) */
  clockOffset: { ms: number; uncertaintyMs: number } | undefined
  private onOpen: (() => void) | undefined

  override get subscribed(): boolean {
    return this.isSubscribed
  }

  async start(): Promise<void> {
    this.acquired = true
    const { context } = await acquireBrowser(this.ctx.base)
    if (this.stopped) return
    const page = await context.newPage()
    this.page = page
    page.on('pageerror', (e) => this.error(e))
    await page.exposeBinding('pbReport', (_source, batch: PageBatch) => this.account(batch))
    let timer: NodeJS.Timeout | undefined
    const opened = new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`page did not open its transport in ${OPEN_TIMEOUT_MS / 1000} s`)),
        OPEN_TIMEOUT_MS,
      )
      this.onOpen = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    const url = new URL(PAGE_PATH, pageOrigin(this.ctx.base, pagesOpened++))
    url.searchParams.set('bench', '1')
    if (this.ctx.streams > 1) url.searchParams.set('stream', String(this.stream))
    const { fraction, epochMs } = this.ctx.pollPhase()
    url.searchParams.set('interval', String(this.ctx.params.pollIntervalMs))
    url.searchParams.set('phase', String(fraction))
    url.searchParams.set('epochMs', String(epochMs))
    try {
      await page.goto(url.href, { waitUntil: 'load' })
      await opened
    } finally {
      clearTimeout(timer)
    }
    this.clockOffset = await this.readClockOffset(page)
  }

  /**
   * The page's clock against this process's. Both map a monotonic clock onto the host's wall clock, each
   * at its own start, so the two can differ; a round trip through the DevTools protocol is too slow to
   * see that (10-30 ms with the browser busy). Instead each side reads its clock at an edge of the wall
   * clock (the instant `Date.now()` ticks over): the gap between the two readings, taken the same way,
   * is the offset, to within Chromium's 0.1 ms coarsening of `performance.now()`.
   */
  private async readClockOffset(page: Page): Promise<{ ms: number; uncertaintyMs: number }> {
    const pageSkew = await page.evaluate(skewAtWallClockEdge, CLOCK_EDGES)
    // here the function reads this process's performance clock; the suite's (lib/clock.ts) is that plus a constant
    const suiteMinusPerf = hostNowMs() - (performance.timeOrigin + performance.now())
    return {
      ms: pageSkew - (skewAtWallClockEdge(CLOCK_EDGES) + suiteMinusPerf),
      uncertaintyMs: PAGE_CLOCK_RESOLUTION_MS,
    }
  }

  private account(batch: PageBatch): void {
    if (this.stopped) return
    const u = batch.updates
    for (let i = 0; i + 2 < u.length; i += 3) {
      this.delivery.onUpdate(u[i] as number, u[i + 1] as number, u[i + 2] as number)
      this.counters.verified++
    }
    const { window } = this.ctx
    const lags = batch.lags
    for (let i = 0; i + 1 < lags.length; i += 2) {
      const at = lags[i] as number
      if (at >= window.startMs && at < window.endMs) recordMs(this.ctx.scheduleLag, lags[i + 1] as number)
    }
    for (const e of batch.events) {
      switch (e.type) {
        case 'open':
          this.onOpen?.()
          break
        case 'subscribed':
          this.isSubscribed = true
          break
        case 'reconnect':
          this.counters.reconnects++
          break
        case 'close':
          if (e.code !== undefined) this.closeCodes.push(e.code)
          break
        case 'gap':
          if (e.from !== undefined && e.first !== undefined) this.delivery.onGap(e.from, e.first)
          break
        case 'refused':
          this.delivery.onResumeRefused()
          break
        case 'corrupt':
          this.corrupt(e.message ?? '?')
          break
        case 'error':
          this.error(new Error(e.message ?? 'page error'))
          break
      }
    }
  }

  /** Closes the transport the page's way (WebSocket close 1000, EventSource.close), then the page. */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    const page = this.page
    const acquired = this.acquired
    this.acquired = false
    const close = async (): Promise<void> => {
      await page?.evaluate(() => (globalThis as unknown as { __pb?: { close?: () => void } }).__pb?.close?.())
      await page?.close()
    }
    close()
      .catch(() => {})
      .finally(() => {
        if (acquired) releaseBrowser()
      })
  }
}
