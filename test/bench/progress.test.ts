/**
 * Progress (scripts/bench/progress.ts): a bar on a terminal, but plain lines (no escape codes, no
 * carriage returns) under CI=true even when stderr is a TTY, and whenever stderr is not a TTY.
 */
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { createProgress } from '../../bench/progress.ts'

// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for escape codes is the point
const CONTROL = /[\x1b\r]/

/** A stream that records what is written; `isTTY` as asked. */
function fakeStream(isTTY: boolean): { stream: typeof process.stderr; text: () => string } {
  const chunks: string[] = []
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(String(chunk))
      cb()
    },
  })
  Object.assign(w, { isTTY, columns: 120, rows: 40 })
  return { stream: w as unknown as typeof process.stderr, text: () => chunks.join('') }
}

/** Sets CI for the duration of `fn` and puts it back. */
function withCI<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env.CI
  if (value === undefined) delete process.env.CI
  else process.env.CI = value
  try {
    return fn()
  } finally {
    if (saved === undefined) delete process.env.CI
    else process.env.CI = saved
  }
}

/** What a two-task run reports. */
function drive(stream: typeof process.stderr): void {
  const p = createProgress(2, 20, stream)
  p.task('tiny · sse', 10)
  p.phase('server')
  p.phase('connect', '3/10 clients') // per-batch connect detail is bar-only
  p.phase('connect', '10 clients')
  p.phase('measure', '1 s')
  p.log('tiny · sse: warning: something to keep')
  p.task('tiny · websocket', 10)
  p.phase('measure', '1 s')
  p.stop()
}

test('CI=true on a TTY: one plain line per phase, no escape codes or carriage returns', () => {
  const { stream, text } = fakeStream(true)
  withCI('true', () => drive(stream))
  const out = text()
  assert.doesNotMatch(out, CONTROL)
  const lines = out.trimEnd().split('\n')
  assert.equal(lines.length, 5, out)
  assert.match(lines[0] ?? '', /^\[1\/2\] tiny · sse · server · ~\d+s left$/)
  assert.match(lines[1] ?? '', /^\[1\/2\] tiny · sse · connect 10 clients · ~\d+s left$/)
  assert.match(lines[2] ?? '', /^\[1\/2\] tiny · sse · measure 1 s · ~\d+s left$/)
  assert.equal(lines[3], 'tiny · sse: warning: something to keep')
  assert.match(lines[4] ?? '', /^\[2\/2\] tiny · websocket · measure 1 s · ~\d+s left$/)
  assert.ok(!out.includes('3/10'), 'per-batch connect progress is not printed as lines')
})

test('not a TTY (a pipe, a log file): plain lines even without CI', () => {
  const { stream, text } = fakeStream(false)
  withCI(undefined, () => drive(stream))
  assert.doesNotMatch(text(), CONTROL)
  assert.equal(text().trimEnd().split('\n').length, 5)
})

test('a TTY without CI draws the bar (so the CI case above is not vacuous)', () => {
  const { stream, text } = fakeStream(true)
  withCI(undefined, () => drive(stream))
  assert.match(text(), CONTROL)
  assert.ok(text().includes('tiny · sse: warning: something to keep'), 'logged lines stay above the bar')
})
