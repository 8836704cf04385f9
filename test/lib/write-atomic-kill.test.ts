/**
 * lib/write-atomic.ts under SIGKILL: a writer killed at random instants never leaves a half-written
 * destination (it is absent, or a whole file), and the temp files it leaves are swept by the next write.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { writeAtomic } from '../../lib/write-atomic.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const PAD = 4 * 1024 * 1024
/** writes a 4 MiB JSON file again and again, each one numbered and ending in a marker */
const WRITER = `
import { writeAtomic } from './lib/write-atomic.ts'
const path = process.argv[1]
const pad = 'x'.repeat(${PAD})
process.stdout.write('up\\n')
for (let n = 0; ; n++) await writeAtomic(path, JSON.stringify({ n, pad, end: true }))
`

const KILLS = 15

test('a writer SIGKILLed mid-write leaves the destination absent or whole; the next write sweeps its temp files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pushbench-atomic-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const dest = join(dir, 'r.json')
  let whole = 0
  let leftTemp = 0
  for (let i = 0; i < KILLS; i++) {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', WRITER, dest], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const gone = new Promise((r) => child.once('exit', r))
    await new Promise((r) => child.stdout.once('data', r))
    // somewhere in a write, a rename or between them
    await sleep(Math.random() * 150)
    child.kill('SIGKILL')
    await gone
    let text: string | undefined
    try {
      text = readFileSync(dest, 'utf8')
    } catch {}
    if (text !== undefined) {
      const f = JSON.parse(text) as { n: number; pad: string; end: boolean }
      assert.equal(f.end, true)
      assert.equal(f.pad.length, PAD)
      whole++
    }
    leftTemp += readdirSync(dir).filter((n) => n.endsWith('.tmp')).length > 0 ? 1 : 0
  }
  // (how many kills left a temp file is chance; every one is swept below)
  t.diagnostic(`${whole} of ${KILLS} kills found a whole file, ${leftTemp} left temp files`)
  await writeAtomic(dest, '{"after":true}')
  assert.deepEqual(readdirSync(dir), ['r.json'])
  assert.equal(readFileSync(dest, 'utf8'), '{"after":true}')
})

test('a temp file of a writer still running is not swept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pushbench-atomic-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const dest = join(dir, 'r.json')
  // this process's parent is alive: its temp file may be mid-write
  const theirs = `r.json.${process.ppid}.0123abcd.tmp`
  const dead = 'r.json.999999999.89abcdef.tmp'
  for (const n of [theirs, dead])
    await import('node:fs/promises').then((fs) => fs.writeFile(join(dir, n), ''))
  await writeAtomic(dest, '{}')
  assert.deepEqual(readdirSync(dir).sort(), ['r.json', theirs])
})
