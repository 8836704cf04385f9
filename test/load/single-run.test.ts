/**
 * The single-run command end to end, at small scale: every transport (and the baseline server) through
 * `node bin/pushbench.js run ... --out FILE --quiet`, the file read back through the validating reader.
 * The runs go in parallel (20 clients each load the machine little); only correctness is asserted.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { DEFAULT_PARAMS } from '../../lib/params.ts'
import { readResults } from '../../lib/results-io.ts'
import { type CompletedResult, isCompleted, type ResultsFile } from '../../lib/results-schema.ts'
import { type Transport, transportNames } from '../../lib/transports.ts'
import { DATE_LITERAL_EXTRA, FRAME_HEADER } from '../../load/model/h2.ts'
import { socketIoHeartbeatBytes } from '../../load/model/socketio.ts'
import { chunkOverhead, SSE_HEARTBEAT, wsFrameHeaderLength } from '../../servers/frames.ts'
import { SERVER_DEFAULTS } from '../../servers/options.ts'
import { type Ran, runLoad } from '../helpers/load-cli.ts'

const SCALE = { clients: 20, durationS: 2, warmupS: 0.5 }
const PUSH: readonly Transport[] = [
  'long-poll',
  'sse',
  'websocket',
  'socketio-ws',
  'socketio-poll',
  'long-poll-h2',
  'sse-h2',
]
/** rows whose measured bytes are the model's but for their keep-alive (heartbeats, pings) */
const EXACT = ['sse', 'websocket', 'socketio-ws', 'socketio-poll', 'sse-h2'] as const
type Exact = (typeof EXACT)[number]

interface Run {
  out: string
  ran: Ran
}

type Kind = Transport | 'baseline-websocket'
const runs = new Map<Kind, Promise<Run>>()
let dir = ''

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pushbench-single-run-'))
  const start = (kind: Kind, transport: Transport, extra: string[] = []): void => {
    const out = join(dir, `${kind}.json`)
    const args = [
      ...['--transport', transport, '--clients', String(SCALE.clients)],
      ...['--duration-s', String(SCALE.durationS), '--warmup-s', String(SCALE.warmupS)],
      ...['--out', out, '--quiet', ...extra],
    ]
    const p = runLoad(args, 90_000).then((ran) => ({ out, ran }))
    p.catch(() => {})
    runs.set(kind, p)
  }
  for (const t of transportNames()) start(t, t)
  start('baseline-websocket', 'websocket', ['--server', 'baseline'])
})

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** Exit 0, the path on stdout, nothing on stderr but warnings, and a file the schema accepts. */
async function finished(kind: Kind): Promise<{ file: ResultsFile; r: CompletedResult }> {
  const run = runs.get(kind)
  assert.ok(run, kind)
  const { out, ran } = await run
  assert.equal(ran.code, 0, `${kind}: exit ${ran.code ?? ran.signal}; stderr: ${ran.stderr}`)
  assert.equal(ran.stdout, `${out}\n`)
  for (const line of ran.stderr.split('\n').filter(Boolean)) {
    // --quiet leaves only warnings; a disturbed host is the one a shared test machine may earn
    assert.match(line, /^warning: other processes used \d+% of a core/, `${kind}: stderr ${ran.stderr}`)
  }
  const file = readResults(out) // validates against lib/results-schema.ts
  assert.equal(file.schemaVersion, 1)
  assert.equal(file.profile, 'single')
  assert.equal(file.partial, undefined)
  assert.equal(file.scenarios.length, 1)
  const s = file.scenarios[0]
  assert.ok(s)
  // a ticker's results carry no chat params (rooms, sendHz): they read as before the chat existed
  const { rooms: _rooms, sendHz: _sendHz, ...tickerDefaults } = DEFAULT_PARAMS
  assert.deepEqual(s.params, { ...tickerDefaults, ...SCALE })
  assert.equal(s.results.length, 1)
  const r = s.results[0]
  assert.ok(r && isCompleted(r), `${kind}: ${JSON.stringify(r)}`)
  return { file, r }
}

