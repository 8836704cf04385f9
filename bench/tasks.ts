/**
 * The tasks of a planned scenario: a run per server and transport, a capacity search per transport it
 * asks for, and the autocannon ceiling of the poll endpoint. Each task writes into the scenario's entry
 * of the results file; bench/run-profile.ts runs them in order.
 */
import { PbError } from '../lib/errors.ts'
import { wireUnsupported } from '../lib/netns.ts'
import type { RunResult, Scenario } from '../lib/results-schema.ts'
import { type Transport, transport as transportEntry, transportsOfKind } from '../lib/transports.ts'
import { runAutocannon } from '../load/autocannon.ts'
import { searchCapacity } from '../load/capacity.ts'
import { runFault } from '../load/fault-run.ts'
import type { ClientKind } from '../load/generator-ipc.ts'
import { runLifecycleProbe } from '../load/lifecycle-run.ts'
import { runOne } from '../load/session.ts'
import {
  connectSeconds,
  type FaultPlan,
  faultSeconds,
  type LifecyclePlan,
  type PlannedScenario,
} from './config.ts'

export interface Task {
  label: string
  /** the planned duration, seconds (for the progress estimate) */
  plannedS: number
  run: (
    signal: AbortSignal,
    phase: (p: string, d?: string) => void,
    log: (l: string) => void,
  ) => Promise<void>
}

/**
 * A lifecycle scenario's tasks: per transport, connections taken one after another from connect to first
 * update to close (load/lifecycle-run.ts), into the scenario's `lifecycle` rows. Wire mode where the
 * machine allows it; elsewhere one line says why, and the rows come without link figures.
 */
function lifecycleTasks(
  s: PlannedScenario,
  plan: LifecyclePlan,
  entry: Scenario,
  o: { pin: boolean; tls: boolean },
): Task[] {
  let wireNoted = false
  return s.transports.map((transport) => {
    const label = `${s.name} · ${transport} lifecycle`
    return {
      label,
      plannedS: 3 + (plan.connections + 2 * plan.pollsPerConnection) * (0.05 + (3 * s.params.rttMs) / 1000),
      run: async (signal, phase, log) => {
        const why = plan.wire ? wireUnsupported() : undefined
        if (why && !wireNoted) {
          wireNoted = true
          log(
            `${s.name}: no wire mode here (${why}): lifecycle rows without link bytes or the server's TIME_WAIT`,
          )
        }
        const row = await runLifecycleProbe({
          transport,
          params: s.params,
          connections: plan.connections,
          pollsPerConnection: plan.pollsPerConnection,
          tls: o.tls,
          wire: plan.wire && !why ? {} : undefined,
          pin: o.pin,
          signal,
          onPhase: phase,
        })
        entry.lifecycle ??= []
        entry.lifecycle.push(row)
        log(
          `${label}: first update p50 ${row.firstUpdateMs.p50} ms (model ${row.model.firstUpdateMs} ms), ` +
            `setup ${row.setup.clientToServer}/${row.setup.serverToClient} B`,
        )
      },
    }
  })
}

/**
 * A fault scenario's tasks: per kind, per transport, one fault run (load/fault-run.ts) into the scenario's
 * `faults` rows. A row whose fault's own test failed is kept and said, not thrown: the row is the finding.
 */
function faultTasks(s: PlannedScenario, plan: FaultPlan, entry: Scenario, o: { pin: boolean }): Task[] {
  return plan.kinds.flatMap((kind) =>
    s.transports.map((transport) => {
      const label = `${s.name} · ${transport} ${kind}`
      return {
        label,
        plannedS: faultSeconds(kind, plan),
        run: async (signal, phase, log) => {
          const row = await runFault({
            kind,
            transport,
            params: { ...s.params, clients: plan.clients },
            options: plan.options,
            pin: o.pin,
            signal,
            onPhase: phase,
          })
          entry.faults ??= []
          entry.faults.push(row)
          const u = row.updates
          log(
            `${label}: ${row.ok ? 'ok' : 'NOT OK'}` +
              (row.back ? `, ${row.back.back}/${row.clients} back (p50 ${row.back.backMs.p50} ms)` : '') +
              (u ? `, ${u.missed} missed, ${u.duplicated} duplicated` : '') +
              (row.kill ? `, noticed in ${row.kill.noticedMs ?? '-'} ms: ${row.kill.message}` : ''),
          )
        },
      }
    }),
  )
}

/** How every run of a profile is made. */
export interface TaskOptions {
  /** pin server and generator to separate cores */
  pin: boolean
  /** which client measures */
  client: ClientKind
  /** every run over TLS (https, wss), a certificate made per run */
  tls?: boolean | undefined
}

