/** lib/clock.ts: the processes of a run read one clock, the anchor they inherit, not each its own start's mapping. */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { CLOCK_ANCHOR_ENV, clockAnchor, hostNowMs, nowMs, perfNowAt } from '../../lib/clock.ts'

const ROOT = new URL('../../', import.meta.url)

/** A child process's anchor and its clock minus the monotonic clock (the closest of a few reads), as JSON. */
const CHILD = `
import { clockAnchor, nowMs } from './lib/clock.ts'
let best = Infinity
for (let k = 0; k < 20; k++) {
  const a = Number(process.hrtime.bigint()) / 1e6
  const t = nowMs()
  const b = Number(process.hrtime.bigint()) / 1e6
  if (b - a < best) { best = b - a; globalThis.r = t - (a + b) / 2 }
}
console.log(JSON.stringify({ anchor: clockAnchor(), clockMinusMonotonic: globalThis.r, env: process.env.${CLOCK_ANCHOR_ENV} }))
`

function child(env: NodeJS.ProcessEnv): { anchor: number; clockMinusMonotonic: number; env: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
  })
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout)
}

test('importing the clock hands its anchor on through the environment', () => {
  assert.equal(process.env[CLOCK_ANCHOR_ENV], String(clockAnchor()))
  // the anchor is epoch ms minus monotonic ms: the clock reads the wall clock's epoch, in ms
  assert.ok(Math.abs(nowMs() - Date.now()) < 60_000, `${nowMs()} vs ${Date.now()}`)
  assert.equal(hostNowMs() <= nowMs() + 1e-3, true)
})

test("a child reads the parent's clock: its anchor is the inherited one, and its clock is monotonic + anchor", () => {
  const c = child({ ...process.env })
  assert.equal(c.anchor, clockAnchor())
  // the same instant on both sides: the clock minus the monotonic clock is the anchor, to well under 1 us
  // on an idle host (the bound allows a read preempted between the two monotonic reads of the closest pair)
  assert.ok(
    Math.abs(c.clockMinusMonotonic - clockAnchor()) < 0.1,
    `${c.clockMinusMonotonic - clockAnchor()} ms`,
  )
})

test('a different anchor moves the clock by exactly the difference; a malformed one is replaced', () => {
  const moved = child({ ...process.env, [CLOCK_ANCHOR_ENV]: String(clockAnchor() + 5000) })
  assert.equal(moved.anchor, clockAnchor() + 5000)
  assert.ok(Math.abs(moved.clockMinusMonotonic - (clockAnchor() + 5000)) < 0.1)
  const fresh = child({ ...process.env, [CLOCK_ANCHOR_ENV]: 'not-a-number' })
  assert.ok(Number.isFinite(fresh.anchor) && fresh.anchor > 0)
  assert.equal(fresh.env, String(fresh.anchor))
})

test('perfNowAt inverts the clock: the performance.now() reading at which it reads an instant', () => {
  const p0 = performance.now()
  const t = hostNowMs()
  const p1 = performance.now()
  // epoch ms in a double are exact to about 0.25 us
  assert.ok(perfNowAt(t) >= p0 - 1e-3 && perfNowAt(t) <= p1 + 1e-3, `${perfNowAt(t)} not in [${p0}, ${p1}]`)
})
