/**
 * A poll endpoint's ceiling: autocannon (in its own pinned process) hammers the polled transport's
 * path with pollers that follow `since`, against the server pinned to the other core.
 */
import { PbError } from '../lib/errors.ts'
import { nofileFor, planNofile, readNofile } from '../lib/nofile.ts'
import type { ScenarioParams } from '../lib/params.ts'
import type { AutocannonResult } from '../lib/results-schema.ts'
import { makeTlsCert } from '../lib/tls-cert.ts'
import { type Transport, transport, transportsOfKind } from '../lib/transports.ts'
import type { CounterSnapshot } from '../servers/counters.ts'
import type { ReadyLine, ServerReply } from '../servers/ipc.ts'
import { canPin, howExited, spawnNode, waitReady } from './children.ts'
import { probeHostNsPerOp } from './host-probe.ts'

export interface AutocannonSpec {
  /** a polled transport (registry kind `poll`); default: the first one registered (short polling) */
  transport?: Transport
  params: ScenarioParams
  connections: number
  durationS: number
  server?: 'pushbench' | 'baseline'
  pin?: boolean
  /**
   * https with a certificate made for the run (lib/tls-cert.ts). autocannon 9 connects with
   * rejectUnauthorized: false whatever it is given, so it is handed the certificate but does not check it.
   */
  tls?: boolean | undefined
  /** names the connections in an open-files error (default `autocannon.connections`) */
  connectionsField?: string | undefined
  /**
   * interrupt: autocannon stops within a second and what it measured so far is returned, marked partial
   * (the worker is killed if it does not stop within WORKER_GRACE_MS)
   */
  signal?: AbortSignal | undefined
}

/**
 * The open-files limit the server and the autocannon worker must start under to hold `connections`
 * each (lib/nofile.ts): undefined when this process's already does; exit 2 naming `field` when neither
 * the hard limit nor the privilege to raise it allows it.
 */
export function planAutocannonNofile(connections: number, field: string): number | undefined {
  const limits = readNofile()
  const needed = nofileFor(connections)
  planNofile(needed, limits, field, 'autocannon worker')
  return planNofile(needed, limits, field, 'server')
}

/** How long an interrupted worker has to stop autocannon and print its result before it is killed. */
const WORKER_GRACE_MS = 2000

async function counters(server: ReturnType<typeof spawnNode>): Promise<CounterSnapshot> {
  const r = await server.request<ServerReply>({ type: 'counters' })
  if (r.type !== 'counters') throw new PbError('PB_ERR_SERVER', `server answered ${r.type}`)
  return r.counters
}

export async function runAutocannon(spec: AutocannonSpec): Promise<AutocannonResult> {
  const p = spec.params
  const pin = spec.pin !== false && canPin()
  const name = spec.transport ?? (transportsOfKind('poll')[0] as Transport)
  const entry = transport(name)
  if (entry.kind !== 'poll')
    throw new PbError('PB_ERR_OPTION', `autocannon measures a polled transport, not ${name}`)
  const args = ['--transport', name, '--port', '0', '--seed', String(p.seed), '--tick-hz', String(p.tickHz)]
  args.push('--updates-per-tick', String(p.updatesPerTick), '--payload-bytes', String(p.payloadBytes))
  if (spec.server === 'baseline') args.push('--server', 'baseline')
  // before anything starts: a limit too low is exit 2, one within reach raises the children's
  const nofile = planAutocannonNofile(spec.connections, spec.connectionsField ?? 'autocannon.connections')
  const hostProbeNsPerOp = probeHostNsPerOp()
  const cert = spec.tls ? await makeTlsCert() : undefined
  if (cert) args.push('--tls-key', cert.keyPath, '--tls-cert', cert.certPath)
  // (a spawn that throws leaves the certificate to lib/tls-cert.ts's exit handler)
  const server = spawnNode('scripts/serve.ts', args, { cpu: pin ? 0 : undefined, label: 'server', nofile })
  try {
    const ready = await waitReady<ReadyLine>(server)
    const input = JSON.stringify({
      url: ready.url,
      path: entry.path,
      connections: spec.connections,
      durationS: spec.durationS,
      ca: cert?.certPem,
    })
    let s0: Promise<CounterSnapshot> | undefined
    // one of the run's children (load/children.ts): a second signal or a failure stops it with the rest
    const worker = spawnNode('load/autocannon-worker.ts', [input], {
      cpu: pin ? 1 : undefined,
      label: 'autocannon worker',
      nofile,
    })
    let stdout = ''
    worker.proc.stdout?.on('data', (d) => {
      stdout += d
      if (s0 === undefined && stdout.includes('{"event":"start"}')) s0 = counters(server)
    })
    // interrupted: the worker stops autocannon, which ends on its next 1 s tick and prints what it has
    const interrupt = () => void worker.stop(WORKER_GRACE_MS)
    spec.signal?.addEventListener('abort', interrupt, { once: true })
    if (spec.signal?.aborted) interrupt()
    const timer = setTimeout(() => worker.proc.kill('SIGKILL'), (spec.durationS + 30) * 1000)
    // a server that dies ends the step now, not at the end of its duration
    void server.exited.then(() => worker.stop(500))
    const { code, signal } = await worker.exited
    if (server.death() !== undefined && !spec.signal?.aborted)
      throw new PbError('PB_ERR_CHILD_DIED', `server died (${server.death()}) during the autocannon step`)
    clearTimeout(timer)
    spec.signal?.removeEventListener('abort', interrupt)
    const partial = spec.signal?.aborted === true
    const out = stdout
    if (code !== 0)
      throw new PbError(
        'PB_ERR_AUTOCANNON',
        `autocannon worker ${partial ? 'interrupted and ' : ''}died (${howExited(code, signal)}): ${worker.stderr()}`,
      )
    const s1 = await counters(server)
    if (s0 === undefined) throw new PbError('PB_ERR_AUTOCANNON', 'autocannon worker never started')
    const start = await s0
    const r = JSON.parse(out.trim().split('\n').pop() ?? '{}')
    const cpuMs = (s1.cpuUserUs - start.cpuUserUs + s1.cpuSystemUs - start.cpuSystemUs) / 1000
    return {
      server: spec.server ?? 'pushbench',
      ...(cert ? { tls: true } : {}),
      path: entry.path,
      connections: spec.connections,
      durationS: partial ? Math.round(r.durationS * 1000) / 1000 : spec.durationS,
      ...(partial ? { partial: true } : {}),
      requestsPerSecond: Math.round(r.requestsPerSecond),
      latencyMs: r.latencyMs,
      bytesReadPerSecond: Math.round(r.bytesReadPerSecond),
      non2xx: r.non2xx,
      errors: r.errors,
      serverCpuPercent: Math.round((cpuMs / (s1.atMs - start.atMs)) * 10_000) / 100,
      generatorCpuPercent: Math.round(r.generatorCpuPercent * 100) / 100,
      answersWithData: r.ok200,
      answersEmpty: r.ok204,
      hostProbeNsPerOp,
    }
  } finally {
    await server.stop()
    cert?.remove()
  }
}
