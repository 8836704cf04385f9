/**
 * A lifecycle run: one transport's server in its own process, and the lifecycle probe
 * (load/lifecycle-probe.ts) in another, taking connections one after another from connect to first update
 * to close. Over TLS with `tls`, behind the emulated RTT with `params.rttMs`, and in wire mode between two
 * network namespaces (link bytes and both sides' TIME_WAIT) with `wire`. Everything it starts it stops.
 */
import { PbError } from '../lib/errors.ts'
import { createWire, type Wire } from '../lib/netns.ts'
import type { ScenarioParams } from '../lib/params.ts'
import type { LifecycleRow } from '../lib/results-schema.ts'
import { makeTlsCert, namesFor, type TlsCert } from '../lib/tls-cert.ts'
import type { Transport } from '../lib/transports.ts'
import type { ReadyLine } from '../servers/ipc.ts'
import { type Child, canPin, spawnNode, waitReady } from './children.ts'
import type { LifecycleReply, LifecycleRequest, LifecycleResult } from './lifecycle-probe.ts'
import { nodeArgsFrom, serverArgs } from './session.ts'

export interface LifecycleSpec {
  transport: Transport
  /** the server's ticker (tickHz, payload, ...) and the emulated RTT */
  params: ScenarioParams
  /** connections taken through their lifecycle, one after another */
  connections: number
  /** short polling: polls on the keep-alive connection, and connections without keep-alive */
  pollsPerConnection: number
  tls?: boolean | undefined
  wire?: { linkMbit?: number | undefined } | undefined
  pin?: boolean | undefined
  signal?: AbortSignal | undefined
  onPhase?: ((phase: string, detail?: string) => void) | undefined
}

/** Per connection at most this long (plus its RTTs) before the probe gives up on it. */
const PER_CONNECTION_MS = 10_000

export async function runLifecycleProbe(spec: LifecycleSpec): Promise<LifecycleRow> {
  const phase = spec.onPhase ?? (() => {})
  const pin = spec.pin !== false && canPin()
  let wire: Wire | undefined
  let cert: TlsCert | undefined
  let server: Child | undefined
  let probe: Child | undefined
  try {
    phase('server')
    if (spec.wire) wire = await createWire(spec.wire)
    const host = wire ? wire.serverAddr : '127.0.0.1'
    if (spec.tls) cert = await makeTlsCert(namesFor(host))
    server = spawnNode(
      'scripts/serve.ts',
      serverArgs({ transport: spec.transport, params: spec.params, host }, cert),
      {
        cpu: pin ? 0 : undefined,
        netns: wire?.serverNs,
        label: 'server',
        nodeArgs: nodeArgsFrom('PB_SERVER_NODE_ARGS'),
      },
    )
    const ready = await waitReady<ReadyLine>(server)
    if (spec.signal?.aborted) throw new PbError('PB_ERR_INTERRUPTED', 'interrupted before the probe began')
    phase('lifecycle', `${spec.connections} connections`)
    probe = spawnNode('load/lifecycle-process.ts', [], {
      cpu: pin ? 1 : undefined,
      netns: wire?.clientNs,
      label: 'lifecycle probe',
      nodeArgs: nodeArgsFrom('PB_GENERATOR_NODE_ARGS'),
    })
    const request: LifecycleRequest = {
      type: 'lifecycle',
      transport: spec.transport,
      base: ready.url,
      ca: cert?.certPem,
      rttMs: spec.params.rttMs,
      connections: spec.connections,
      pollsPerConnection: spec.pollsPerConnection,
      wire: wire ? { clientDev: wire.clientDev, serverNs: wire.serverNs } : undefined,
    }
    const perConnection = PER_CONNECTION_MS + 4 * spec.params.rttMs
    const bound = (spec.connections + 2 * spec.pollsPerConnection + 2) * perConnection
    const reply = await replyOf(probe, request, bound, spec.signal)
    return toRow(reply, spec, wire)
  } finally {
    await Promise.all([probe?.stop(2000), server?.stop(5000)])
    cert?.remove()
    await wire?.remove()
  }
}

function replyOf(
  probe: Child,
  request: LifecycleRequest,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<LifecycleResult> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error, r?: LifecycleResult): void => {
      clearTimeout(timer)
      probe.proc.off('message', onMessage)
      probe.proc.off('exit', onExit)
      signal?.removeEventListener('abort', onAbort)
      if (err) reject(err)
      else resolve(r as LifecycleResult)
    }
    const onMessage = (m: LifecycleReply): void => {
      if (m.type === 'lifecycle-result') done(undefined, m)
      else if (m.type === 'error')
        done(new PbError('PB_ERR_LIFECYCLE', `lifecycle probe failed: ${m.message}`))
    }
    const onExit = (): void =>
      done(new PbError('PB_ERR_LIFECYCLE', `lifecycle probe exited before its result: ${probe.stderr()}`))
    const onAbort = (): void =>
      done(new PbError('PB_ERR_INTERRUPTED', 'interrupted during the lifecycle probe'))
    const timer = setTimeout(
      () =>
        done(
          new PbError(
            'PB_ERR_LIFECYCLE',
            `lifecycle probe sent no result in ${Math.round(timeoutMs / 1000)} s`,
          ),
        ),
      timeoutMs,
    )
    probe.proc.on('message', onMessage)
    probe.proc.once('exit', onExit)
    signal?.addEventListener('abort', onAbort, { once: true })
    probe.proc.send(request)
  })
}

/** What the results file keeps of the probe's result: the aggregates, not every connection's record. */
function toRow(r: LifecycleResult, spec: LifecycleSpec, wire: Wire | undefined): LifecycleRow {
  const l = r.lifecycle
  const mode = (m: NonNullable<LifecycleResult['shortPoll']>['keepAlive']) => ({
    connections: m.connections,
    polls: m.polls,
    errors: m.errors,
    pollMs: m.pollMs,
    connectPollMs: m.connectPollMs,
    reusedPollMs: m.reusedPollMs,
    perPoll: m.perPoll,
    close: m.close,
    totalMs: m.totalMs,
    total: m.total,
    firstFin: m.firstFin,
    timeWait: m.timeWait,
    ...(m.link ? { link: m.link } : {}),
  })
  return {
    transport: r.transport,
    tls: r.tls,
    rttMs: r.rttMs,
    ...(wire ? { wire: wire.linkMbit === undefined ? {} : { linkMbit: wire.linkMbit } } : {}),
    model: r.model,
    connections: l.connections,
    completed: l.completed,
    errors: l.errors,
    firstUpdateMs: l.firstUpdateMs,
    closeMs: l.closeMs,
    setup: l.setup,
    setupUpdates: l.setupUpdates,
    setupOneUpdate: l.setupOneUpdate,
    close: l.close,
    closeNoUpdate: l.closeNoUpdate,
    total: l.total,
    firstFin: l.firstFin,
    timeWait: l.timeWait,
    ...(l.link ? { link: l.link } : {}),
    ...(r.shortPoll
      ? { shortPoll: { keepAlive: mode(r.shortPoll.keepAlive), noKeepAlive: mode(r.shortPoll.noKeepAlive) } }
      : {}),
    bytesAre: 'tcp-payload',
    errorMessages: r.errors,
    pollsPerConnection: spec.pollsPerConnection,
  }
}