/** What every completed run must satisfy, whatever the transport. */
function checkInvariants(kind: Kind, r: CompletedResult): void {
  const u = r.updates
  assert.equal(r.state, 'completed')
  assert.equal(r.errors, 0, `${kind}: ${r.warnings}`)
  assert.ok(u.published > 0, `${kind}: nothing published in the window`)
  assert.equal(u.expected, u.published * SCALE.clients, `${kind}: every client connected`)
  assert.equal(u.delivered + u.missed, u.expected, `${kind}: delivered + missed == expected`)
  // one connection per client, seqs followed in order: nothing seen twice or late, on any transport
  assert.equal(u.duplicates, 0, kind)
  assert.equal(u.outOfOrder, 0, kind)
  // the host probe ran before the run (load/host-probe.ts): a positive time per op
  assert.ok((r.hostProbeNsPerOp ?? 0) > 0, `${kind}: host probe ${r.hostProbeNsPerOp}`)
  // one latency sample per delivered update, and a histogram that is ordered
  const l = r.latencyMs
  assert.equal(l.count, u.delivered, `${kind}: latency count == delivered`)
  assert.ok(l.min !== undefined && l.min > 0, `${kind}: min latency ${l.min}`)
  // percentiles come from buckets but are never reported above the largest sample (lib/latency.ts)
  const order = [l.min, l.p50, l.p90, l.p99, l.p999, l.max]
  for (let i = 1; i < order.length; i++) {
    assert.ok((order[i - 1] as number) <= (order[i] as number), `${kind}: latency ${JSON.stringify(l)}`)
  }
  // the per-update figure is the two directions over delivered, as docs/metrics.md defines it
  const b = r.bytes
  assert.ok(b.serverToClient > 0)
  assert.equal(
    b.perDeliveredUpdate,
    Math.round(((b.clientToServer + b.serverToClient) / u.delivered) * 100) / 100,
  )
  assert.ok(b.clientTally, `${kind}: the generator's own tally is reported`)
  assert.equal(r.connections?.slowConsumerDisconnects, 0)
  assert.equal(r.connections?.reconnects, 0)
}

/**
 * docs/metrics.md: measured = model for WebSocket and SSE, but for what the model leaves out: SSE heartbeats
 * (a 3-byte comment in its own chunk, every 15 s) and WebSocket ping/pong (a 2-byte ping and a 6-byte masked
 * pong, every 30 s). The timers run from server start, so at most ceil(window / period) of them per client
 * fall in the window; a run this short usually has none, and then the two agree to the byte.
 */
function checkModel(kind: Kind, r: CompletedResult, transport: Exact): number {
  const b = r.bytes
  const delivered = r.updates.delivered
  const sio = (row: 'ws' | 'poll'): number => {
    // the poll row's heads carry the path and the port: the longest port is the bound
    const h = socketIoHeartbeatBytes(row, `/socket.io-${row}/`, '127.0.0.1', 65535)
    return h.clientToServer + h.serverToClient
  }
  const [periodMs, bytesEach] =
    transport === 'sse'
      ? [SERVER_DEFAULTS.heartbeatMs, SSE_HEARTBEAT.length + chunkOverhead(SSE_HEARTBEAT.length)]
      : transport === 'sse-h2'
        ? // over HTTP/2 a heartbeat is a DATA frame (9 bytes of header)
          [SERVER_DEFAULTS.heartbeatMs, SSE_HEARTBEAT.length + FRAME_HEADER]
        : transport === 'websocket'
          ? [SERVER_DEFAULTS.pingIntervalMs, 2 + 6]
          : [SERVER_DEFAULTS.pingIntervalMs, sio(transport === 'socketio-ws' ? 'ws' : 'poll')]
  const overhead = SCALE.clients * bytesEach * Math.ceil((SCALE.durationS * 1000) / periodMs)
  // modelPerUpdate is rounded to 0.01 B: that much per update either way is rounding, not bytes
  const rounding = 0.005 * delivered + 1e-6
  const residual = b.clientToServer + b.serverToClient - b.modelPerUpdate * delivered
  assert.ok(
    residual >= -rounding && residual <= overhead + rounding,
    `${kind}: measured ${b.perDeliveredUpdate} B/update vs model ${b.modelPerUpdate}: ${residual} B unexplained ` +
      `(allowed 0..${overhead} B of ${transport === 'websocket' ? 'ping/pong' : 'heartbeats'})`,
  )
  return residual
}

