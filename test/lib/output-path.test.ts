/**
 * lib/output-path.ts and the atomic writer: an output path that cannot be written is refused at once,
 * naming the flag and why, by stat and access alone (never a mkdir, which hangs under /proc); a missing
 * folder on a normal filesystem is fine (the writer makes it); a symbolic link is written through.
 */
import assert from 'node:assert/strict'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { PbError, PbOptionError } from '../../lib/errors.ts'
import { checkOutputDir, checkOutputFile, writeTarget } from '../../lib/output-path.ts'
import { writeResults } from '../../lib/results-io.ts'
import type { ResultsFile } from '../../lib/results-schema.ts'
import { writeAtomic } from '../../lib/write-atomic.ts'
import { fixture } from '../report/helpers.ts'

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pb-output-path-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function refused(fn: () => unknown, field: string, why: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PbOptionError, String(err))
    assert.equal(err.field, field)
    assert.match(err.message, why)
    return true
  })
}

test('a file path: fine where it is or can be made, and nothing is made by the check', (t) => {
  const dir = tempDir(t)
  const deep = join(dir, 'a', 'b', 'r.json')
  assert.equal(checkOutputFile('--out', deep), deep)
  assert.equal(existsSync(join(dir, 'a')), false, 'the check creates nothing')
  writeFileSync(join(dir, 'there.json'), '{}')
  assert.equal(checkOutputFile('--out', join(dir, 'there.json')), join(dir, 'there.json'))
  assert.equal(checkOutputFile('--out', 'relative/r.json'), 'relative/r.json')
})

test('a file path: a folder, under a file, a device, a pseudo-filesystem, a link loop, empty: refused naming the flag and why', (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'file.txt')
  writeFileSync(file, 'x')
  symlinkSync(join(dir, 'loop-b'), join(dir, 'loop-a'))
  symlinkSync(join(dir, 'loop-a'), join(dir, 'loop-b'))
  refused(() => checkOutputFile('--out', dir), '--out', /it is a folder; name a file in it/)
  refused(() => checkOutputFile('--out', `${dir}/`), '--out', /ends in a slash/)
  refused(
    () => checkOutputFile('--out', join(file, 'r.json')),
    '--out',
    /file\.txt is not a folder but a file/,
  )
  refused(
    () => checkOutputFile('--out', join(file, 'x', 'r.json')),
    '--out',
    /is not a folder but a file, so no folder can be made under it/,
  )
  refused(() => checkOutputFile('--out', '/dev/null'), '--out', /a character device, not a regular file/)
  refused(() => checkOutputFile('--html', '/proc/x/r.html'), '--html', /under \/proc, a pseudo-filesystem/)
  refused(() => checkOutputFile('--out', '/proc/self/r.json'), '--out', /pseudo-filesystem/)
  refused(() => checkOutputFile('--out', '/sys/r.json'), '--out', /under \/sys/)
  refused(() => checkOutputFile('--out', join(dir, 'loop-a')), '--out', /too many symbolic links/)
  refused(() => checkOutputFile('--out', ''), '--out', /empty path/)
})

test('a folder path: there or creatable; a file, under a file, a pseudo-filesystem: refused', (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'file.txt')
  writeFileSync(file, 'x')
  assert.equal(checkOutputDir('--out', dir), dir)
  assert.equal(checkOutputDir('--out', join(dir, 'new', 'deeper')), join(dir, 'new', 'deeper'))
  assert.equal(existsSync(join(dir, 'new')), false)
  refused(() => checkOutputDir('--out', file), '--out', /is not a folder but a file/)
  refused(() => checkOutputDir('--out', join(file, 'sub')), '--out', /no folder can be made under it/)
  refused(() => checkOutputDir('--out', '/proc/x'), '--out', /pseudo-filesystem/)
  refused(() => checkOutputDir('--out', '/dev'), '--out', /under \/dev/)
  refused(() => checkOutputDir('--out', ''), '--out', /empty path/)
  // /dev/shm is a plain tmpfs, fine when it is there
  if (existsSync('/dev/shm')) assert.equal(checkOutputDir('--out', '/dev/shm/pb-x'), '/dev/shm/pb-x')
})

test('a symbolic link is written through: the target replaced atomically, the link kept', async (t) => {
  const dir = tempDir(t)
  const target = join(dir, 'target.json')
  const link = join(dir, 'latest.json')
  writeFileSync(target, 'old\n')
  symlinkSync('target.json', link)
  assert.equal(writeTarget(link), target)
  await writeAtomic(link, 'new\n')
  assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link')
  assert.equal(readlinkSync(link), 'target.json')
  assert.equal(readFileSync(target, 'utf8'), 'new\n')
  // a dangling link: its target is made
  const dangling = join(dir, 'dangling.json')
  symlinkSync(join(dir, 'made', 'by-write.json'), dangling)
  mkdirSync(join(dir, 'made'))
  checkOutputFile('--out', dangling)
  await writeAtomic(dangling, 'x\n')
  assert.ok(lstatSync(dangling).isSymbolicLink())
  assert.equal(readFileSync(join(dir, 'made', 'by-write.json'), 'utf8'), 'x\n')
})

test('a write that fails after the check (a folder gone read-only, a file in the way) is a PbError, not a stack trace', async (t) => {
  const dir = tempDir(t)
  const file = JSON.parse(readFileSync(fixture('results-quick.json'), 'utf8')) as ResultsFile
  writeFileSync(join(dir, 'blocker'), 'x')
  await assert.rejects(writeResults(join(dir, 'blocker', 'r.json'), file), (err: unknown) => {
    assert.ok(err instanceof PbError)
    assert.equal(err.code, 'PB_ERR_RESULTS_WRITE')
    assert.match(err.message, /cannot write .*blocker\/r\.json/)
    return true
  })
  // the writer makes missing folders itself, one level at a time
  await writeResults(join(dir, 'x', 'y', 'r.json'), file)
  assert.ok(existsSync(join(dir, 'x', 'y', 'r.json')))
})
