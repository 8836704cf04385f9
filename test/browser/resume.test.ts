/**
 * The page (servers/page/page.js) keeps the resume contract as the Node clients do: a poll answer's
 * `pb-gap` becomes a `gap` event (handed to the generator, which counts the seqs as lost), and a 400
 * refusing its `since` (past the server's newest seq) a `refused` event, after which it polls afresh.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startServer } from '../../servers/server.ts'
import { chromiumFor } from '../helpers/chromium.ts'

const TS0 = 1_764_000_000_000

interface PbEvent {
  type: string
  from?: number
  first?: number
}

test('short polling in Chromium: pb-gap is a gap event, a refused since a refused event, then afresh', async (t) => {
  const browser = await chromiumFor(t)
  if (!browser) return
  const s = await startServer({ transport: 'short-poll', port: 0, autoStart: false, ringSize: 8 })
  t.after(() => s.close())
  for (let i = 0; i < 20; i++) s.source.publishTick(TS0 + i * 100) // the ring holds 13..20
  const page = await (await browser.newContext()).newPage()
  await page.goto(`${s.url}/?bench&interval=50`)
  const pb = () =>
    page.evaluate(
      () => (globalThis as unknown as { __pb: { state: { lastSeq?: number }; events: PbEvent[] } }).__pb,
    )
  const until = async (cond: (p: Awaited<ReturnType<typeof pb>>) => boolean, what: string) => {
    const deadline = Date.now() + 10_000
    for (;;) {
      const p = await pb()
      if (cond(p)) return p
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(p)}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  await until((p) => p.state.lastSeq === 20, 'the page to know the newest seq')
  // as if it had been away since seq 2
  await page.evaluate(() => {
    ;(globalThis as unknown as { __pb: { state: { lastSeq?: number } } }).__pb.state.lastSeq = 2
  })
  const gap = await until((p) => p.events.some((e) => e.type === 'gap'), 'a gap event')
  assert.deepEqual(
    gap.events.filter((e) => e.type === 'gap').map((e) => [e.from, e.first]),
    [[2, 13]],
  )
  // as if the server had restarted under it: past the newest
  await page.evaluate(() => {
    ;(globalThis as unknown as { __pb: { state: { lastSeq?: number } } }).__pb.state.lastSeq = 999
  })
  await until((p) => p.events.some((e) => e.type === 'refused'), 'a refused event')
  s.source.publishTick(TS0 + 99_000)
  const after = await until((p) => p.state.lastSeq === 21, 'the page afresh at the next update')
  assert.equal(after.events.filter((e) => e.type === 'corrupt').length, 0)
})
