/**
 * `--server-cpu F`: the server runs in a cgroup with a CPU quota of F cores that the run creates and
 * removes, on a normal end and on Ctrl-C alike. Skipped where no writable cgroup cpu controller exists.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { createCpuCap, listCpuCapGroups } from '../../lib/cpu-cap.ts'
import { readResults } from '../../lib/results-io.ts'
import { isCompleted } from '../../lib/results-schema.ts'
import { runLoad, startRun, tempDir } from '../helpers/load-cli.ts'
import { withTimeout } from '../helpers/wait.ts'

/** A reason to skip, or undefined when a cap can be made here. */
async function noCgroup(): Promise<string | undefined> {
  try {
    await (await createCpuCap(0.5, 'probe')).remove()
    return undefined
  } catch (err) {
    return `no writable cgroup cpu controller: ${(err as Error).message}`
  }
}

const ours = (): string[] => listCpuCapGroups()

test('a run under --server-cpu records the quota and the server core, and leaves no group', async (t) => {
  const skip = await noCgroup()
  if (skip) return t.skip(skip)
  const before = ours()
  const out = join(tempDir(t), 'capped.json')
  const args = ['--transport', 'websocket', '--clients', '50', '--tick-hz', '20', '--updates-per-tick', '5']
  const ran = await runLoad([
    ...args,
    '--duration-s',
    '2',
    '--warmup-s',
    '0.5',
    '--server-cpu',
    '0.25',
    '--out',
    out,
  ])
  assert.equal(ran.code, 0, ran.stderr)
  const r = readResults(out).scenarios[0]?.results[0]
  assert.ok(r && isCompleted(r))
  assert.equal(r.serverCpu.capCores, 0.25)
  assert.equal(r.updates.delivered, r.updates.expected)
  // the quota is a ceiling the kernel enforces: the server cannot have used more (10 ms accounting slack)
  assert.ok(r.serverCpu.percentOfCore <= 30, `server at ${r.serverCpu.percentOfCore}% under a 25% cap`)
  if (readResults(out).env.pinned) {
    assert.equal(typeof r.serverCpu.softirqPercent, 'number')
    assert.ok((r.serverCpu.corePercentBusy ?? 0) >= (r.serverCpu.softirqPercent ?? 0))
  }
  assert.deepEqual(ours(), before)
})

test('Ctrl-C during a capped run removes the group too', async (t) => {
  const skip = await noCgroup()
  if (skip) return t.skip(skip)
  const before = ours()
  const out = join(tempDir(t), 'capped-interrupted.json')
  const run = startRun(
    ['--transport', 'sse', '--clients', '20', '--duration-s', '30', '--warmup-s', '0.5'].concat([
      '--server-cpu',
      '0.5',
      '--out',
      out,
    ]),
  )
  t.after(() => run.kill())
  await run.waitForStderr(/sse: measure \(30 s\)/, 60_000)
  assert.equal(ours().length, before.length + 1, 'the server runs in a group of its own')
  run.proc.kill('SIGINT')
  const ran = await withTimeout(run.done, 'the capped run to exit after SIGINT', 30_000)
  assert.equal(ran.code, 130, ran.stderr)
  assert.deepEqual(ours(), before)
})
