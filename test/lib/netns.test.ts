/**
 * lib/netns.ts (wire mode): a wire is made and removed without leaving a namespace or a veth behind, also
 * when the process that made it gets SIGINT or SIGTERM or is SIGKILLed (the next wire sweeps it); a child
 * spawned into a namespace (through `ip netns exec` and taskset) keeps its pid and stops on SIGTERM.
 * The tests that make wires need root; they skip without it, except under CI=true, where they fail.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { PbOptionError } from '../../lib/errors.ts'
import {
  checkWireFlags,
  countTimeWait,
  createWire,
  linkDelta,
  namespaces,
  parseLinkStats,
  parseNetDev,
  sweepStaleWires,
  tbfArgs,
  WIRE_CLIENT_ADDR,
  WIRE_SERVER_ADDR,
  wireUnsupported,
} from '../../lib/netns.ts'
import { canPin, spawnNode } from '../../load/children.ts'
import { withTimeout } from '../helpers/wait.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const notRoot = typeof process.getuid === 'function' && process.getuid() !== 0

/** Skips without root, unless under CI (which runs as root and must run these). */
function needRoot(t: TestContext): boolean {
  if (!notRoot) return true
  if (process.env.CI === 'true') assert.fail(`wire mode tests must run under CI: ${wireUnsupported()}`)
  t.skip('wire mode needs root')
  return false
}

function ipLinkNames(): string {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
}

test('tbf: the rate in kbit, a burst of 4 ms of it but at least two full frames, a 50 ms queue', () => {
  assert.deepEqual(tbfArgs('pbs1', 10), [
    'qdisc',
    'replace',
    'dev',
    'pbs1',
    'root',
    'tbf',
    'rate',
    '10000kbit',
    'burst',
    '5000',
    'latency',
    '50ms',
  ])
  assert.equal(tbfArgs('pbs1', 1)[9], '3028')
  assert.equal(tbfArgs('pbs1', 0.1)[7], '100kbit')
})

test('parsers: /proc/net/tcp TIME_WAIT, /proc/net/dev by side, ip -s -j link', () => {
  const tcp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100C90A:A0C5 0200C90A:B7FE 06 00000000:00000000 03:00000F3D 00000000     0        0 0 3',
    '   1: 0100C90A:A0C5 0000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
    '   2: 0100C90A:A0C5 0200C90A:B804 06 00000000:00000000 03:00000F3D 00000000     0        0 0 3',
  ].join('\n')
  assert.equal(countTimeWait(tcp), 2)
  const dev = [
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    '    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0',
    'pbs42:  6600     100    0    0    0     0          0         0    19800     100    0    0    0     0       0          0',
  ].join('\n')
  const server = parseNetDev(dev, 'pbs42', 'server')
  assert.deepEqual(server, {
    clientToServer: 6600,
    serverToClient: 19800,
    packetsClientToServer: 100,
    packetsServerToClient: 100,
  })
  assert.deepEqual(parseNetDev(dev, 'pbs42', 'client')?.clientToServer, 19800)
  assert.equal(parseNetDev(dev, 'pbs4', 'server'), undefined)
  const json = JSON.stringify([
    { ifname: 'pbc42', stats64: { rx: { bytes: 19800, packets: 100 }, tx: { bytes: 6600, packets: 100 } } },
  ])
  assert.deepEqual(parseLinkStats(json), server)
  if (server) assert.deepEqual(linkDelta(server, server).packetsServerToClient, 0)
})

test('flags: --link-mbit needs --wire, in range; --wire refuses browser clients', () => {
  assert.equal(checkWireFlags({}), undefined)
  assert.throws(
    () => checkWireFlags({ linkMbit: 5 }),
    (e: unknown) => e instanceof PbOptionError && e.field === '--link-mbit' && /--wire/.test(e.message),
  )
  assert.throws(
    () => checkWireFlags({ wire: true, linkMbit: 0 }),
    (e: unknown) => e instanceof PbOptionError && e.field === '--link-mbit',
  )
  assert.throws(
    () => checkWireFlags({ wire: true, client: 'browser' }),
    (e: unknown) => e instanceof PbOptionError && e.field === '--wire',
  )
})

test('create then remove: the namespaces, the veth pair and the tbf cap come and go', async (t) => {
  if (!needRoot(t)) return
  assert.equal(wireUnsupported({ linkMbit: 5 }), undefined)
  const w = await createWire({ linkMbit: 5 })
  t.after(() => w.remove())
  assert.equal(w.serverAddr, WIRE_SERVER_ADDR)
  assert.equal(w.clientAddr, WIRE_CLIENT_ADDR)
  for (const name of [w.serverNs, w.clientNs, w.serverDev, w.clientDev]) assert.ok(name.length <= 15, name)
  const listed = await namespaces()
  assert.ok(listed.includes(w.serverNs) && listed.includes(w.clientNs), listed.join(' '))
  assert.deepEqual(w.nsPrefix('client'), ['ip', 'netns', 'exec', w.clientNs])
  // offloads off and the cap on, on both ends
  for (const [ns, dev] of [
    [w.serverNs, w.serverDev],
    [w.clientNs, w.clientDev],
  ] as const) {
    const k = execFileSync('ip', ['netns', 'exec', ns, 'ethtool', '-k', dev], { encoding: 'utf8' })
    for (const f of ['tcp-segmentation-offload', 'generic-segmentation-offload', 'generic-receive-offload'])
      assert.match(k, new RegExp(`^${f}: off`, 'm'), `${dev} ${f}`)
    const q = execFileSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'show', 'dev', dev], {
      encoding: 'utf8',
    })
    assert.match(q, /tbf .*rate 5Mbit/, q)
  }
  // nothing of ours crosses a fresh link: no IPv6 chatter, no ARP (permanent neighbours)
  const c = await w.counters()
  assert.deepEqual(c, {
    clientToServer: 0,
    serverToClient: 0,
    packetsClientToServer: 0,
    packetsServerToClient: 0,
  })
  assert.deepEqual(await w.timeWait(), { server: 0, client: 0 })
  await w.remove()
  assert.equal(w.removed, true)
  const after = await namespaces()
  assert.ok(!after.includes(w.serverNs) && !after.includes(w.clientNs), after.join(' '))
  const links = ipLinkNames()
  assert.ok(!links.includes(w.serverDev) && !links.includes(w.clientDev), links)
  await w.remove() // idempotent
})

