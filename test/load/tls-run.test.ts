/**
 * `pushbench run --tls` end to end, at small scale: each transport over https/wss, with library clients and
 * with lean ones (load/lean/connect.ts: TLS over a TCP socket of their own), delivers every update it published (as a plain run does), the result says `tls: true`, and the run's
 * certificate folder is gone once the run exits, normally or after Ctrl-C. Each run gets a TMPDIR of its
 * own, so the folder it made (and removed) is told apart from any other run's.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { readResults } from '../../lib/results-io.ts'
import { isCompleted } from '../../lib/results-schema.ts'
import type { BuiltinTransport, Http2Transport } from '../../lib/transports.ts'
import { ROOT, runLoad, startRun, tempDir } from '../helpers/load-cli.ts'
import { withTimeout } from '../helpers/wait.ts'

const TRANSPORTS: readonly BuiltinTransport[] = ['short-poll', 'long-poll', 'sse', 'websocket']
/** the HTTP/2 rows: h2 by ALPN under --tls */
const H2_ROWS: readonly Http2Transport[] = ['short-poll-h2', 'long-poll-h2', 'sse-h2']
const CLIENTS_PER_RUN = 3
const SCALE = ['--clients', String(CLIENTS_PER_RUN), '--duration-s', '1.5', '--warmup-s', '0.5']

const certDirs = (tmp: string): string[] => readdirSync(tmp).filter((n) => n.startsWith('pushbench-tls-'))

interface Ran {
  tmp: string
  out: string
  ran: Awaited<ReturnType<typeof runLoad>>
}
const CLIENTS = ['library', 'lean'] as const
type Kind = (typeof CLIENTS)[number]
const runs = new Map<string, Promise<Ran>>()
let dir = ''
// the HTTP/2 rows with the default (lean) kind only: their library clients over h2 with TLS are
// test/servers/h2.test.ts's, and every run here is one more process on a shared machine
const transportsOf = (client: Kind): readonly string[] =>
  client === 'lean' ? [...TRANSPORTS, ...H2_ROWS] : TRANSPORTS

/** At most this many runs at once: eleven server and generator pairs started together on 2 cores missed
 * the 20 s server-ready bound in CI; three at a time load the machine little. */
const AT_ONCE = 3
let active = 0
const waiting: (() => void)[] = []
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (active >= AT_ONCE) await new Promise<void>((r) => waiting.push(r))
  active++
  try {
    return await fn()
  } finally {
    active--
    waiting.shift()?.()
  }
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pushbench-tls-run-'))
  // three at a time: 3 clients each load the machine little
  for (const client of CLIENTS)
    for (const transport of transportsOf(client)) {
      const tmp = join(dir, `tmp-${transport}-${client}`)
      mkdirSync(tmp)
      const out = join(dir, `${transport}-${client}.json`)
      const args = ['--transport', transport, '--tls', '--client', client, ...SCALE, '--out', out, '--quiet']
      const p = limited(() => runLoad(args, 90_000, { TMPDIR: tmp })).then((ran) => ({ tmp, out, ran }))
      p.catch(() => {})
      runs.set(`${transport} ${client}`, p)
    }
})

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

for (const client of CLIENTS as readonly Kind[])
  for (const transport of transportsOf(client)) {
    test(`run --tls --transport ${transport}: every update delivered over TLS with ${client} clients; tls: true; no certificate left behind`, async (t) => {
      const run = runs.get(`${transport} ${client}`)
      assert.ok(run)
      const { tmp, out, ran } = await run
      assert.equal(ran.code, 0, `${transport}: exit ${ran.code ?? ran.signal}; stderr: ${ran.stderr}`)
      assert.deepEqual(certDirs(tmp), [], `${transport}: the certificate folder was removed`)
      const s = readResults(out).scenarios[0] // validates against lib/results-schema.ts
      assert.match(s?.name ?? '', / over TLS$/)
      const r = s?.results[0]
      assert.ok(r && isCompleted(r), `${transport}: ${JSON.stringify(r)}`)
      assert.equal(r.tls, true, transport)
      assert.equal(r.client, client, transport)
      const u = r.updates
      assert.ok(u.delivered > 0, `${transport}: delivered ${u.delivered}`)
      assert.equal(u.missed, 0, transport)
      assert.equal(u.delivered, u.expected, transport)
      assert.equal(u.duplicates + u.outOfOrder, 0, transport)
      assert.equal(r.errors, 0, `${transport}: ${r.warnings}`)
      // the bytes are the TLS records on the wire: more than the plaintext's least (the model)
      assert.ok(
        r.bytes.perDeliveredUpdate > r.bytes.modelPerUpdate,
        `${transport}: ${r.bytes.perDeliveredUpdate} B/update over TLS vs the plain model's ${r.bytes.modelPerUpdate}`,
      )
      // the generator's own tally counts the TCP sockets under TLS: the records, as the server's counters do
      // (it takes its window edges itself, so a tick's records, one per client, may land on the other side
      // of each edge: on this small run one tick is about 6% of the window's bytes)
      const tally = r.bytes.clientTally
      assert.ok(tally, transport)
      const tickAtEachEdge = 2 * CLIENTS_PER_RUN * r.bytes.perDeliveredUpdate
      const near = (a: number, b: number) => Math.abs(a - b) <= Math.max(200, 0.1 * b, tickAtEachEdge)
      assert.ok(
        near(tally.read, r.bytes.serverToClient),
        `${transport} ${client}: tally read ${tally.read}, server wrote ${r.bytes.serverToClient}`,
      )
      t.diagnostic(`${r.bytes.perDeliveredUpdate} B/update over TLS (plain model ${r.bytes.modelPerUpdate})`)
    })
  }

test('run --tls, Ctrl-C in the window: exit 130 and the certificate folder is gone', async (t) => {
  const dir = tempDir(t)
  const tmp = join(dir, 'tmp')
  mkdirSync(tmp)
  const out = join(dir, 'interrupted.json')
  const run = startRun(
    [
      '--transport',
      'sse',
      '--tls',
      '--client',
      'library',
      '--clients',
      '2',
      '--duration-s',
      '30',
      '--warmup-s',
      '0.3',
      '--out',
      out,
    ],
    { TMPDIR: tmp },
  )
  t.after(() => run.kill())
  await run.waitForStderr(/sse: measure \(30 s\)/, 60_000)
  assert.equal(certDirs(tmp).length, 1, 'the run made its certificate folder in TMPDIR')
  await sleep(200)
  run.proc.kill('SIGINT')
  const ran = await withTimeout(run.done, 'pushbench run to exit after SIGINT', 30_000)
  assert.equal(ran.code, 130, `exit ${ran.code ?? ran.signal}; stderr: ${ran.stderr}`)
  assert.deepEqual(certDirs(tmp), [], 'the certificate folder was removed')
})

test('--tls is refused with browser clients (exit 2 naming --tls); serve refuses a key without its certificate', async () => {
  const run = await runLoad([
    '--transport',
    'sse',
    '--tls',
    '--client',
    'browser',
    '--clients',
    '2',
    '--quiet',
  ])
  assert.equal(run.code, 2, run.stderr)
  assert.match(run.stderr, /--tls: not with --client browser/)
  const serve = spawnSync(
    process.execPath,
    ['bin/pushbench.js', 'serve', '--transport', 'sse', '--tls-key', 'package.json'],
    { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
  )
  assert.equal(serve.status, 2, serve.stderr)
  assert.match(serve.stderr, /--tls-cert: is needed with --tls-key/)
})