for (const transport of transportNames()) {
  test(`${transport}: a valid results file, delivered + missed == expected, latency count == delivered`, async (t) => {
    const { r } = await finished(transport)
    assert.equal(r.transport, transport)
    assert.equal(r.server, 'pushbench')
    checkInvariants(transport, r)
    if (PUSH.includes(transport)) {
      assert.equal(r.updates.missed, 0, `${transport}: a push transport misses nothing on loopback`)
      assert.equal(r.updates.delivered, r.updates.expected)
    }
    if ((EXACT as readonly string[]).includes(transport)) {
      const residual = checkModel(transport, r, transport as Exact)
      t.diagnostic(`measured - model = ${residual} B over ${r.updates.delivered} updates`)
    }
    if (transport === 'websocket') {
      // server to client: one frame per delivered update, and else only whole rounds of 2-byte pings
      // (one to every client at once; none in a run this short unless the host stalled it past 30 s)
      const frame = wsFrameHeaderLength(DEFAULT_PARAMS.payloadBytes) + DEFAULT_PARAMS.payloadBytes
      const extra = r.bytes.serverToClient - r.updates.delivered * frame
      assert.equal(extra % (2 * SCALE.clients), 0, `${extra} B beyond the update frames`)
      assert.ok(extra >= 0 && extra <= 2 * SCALE.clients, `${extra} B beyond the update frames`)
    }
    if (transport.endsWith('-h2')) {
      // the HTTP/2 rows' lean client (load/clients/lean/h2.ts) measures by default, as for the four
      assert.equal(r.client, 'lean', `${transport}: measured by the lean client`)
      // long polling over HTTP/2: at least the model, within a session's set-up and the first answers' literals;
      // short polling near it (the model takes the mean updates a poll carries, as the HTTP/1.1 one does)
      const b = r.bytes
      const what = `${transport}: measured ${b.perDeliveredUpdate} B/update vs model ${b.modelPerUpdate}`
      // (less one date literal a client: the model counts one a second, a window holds one more or less of them)
      const oneDate = (DATE_LITERAL_EXTRA * SCALE.clients) / r.updates.delivered
      if (transport === 'long-poll-h2') assert.ok(b.perDeliveredUpdate >= b.modelPerUpdate - oneDate, what)
      assert.ok(Math.abs(b.perDeliveredUpdate / b.modelPerUpdate - 1) <= 0.05, what)
      t.diagnostic(what)
    }
    if (transport === 'short-poll' || transport === 'short-poll-h2') {
      assert.ok(r.scheduleLagMs, 'short polling reports how late its polls left')
      assert.ok(r.requests > 0)
    }
  })
}

test('--server baseline: a valid result from the bare WebSocket server, the same bytes per update', async () => {
  const { r } = await finished('baseline-websocket')
  assert.equal(r.transport, 'websocket')
  assert.equal(r.server, 'baseline')
  checkInvariants('baseline-websocket', r)
  assert.equal(r.updates.missed, 0)
  // the baseline sends no ping at all: its bytes are exactly one frame per delivered update, as the model says
  const frame = wsFrameHeaderLength(DEFAULT_PARAMS.payloadBytes) + DEFAULT_PARAMS.payloadBytes
  assert.equal(r.bytes.clientToServer, 0)
  assert.equal(r.bytes.serverToClient, r.updates.delivered * frame)
  assert.equal(r.bytes.modelPerUpdate, frame)
  assert.equal(r.bytes.perDeliveredUpdate, frame)
})
