/**
 * Wire mode end to end (`pushbench run --wire`): server and generator in two namespaces joined by a veth;
 * the result's link bytes are the application bytes plus 66 B of headers per packet (offloads off), the
 * namespaces are gone after the run and after Ctrl-C, and `--link-mbit` without `--wire` is a usage error.
 * The runs need root; they skip without it, except under CI=true, where they fail.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { namespaces, wireUnsupported } from '../../lib/netns.ts'
import type { CompletedResult, ResultsFile } from '../../lib/results-schema.ts'
import { runLoad, startRun, tempDir } from '../helpers/load-cli.ts'
import { withTimeout } from '../helpers/wait.ts'

const notRoot = typeof process.getuid === 'function' && process.getuid() !== 0

function needRoot(t: TestContext): boolean {
  if (!notRoot) return true
  if (process.env.CI === 'true') assert.fail(`wire mode tests must run under CI: ${wireUnsupported()}`)
  t.skip('wire mode needs root')
  return false
}

/** Ethernet 14 + IPv4 20 + TCP 20 with the timestamp option 12 (DESIGN.md, "Wire mode") */
const HEADERS_PER_PACKET = 66

/**
 * How far link bytes may be from application bytes + 66 B a packet, as a share of the link bytes. The
 * server takes both counters in one instant on the tick boundary, so over the same window they differ
 * only by bytes queued between a socket and the veth at an edge (a send queue not yet sent, a receive
 * queue not yet read) and by TCP options beyond the timestamps (SACK blocks, which need loss: none on an
 * uncapped veth). Measured here: 0 B each way. 1% leaves room for one such packet on a 100-packet window.
 */
const TOLERANCE = 0.01

const ownNamespaces = async (pid: number | undefined) =>
  (await namespaces()).filter((n) => n.startsWith(`pb-${pid}-`))

test('--link-mbit without --wire: exit 2 naming --link-mbit', async () => {
  const r = await runLoad(['--transport', 'websocket', '--link-mbit', '5'], 20_000)
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, /--link-mbit/)
  assert.match(r.stderr, /--wire/)
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
})

test('websocket over the wire: link bytes = application bytes + 66 B per packet, TIME_WAIT read, nothing left', async (t) => {
  if (!needRoot(t)) return
  const out = join(tempDir(t), 'wire.json')
  const run = startRun([
    '--transport',
    'websocket',
    '--wire',
    '--clients',
    '5',
    '--duration-s',
    '2',
    '--warmup-s',
    '1',
    '--out',
    out,
  ])
  t.after(() => run.kill())
  const r = await withTimeout(run.done, 'the wire run to exit', 60_000)
  assert.equal(r.code, 0, r.stderr)
  const file = JSON.parse(readFileSync(out, 'utf8')) as ResultsFile
  const result = file.scenarios[0]?.results[0] as CompletedResult
  assert.equal(result.state, 'completed', JSON.stringify(result))
  assert.deepEqual(result.wire, {})
  const { bytes } = result
  const link = bytes.link
  assert.ok(link, 'bytes.link')
  // one frame per tick per socket, each in its own segment: at least one packet per delivered update
  assert.ok(link.packetsServerToClient >= result.updates.delivered, JSON.stringify(link))
  assert.ok(link.packetsClientToServer > 0, 'the clients ACK what they receive')
  for (const [dir, app, linkBytes, packets] of [
    ['client to server', bytes.clientToServer, link.clientToServer, link.packetsClientToServer],
    ['server to client', bytes.serverToClient, link.serverToClient, link.packetsServerToClient],
  ] as const) {
    const off = linkBytes - (app + HEADERS_PER_PACKET * packets)
    assert.ok(
      Math.abs(off) <= TOLERANCE * linkBytes,
      `${dir}: link ${linkBytes} B in ${packets} packets, application ${app} B: ${off} B off`,
    )
  }
  const tw = result.connections?.timeWait
  assert.ok(tw && Number.isInteger(tw.server) && Number.isInteger(tw.client), JSON.stringify(tw))
  // whichever side closed first holds the TIME_WAIT: every one of the 5 connections left one somewhere
  assert.ok(tw.server + tw.client >= 5, JSON.stringify(tw))
  assert.match(r.stderr, /link \d+ B in \d+ packets client to server/)
  assert.deepEqual(await ownNamespaces(run.proc.pid), [])
})

test('Ctrl-C during a wire run: exit 130, partial result, no namespace left', async (t) => {
  if (!needRoot(t)) return
  const out = join(tempDir(t), 'wire-int.json')
  const run = startRun([
    '--transport',
    'sse',
    '--wire',
    '--clients',
    '3',
    '--duration-s',
    '30',
    '--warmup-s',
    '1',
    '--out',
    out,
  ])
  t.after(() => run.kill())
  await run.waitForStderr(/sse: measure/, 30_000)
  assert.ok((await ownNamespaces(run.proc.pid)).length === 2, 'the run made its two namespaces')
  run.proc.kill('SIGINT')
  const r = await withTimeout(run.done, 'the run to exit after SIGINT', 30_000)
  assert.equal(r.code, 130, r.stderr)
  const file = JSON.parse(readFileSync(out, 'utf8')) as ResultsFile
  assert.equal(file.scenarios[0]?.results[0]?.state, 'partial')
  assert.deepEqual(await ownNamespaces(run.proc.pid), [])
})
