/**
 * `pushbench bench` (`npm run bench`) on bad input: exit 2 before anything is started or written, the message naming the
 * flag or the config file and field (and what is allowed). Each case runs the CLI as users do.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { type Ran, runCli } from '../report/helpers.ts'

const BENCH = 'bench'

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pb-bench-cli-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Runs bench with `args` and an --out folder inside `dir`; asserts exit 2 and that nothing was written. */
function usageError(dir: string, args: string[]): Ran {
  const out = join(dir, 'out')
  const r = runCli(BENCH, [...args, '--out', out])
  assert.equal(r.status, 2, `exit status for ${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  assert.equal(existsSync(out), false, 'bad input must not create the output folder')
  assert.equal(r.stdout.trim(), '', 'errors go to stderr only')
  return r
}

function writeConfig(dir: string, name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

test('--help exits 0 and lists every flag', () => {
  const r = runCli(BENCH, ['--help'])
  assert.equal(r.status, 0, r.stderr)
  for (const flag of [
    '--profile',
    '--config',
    '--transports',
    '--scenario',
    '--seed',
    '--out',
    '--no-charts',
  ]) {
    assert.match(r.stdout, new RegExp(`^\\s+${flag}\\b`, 'm'), `--help lists ${flag}`)
  }
  // the profiles and exit codes are documented too
  assert.match(r.stdout, /quick/)
  assert.match(r.stdout, /Exit codes: 0 done, 1 .*, 2 bad flag or config/)
})

test('--profile nope: exit 2 naming the flag and the allowed profiles', (t) => {
  const r = usageError(tempDir(t), ['--profile', 'nope'])
  assert.match(r.stderr, /--profile/)
  assert.match(r.stderr, /'nope'/)
  assert.match(r.stderr, /quick, ci, full/)
})

test('--transports sse,bogus: exit 2 naming the flag, the bad value and the transports', (t) => {
  const r = usageError(tempDir(t), ['--transports', 'sse,bogus'])
  assert.match(
    r.stderr,
    /--transports: must be one of short-poll, long-poll, sse, websocket(, [a-z0-9-]+)*, got "bogus"/,
  )
})

test('--seed out of range or not a number: exit 2 naming the flag and its range', (t) => {
  const dir = tempDir(t)
  const negative = usageError(dir, ['--seed', '-1'])
  assert.match(negative.stderr, /--seed: must be an integer from 0 to 4294967295, got -1/)
  const word = usageError(dir, ['--seed', 'abc'])
  assert.match(word.stderr, /--seed/)
  assert.match(word.stderr, /not a number/)
})

test('--scenario that the profile lacks: exit 2 listing the scenarios there are', (t) => {
  const r = usageError(tempDir(t), ['--profile', 'ci', '--scenario', 'nope'])
  assert.match(r.stderr, /--scenario: no scenario "nope" in profile ci; there are: ticker/)
})

test('--config with a value out of range: exit 2 naming the file, the field and the range', (t) => {
  const dir = tempDir(t)
  const file = writeConfig(
    dir,
    'zero-clients.json',
    JSON.stringify({ scenarios: [{ name: 'a', params: { clients: 0 } }] }),
  )
  const r = usageError(dir, ['--config', file])
  assert.ok(r.stderr.includes(file), `names the file: ${r.stderr}`)
  assert.match(
    r.stderr,
    /scenarios\[0\]\.params\.clients: must be an integer from 1 to 100000 clients, got 0/,
  )
})

test('--config with an unknown key: exit 2 naming the file and the key as a likely typo', (t) => {
  const dir = tempDir(t)
  const file = writeConfig(
    dir,
    'typo.json',
    JSON.stringify({ scenarios: [{ name: 'a', params: { clientz: 10 } }] }),
  )
  const r = usageError(dir, ['--config', file])
  assert.match(r.stderr, /--config/)
  assert.ok(r.stderr.includes(file), r.stderr)
  assert.match(r.stderr, /scenarios\.0\.params\.clientz: unknown field/)
})

test('--config with a value of the wrong type: exit 2 naming the file and the field', (t) => {
  const dir = tempDir(t)
  const file = writeConfig(
    dir,
    'type.json',
    JSON.stringify({ scenarios: [{ name: 'a', params: { clients: 'ten' } }] }),
  )
  const r = usageError(dir, ['--config', file])
  assert.ok(r.stderr.includes(file), r.stderr)
  assert.match(r.stderr, /scenarios\.0\.params\.clients: Invalid type/)
  assert.match(r.stderr, /"ten"/)
})

test('--config that does not exist or is not JSON: exit 2 naming the flag and the file', (t) => {
  const dir = tempDir(t)
  const missing = join(dir, 'no-such-config.json')
  const m = usageError(dir, ['--config', missing])
  assert.match(m.stderr, /--config: cannot read/)
  assert.ok(m.stderr.includes(missing), m.stderr)
  assert.match(m.stderr, /ENOENT/)

  const notJson = writeConfig(dir, 'broken.json', '{ "scenarios": [ { "name": "a", } ')
  const j = usageError(dir, ['--config', notJson])
  assert.match(j.stderr, /--config/)
  assert.ok(j.stderr.includes(notJson), j.stderr)
  assert.match(j.stderr, /JSON/)
})