/** The runs of one planned scenario, each writing into its entry of the results file. */
export function tasksOf(s: PlannedScenario, entry: Scenario, { pin, client, tls }: TaskOptions): Task[] {
  if (s.lifecycle) return lifecycleTasks(s, s.lifecycle, entry, { pin, tls: tls || s.tls })
  if (s.faults) return faultTasks(s, s.faults, entry, { pin })
  const servers = s.baseline ? (['pushbench', 'baseline'] as const) : (['pushbench'] as const)
  const tasks: Task[] = []
  const runS = (t: Transport) =>
    2 +
    connectSeconds(s.params.clients, client) +
    s.params.warmupS +
    s.params.durationS +
    (transportEntry(t).kind === 'poll' ? (s.params.pollIntervalMs + 1000 / s.params.tickHz) / 1000 : 0.2)
  for (const server of servers) {
    for (const transport of s.transports) {
      const label = `${s.name} · ${transport}${server === 'baseline' ? ' (baseline)' : ''}`
      tasks.push({
        label,
        plannedS: runS(transport),
        run: async (signal, phase, log) => {
          let r: RunResult
          try {
            r = await runOne({
              transport,
              workload: s.workload,
              params: s.params,
              server,
              pin,
              client,
              tls: tls || s.tls,
              serverArgs: s.serverArgs,
              generators: s.generators,
              clientsField: `${s.group}.params.clients`,
              signal,
              onPhase: phase,
            })
          } catch (err) {
            if (!(err instanceof PbError)) throw err
            entry.results.push({
              state: 'errored',
              transport,
              server,
              ...(tls || s.tls ? { tls: true } : {}),
              error: err.message,
            })
            throw err
          }
          entry.results.push(r)
          for (const w of r.warnings ?? []) log(`${label}: warning: ${w}`)
          // a child died: what was measured is kept (partial), and the run counts as failed
          if (r.state === 'partial' && !signal.aborted)
            throw new PbError('PB_ERR_CHILD_DIED', `${r.partialReason ?? 'cut short'}; kept, marked partial`)
        },
      })
    }
    const cap = s.capacity
    if (cap) {
      for (const [transport, serverCpu] of cap.transports.flatMap((t) =>
        (cap.serverCpu.length > 0 ? cap.serverCpu : [undefined]).map((q) => [t, q] as const),
      )) {
        const quota = serverCpu === undefined ? '' : ` at ${serverCpu} core`
        const label = `${s.name} · ${transport} capacity${quota}${server === 'baseline' ? ' (baseline)' : ''}`
        tasks.push({
          label,
          plannedS: 2 + cap.clients / 1000 + (cap.settleS + cap.stepS + 1) * Math.min(cap.maxSteps, 6),
          run: async (signal, phase, log) => {
            const c = await searchCapacity(
              {
                transport,
                params: { ...s.params, clients: cap.clients },
                server,
                pin,
                client,
                tls: tls || s.tls,
                serverArgs: s.serverArgs,
                serverCpu,
                clientsField: `${s.group}.capacity.clients`,
                signal,
                onPhase: phase,
              },
              {
                limits: { minDeliveryRatio: cap.minDeliveryRatio, maxP99Ms: cap.maxP99Ms },
                stepS: cap.stepS,
                settleS: cap.settleS,
                maxSteps: cap.maxSteps,
                step: cap.step,
                refine: cap.refine,
                onStep: (st) =>
                  phase(
                    'capacity',
                    `${st.offeredPerSecond}/s: ${st.passed ? 'ok' : 'over'} (p99 ${st.latencyP99Ms} ms, ${(st.deliveryRatio * 100).toFixed(1)}%)`,
                  ),
              },
            )
            entry.capacity ??= []
            entry.capacity.push(c)
            log(`${label}: ${c.maxSustainedPerSecond} updates/s sustained (${c.stoppedBecause})`)
          },
        })
      }
    }
    const ac = s.autocannon
    if (ac) {
      tasks.push({
        label: `${s.name} · ${transportsOfKind('poll')[0]} autocannon${server === 'baseline' ? ' (baseline)' : ''}`,
        plannedS: ac.durationS + 2,
        run: async (signal, phase) => {
          if (signal.aborted) return
          phase('autocannon', `${ac.connections} connections, ${ac.durationS} s`)
          const r = await runAutocannon({
            params: s.params,
            connections: ac.connections,
            durationS: ac.durationS,
            server,
            pin,
            tls,
            connectionsField: `${s.group}.autocannon.connections`,
            signal,
          })
          if (server === 'baseline') entry.autocannonBaseline = r
          else entry.autocannon = r
        },
      })
    }
  }
  return tasks
}
