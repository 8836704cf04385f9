/** `pushbench pages`: serves the four live pages side by side; `--screenshot` writes their picture and exits. */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { skipWithoutChromium } from '../helpers/chromium.ts'
import { ROOT, tempDir } from '../helpers/load-cli.ts'

const pages = (args: string[], timeout = 60_000) =>
  spawnSync(process.execPath, ['bin/pushbench.js', 'pages', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout,
  })

test('pages --screenshot: the four live pages in headless Chromium, a PNG written, then exit 0', (t) => {
  if (skipWithoutChromium(t)) return
  const out = join(tempDir(t), 'pages.png')
  const r = pages(['--screenshot', out, '--screenshot-after-s', '2', '--tick-hz', '20'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, `${out}\n`)
  const png = readFileSync(out)
  assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')])
  // IHDR: width and height, big-endian, at bytes 16 and 20
  assert.equal(png.readUInt32BE(16), 1280)
  assert.ok(png.readUInt32BE(20) >= 600)
})

test('pages: a bad flag exits 2 naming it', () => {
  for (const [flag, value] of [
    ['--tick-hz', '0'],
    ['--poll-interval-ms', 'x'],
    ['--screenshot-after-s', '0'],
  ] as const) {
    const r = pages([flag, value], 20_000)
    assert.equal(r.status, 2, `${flag} ${value}: ${r.stderr}`)
    assert.match(r.stderr, new RegExp(flag))
  }
})