test('a child in a namespace: ip netns exec and taskset keep its pid, SIGTERM stops it', async (t) => {
  if (!needRoot(t)) return
  const w = await createWire()
  t.after(() => w.remove())
  const dir = mkdtempSync(join(os.tmpdir(), 'pushbench-netns-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const script = join(dir, 'idle.mts')
  writeFileSync(
    script,
    `process.stdout.write(JSON.stringify({ event: 'ready', pid: process.pid }) + '\\n')\nsetInterval(() => {}, 1000)\n`,
  )
  const child = spawnNode(script, [], { cpu: 0, netns: w.serverNs, label: 'idle' })
  t.after(() => child.stop(500))
  const ready = await withTimeout(
    new Promise<{ pid: number }>((resolve) => {
      let buf = ''
      child.proc.stdout?.on('data', (d: Buffer) => {
        buf += d.toString()
        if (buf.includes('\n')) resolve(JSON.parse(buf.slice(0, buf.indexOf('\n'))))
      })
    }),
    'the child in the namespace to start',
    15_000,
  )
  assert.equal(ready.pid, child.proc.pid)
  const ns = execFileSync('ip', ['netns', 'identify', String(ready.pid)], { encoding: 'utf8' }).trim()
  assert.equal(ns, w.serverNs)
  if (canPin()) {
    const status = readFileSync(`/proc/${ready.pid}/status`, 'utf8')
    assert.match(status, /^Cpus_allowed_list:\s+0$/m, 'pinned to core 0 through ip netns exec')
  }
  await withTimeout(child.stop(2000), 'the child to stop', 5000)
  const { signal } = await child.exited
  assert.equal(signal, 'SIGTERM')
})

/** A process that makes a wire, prints its names, then waits (with `handler`, its own SIGINT listener). */
function startHolder(t: TestContext, handler = ''): { proc: ChildProcess; info: Promise<{ ns: string[] }> } {
  const dir = mkdtempSync(join(os.tmpdir(), 'pushbench-netns-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'holder.mts')
  const lib = pathToFileURL(join(ROOT, 'lib/netns.ts')).href
  writeFileSync(
    file,
    `import { createWire } from '${lib}'
const w = await createWire()
${handler}
process.stdout.write(JSON.stringify({ ns: [w.serverNs, w.clientNs] }) + '\\n')
setInterval(() => {}, 1000)
`,
  )
  const proc = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const info = new Promise<{ ns: string[] }>((resolve, reject) => {
    let out = ''
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)))
    })
    proc.once('exit', (code) => reject(new Error(`holder exited ${code} before its wire was up: ${stderr}`)))
  })
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  })
  return { proc, info }
}

const exitOf = (proc: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null)
      resolve({ code: proc.exitCode, signal: proc.signalCode })
    else proc.once('exit', (code, signal) => resolve({ code, signal }))
  })

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} to a process that made a wire: it dies of the signal and no namespace remains`, async (t) => {
    if (!needRoot(t)) return
    const { proc, info } = startHolder(t)
    const { ns } = await withTimeout(info, 'the holder to make its wire', 15_000)
    assert.ok((await namespaces()).includes(ns[0] ?? ''))
    proc.kill(signal)
    const ended = await withTimeout(exitOf(proc), 'the holder to exit', 10_000)
    assert.equal(ended.signal, signal)
    const left = (await namespaces()).filter((n) => ns.includes(n))
    assert.deepEqual(left, [])
  })
}

test("SIGINT to a process with its own handler that exits: the 'exit' hook removes the wire", async (t) => {
  if (!needRoot(t)) return
  const { proc, info } = startHolder(t, "process.on('SIGINT', () => setTimeout(() => process.exit(130), 50))")
  const { ns } = await withTimeout(info, 'the holder to make its wire', 15_000)
  proc.kill('SIGINT')
  const ended = await withTimeout(exitOf(proc), 'the holder to exit', 10_000)
  assert.equal(ended.code, 130)
  assert.deepEqual(
    (await namespaces()).filter((n) => ns.includes(n)),
    [],
  )
})

test('a SIGKILLed owner leaves its namespaces; the next wire sweeps them', async (t) => {
  if (!needRoot(t)) return
  const { proc, info } = startHolder(t)
  const { ns } = await withTimeout(info, 'the holder to make its wire', 15_000)
  t.after(() => sweepStaleWires())
  proc.kill('SIGKILL')
  await exitOf(proc)
  assert.deepEqual((await namespaces()).filter((n) => ns.includes(n)).sort(), [...ns].sort())
  const w = await createWire()
  await w.remove()
  assert.deepEqual(
    (await namespaces()).filter((n) => ns.includes(n)),
    [],
  )
})
