/**
 * The page every server serves, in headless Chromium, against the real servers: the browser's own
 * fetch, EventSource and WebSocket receive what the Node reference clients receive; EventSource resumes
 * with Last-Event-ID after the server drops it; a page on another origin works only when allowed.
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { test } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import type { BuiltinTransport } from '../../lib/transports.ts'
import { PAGE_DOMAIN, pageOrigin } from '../../load/chromium.ts'
import { PAGE_SCRIPT, PAGE_SCRIPT_PATH, pageConfig, pageHtml } from '../../servers/page.ts'
import { type PushbenchServer, startServer } from '../../servers/server.ts'
import { chromiumFor } from '../helpers/chromium.ts'
import {
  LongPollClient,
  range,
  ShortPollClient,
  SseClient,
  type UpdateLog,
  WsClient,
} from '../helpers/clients.ts'
import { waitFor } from '../helpers/wait.ts'

const PARAMS = { seed: 20_261_202, symbols: 20, updatesPerTick: 2, payloadBytes: 150 }
const TRANSPORTS: BuiltinTransport[] = ['short-poll', 'long-poll', 'sse', 'websocket']
const TS0 = 1_764_000_000_000
const ts = (i: number) => TS0 + i * 100.25

interface PbState {
  opened: number
  subscribed: boolean
  lastSeq: number | undefined
  received: number
}
interface PbEvent {
  type: string
  message?: string
  code?: number
  reason?: string
}

const state = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { __pb: { state: PbState } }).__pb.state)
const texts = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { __pb: { texts: string[] } }).__pb.texts)
const events = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { __pb: { events: PbEvent[] } }).__pb.events)

/** Polls the page's state until `cond` holds. */
async function pageUntil(page: Page, cond: (s: PbState) => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const s = await state(page)
    if (cond(s)) return s
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}; page: ${JSON.stringify(s)}, ${JSON.stringify(await events(page))}`,
      )
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function openPage(browser: Browser, url: string): Promise<Page> {
  // a context of its own: its own connection pool, as a separate user's browser
  const context = await browser.newContext()
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(url)
  assert.deepEqual(errors, [])
  return page
}

/** The Node reference client of a transport, from seq 0, with a log of raw JSON per seq. */
async function referenceClient(s: PushbenchServer) {
  switch (s.options.transport) {
    case 'short-poll': {
      const c = await ShortPollClient.open(s.port)
      return { log: c.log, until: (seq: number) => c.pollUntil(seq), close: async () => c.close() }
    }
    case 'long-poll': {
      const c = await LongPollClient.open(s.port)
      return { log: c.log, until: (seq: number) => c.waitForSeq(seq), close: () => c.close() }
    }
    case 'sse': {
      const c = await SseClient.open(s.port, { lastEventId: 0 })
      return { log: c.log, until: (seq: number) => c.waitForSeq(seq), close: () => c.close() }
    }
    default: {
      const c = await WsClient.open(s.port, 0)
      return { log: c.log, until: (seq: number) => c.waitForSeq(seq), close: () => c.close() }
    }
  }
}

for (const transport of TRANSPORTS) {
  test(`${transport}: the page in Chromium receives the seqs and byte-identical JSON the Node client does`, async (t) => {
    const browser = await chromiumFor(t)
    if (!browser) return
    const s = await startServer({ transport, autoStart: false, ...PARAMS })
    t.after(() => s.close())
    const ref = await referenceClient(s)
    t.after(() => ref.close())
    const page = await openPage(browser, `${s.url}/?bench&keep&interval=50`)
    // a long poll is answered at the first publish: both must be held before it, to be answered from seq 1
    if (transport === 'long-poll')
      await waitFor(() => s.stats.heldRequests === 2, 'two held long polls', 10_000)
    else await pageUntil(page, (st) => st.subscribed, 'the page to subscribe')

    const TICKS = 30
    for (let tick = 0; tick < TICKS; tick++) {
      s.source.publishTick(ts(tick))
      if (tick % 5 === 4) await new Promise((r) => setTimeout(r, 30))
    }
    const last = TICKS * PARAMS.updatesPerTick
    await ref.until(last)
    await pageUntil(page, (st) => st.lastSeq === last, `the page to reach seq ${last}`)

    const seen = await texts(page)
    const seqs = seen.map((x) => (JSON.parse(x) as { seq: number }).seq)
    assert.deepEqual(seqs, range(1, last), 'every seq once, in order')
    const log: UpdateLog = ref.log
    for (const text of seen) {
      const seq = (JSON.parse(text) as { seq: number }).seq
      assert.equal(text, log.json.get(seq)?.toString('latin1'), `seq ${seq} byte for byte`)
      assert.equal(text.length, PARAMS.payloadBytes)
    }
    const bad = (await events(page)).filter((e) => e.type === 'error' || e.type === 'corrupt')
    assert.deepEqual(bad, [])
  })
}

test('EventSource reconnects after the server drops it and resumes with Last-Event-ID, no gap', async (t) => {
  const browser = await chromiumFor(t)
  if (!browser) return
  const s = await startServer({ transport: 'sse', autoStart: false, sseRetryMs: 100, ...PARAMS })
  t.after(() => s.close())
  const lastEventIds: (string | undefined)[] = []
  s.httpServer.on('request', (req) => {
    if (req.url?.startsWith('/sse')) lastEventIds.push(req.headers['last-event-id'] as string | undefined)
  })
  const page = await openPage(browser, `${s.url}/?bench&keep`)
  await pageUntil(page, (st) => st.subscribed, 'the EventSource to open')
  for (let i = 0; i < 5; i++) s.source.publishTick(ts(i))
  await pageUntil(page, (st) => st.lastSeq === 10, 'seq 10')

  // the server drops every connection; updates published before the browser is back must not be lost
  s.httpServer.closeAllConnections()
  for (let i = 5; i < 10; i++) s.source.publishTick(ts(i))
  await pageUntil(page, (st) => st.opened >= 2, 'the EventSource to reconnect')
  for (let i = 10; i < 15; i++) s.source.publishTick(ts(i))
  await pageUntil(page, (st) => st.lastSeq === 30, 'seq 30')

  const seqs = (await texts(page)).map((x) => (JSON.parse(x) as { seq: number }).seq)
  assert.deepEqual(seqs, range(1, 30), 'no gap and no duplicate across the reconnect')
  assert.deepEqual(lastEventIds, [undefined, '10'], 'the reconnect sent the last id it had')
  assert.ok((await events(page)).some((e) => e.type === 'reconnect'))
})

/** A second origin (another port) serving the same page, pointed at whichever server `target()` returns. */
async function secondOrigin(
  t: { after: (fn: () => unknown) => void },
  target: () => PushbenchServer,
): Promise<string> {
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith(PAGE_SCRIPT_PATH))
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(PAGE_SCRIPT)
    else {
      const s = target()
      res.writeHead(200, { 'content-type': 'text/html' }).end(pageHtml(pageConfig(s.options, s.url)))
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.after(() => new Promise((r) => server.close(r)))
  const addr = server.address()
  return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
}

for (const transport of TRANSPORTS) {
  test(`${transport}: a page on another origin works when --allow-origin lists it, and is refused when not`, async (t) => {
    const browser = await chromiumFor(t)
    if (!browser) return
    let current: PushbenchServer | undefined
    const origin = await secondOrigin(t, () => current as PushbenchServer)
    for (const allowed of [true, false]) {
      const s = await startServer({ transport, ...PARAMS, tickHz: 20, allowOrigin: allowed ? [origin] : [] })
      t.after(() => s.close())
      current = s
      const page = await openPage(browser, `${origin}/?bench&keep&interval=50`)
      if (allowed) {
        await pageUntil(page, (st) => st.received >= 4, `updates on an allowed origin`)
        continue
      }
      // refused: the browser hides the answers from the page (CORS), the upgrade gets 403
      await new Promise((r) => setTimeout(r, 800))
      assert.equal((await state(page)).received, 0, 'no update reaches a page of a refused origin')
      const ev = await events(page)
      if (transport === 'websocket') {
        assert.ok(
          ev.some((e) => e.type === 'close' && e.code === 1006),
          JSON.stringify(ev),
        )
        assert.ok(!ev.some((e) => e.type === 'open'), 'the upgrade was refused')
      } else
        assert.ok(
          ev.some((e) => e.type === 'error'),
          JSON.stringify(ev),
        )
    }
  })
}

test('one browser holds six SSE streams per host (HTTP/1.1), a host name per page holds them all, and WebSockets are not limited so', async (t) => {
  const browser = await chromiumFor(t, [`--host-resolver-rules=MAP *.${PAGE_DOMAIN} 127.0.0.1`])
  if (!browser) return
  const s = await startServer({ transport: 'sse', ...PARAMS })
  t.after(() => s.close())
  const PAGES = 8
  // pages of one context share its connection pool, as tabs of one browser do: once six streams hold
  // the six connections, a 7th tab cannot even load its page
  const sameHost = await browser.newContext()
  for (let i = 0; i < PAGES; i++) {
    const page = await sameHost.newPage()
    const loading = page.goto(`${s.url}/?bench`)
    if (i < 6) await loading
    else loading.catch(() => {})
  }
  await waitFor(() => s.stats.streams === 6, 'six streams', 10_000)
  await new Promise((r) => setTimeout(r, 1000))
  assert.equal(s.stats.streams, 6, 'the 7th and 8th tab of one host wait for a connection')
  await sameHost.close()
  await waitFor(() => s.stats.streams === 0, 'the streams to close', 10_000)

  const ownHosts = await browser.newContext()
  const base = new URL(s.url)
  for (let i = 0; i < PAGES; i++) await (await ownHosts.newPage()).goto(`${pageOrigin(base, i)}/?bench`)
  await waitFor(() => s.stats.streams === PAGES, `${PAGES} streams`, 10_000)
  await ownHosts.close()

  // WebSocket connections are not in that pool: 8 tabs of one host all open theirs
  const ws = await startServer({ transport: 'websocket', ...PARAMS })
  t.after(() => ws.close())
  const wsTabs = await browser.newContext()
  for (let i = 0; i < PAGES; i++) await (await wsTabs.newPage()).goto(`${ws.url}/?bench`)
  await waitFor(() => ws.stats.streams === PAGES, `${PAGES} WebSockets`, 10_000)
  await wsTabs.close()
})

test('the close codes a page sees: 1001 when the server shuts down, 1006 when its upgrade is refused', async (t) => {
  const browser = await chromiumFor(t)
  if (!browser) return
  const s = await startServer({ transport: 'websocket', ...PARAMS })
  const page = await openPage(browser, `${s.url}/?bench`)
  await pageUntil(page, (st) => st.subscribed, 'the WebSocket to open')
  await s.close()
  const deadline = Date.now() + 10_000
  let closes: PbEvent[] = []
  while (closes.length < 2 && Date.now() < deadline) {
    closes = (await events(page)).filter((e) => e.type === 'close')
    await new Promise((r) => setTimeout(r, 50))
  }
  // the server's close frame: its code and reason reach the page; the reconnect to no server: 1006
  assert.deepEqual(
    closes.slice(0, 2).map((e) => [e.code, e.reason]),
    [
      [1001, 'server shutdown'],
      [1006, ''],
    ],
  )
})
