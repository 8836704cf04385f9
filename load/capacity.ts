/**
 * Capacity search: on one set of connected clients, the offered rate doubles (updates per tick, at
 * the scenario's tick rate) until delivery falls under the limit or p99 latency passes it. The
 * highest rate that passed is the transport's sustained capacity at that client count. A step whose
 * generator saturated ends the search: past it the generator, not the server, is measured.
 * A polled transport's ceiling is measured by autocannon instead (load/autocannon.ts).
 */
import { PbError } from '../lib/errors.ts'
import { PARAM_RANGES } from '../lib/params.ts'
import type { Capacity, CapacityStep } from '../lib/results-schema.ts'
import { transport } from '../lib/transports.ts'
import { type RunSpec, Session } from './session.ts'

export interface CapacityOptions {
  limits: { minDeliveryRatio: number; maxP99Ms: number }
  /** measured window of each step, s */
  stepS: number
  /** settle time after each rate change, s */
  settleS: number
  maxSteps: number
  /** after the first failure, halve the interval between the last pass and it this many times */
  refine?: number
  /**
   * what doubles at each step: `batch` the updates per tick (one write per socket per tick carries more,
   * so the server's cost per update falls as the batch grows), or `rate` the ticks a second (one write
   * per update: the server and the generator both pay a socket write or read per update)
   */
  step?: 'batch' | 'rate'
  onStep?: (step: CapacityStep, index: number) => void
}

export const DEFAULT_CAPACITY: Omit<CapacityOptions, 'onStep'> = Object.freeze({
  limits: { minDeliveryRatio: 0.99, maxP99Ms: 100 },
  stepS: 3,
  settleS: 1,
  maxSteps: 12,
})

/** Below this a generator is not what held a step back, whatever the server's share. */
export const GENERATOR_BUSY_PERCENT = 50

/**
 * Which process set the limit at a failed step: the busier of the two, each against its own budget (the
 * server's is its CPU quota when it ran under one, else a core). A server that is far from its budget
 * while the generator is near its own did not fail; the generator queued the updates late.
 */
export function bottleneck(step: CapacityStep, serverCores = 1): 'server' | 'generator' {
  if (step.generatorSaturated) return 'generator'
  const gen = step.generatorCpuPercent
  if (gen === undefined || gen < GENERATOR_BUSY_PERCENT) return 'server'
  return gen > step.serverCpuPercent / serverCores ? 'generator' : 'server'
}

export async function searchCapacity(spec: RunSpec, opts: CapacityOptions): Promise<Capacity> {
  if (transport(spec.transport).kind !== 'push') {
    throw new PbError(
      'PB_ERR_OPTION',
      `capacity search steps pushed updates; ${spec.transport} is polled (its endpoint's ceiling is autocannon's)`,
    )
  }
  const p = spec.params
  const steps: CapacityStep[] = []
  let client: Capacity['client']
  let best: CapacityStep | undefined
  /** the lowest rate that failed: what bounds the answer */
  let failed: CapacityStep | undefined
  let stoppedBecause = `reached ${opts.maxSteps} steps`
  const session = await Session.open(spec)
  try {
    const byRate = opts.step === 'rate'
    /** measures one rate; the step, and why it failed (undefined: it passed) */
    const measureAt = async (
      hz: number,
      upt: number,
      i: number,
    ): Promise<[CapacityStep, string | undefined]> => {
      await session.setRate(hz, upt)
      const params = { ...p, tickHz: hz, updatesPerTick: upt, warmupS: opts.settleS, durationS: opts.stepS }
      const r = await session.measure(params, false)
      // a child died: the step was cut short and no further one can be measured
      if (session.died) throw new PbError('PB_ERR_CHILD_DIED', r.partialReason ?? session.died.message)
      client ??= r.client
      const expected = r.updates.expected ?? r.updates.published * session.connected
      const ratio = expected > 0 ? r.updates.delivered / expected : 0
      // and against what was offered: a server past its CPU also ticks late, so it publishes less than
      // offered and would still deliver all it published (one tick is allowed for where the window cuts)
      const publishedRatio = r.updates.publishedRatio ?? 1
      const offered = Math.round(hz * upt * 1000) / 1000
      const step: CapacityStep = {
        offeredPerSecond: offered,
        deliveredPerSecond: r.deliveredPerSecond ?? 0,
        deliveryRatio: Math.round(ratio * 10_000) / 10_000,
        publishedRatio: Math.round(publishedRatio * 10_000) / 10_000,
        latencyP99Ms: r.latencyMs.p99,
        serverCpuPercent: r.serverCpu.percentOfCore,
        bytesPerUpdate: r.bytes.perDeliveredUpdate,
        generatorSaturated: r.generator.saturated,
        generatorCpuPercent: r.generator.cpuPercent,
        serverUsPerDeliveredUpdate: r.serverCpu.usPerDeliveredUpdate,
        ...(r.generator.usPerDeliveredUpdate !== undefined
          ? { generatorUsPerDeliveredUpdate: r.generator.usPerDeliveredUpdate }
          : {}),
        ...(r.serverCpu.softirqPercent !== undefined ? { softirqPercent: r.serverCpu.softirqPercent } : {}),
        passed: false,
      }
      const why =
        publishedRatio < opts.limits.minDeliveryRatio
          ? `the server published ${(publishedRatio * 100).toFixed(1)}% of the updates offered at ${offered} updates/s: it could not keep its tick rate`
          : ratio < opts.limits.minDeliveryRatio
            ? `delivery ${(ratio * 100).toFixed(1)}% < ${opts.limits.minDeliveryRatio * 100}% at ${offered} updates/s`
            : r.latencyMs.p99 > opts.limits.maxP99Ms
              ? `p99 ${r.latencyMs.p99} ms > ${opts.limits.maxP99Ms} ms at ${offered} updates/s`
              : undefined
      step.passed = why === undefined
      steps.push(step)
      opts.onStep?.(step, i)
      return [step, why]
    }

    // double until a step fails (or the generator saturates, or the ticker's range ends)
    let upt = p.updatesPerTick
    let hz = p.tickHz
    let failedAt: { hz: number; upt: number } | undefined
    let bestAt: { hz: number; upt: number } | undefined
    for (let i = 0; i < opts.maxSteps; i++) {
      if (spec.signal?.aborted) {
        stoppedBecause = 'interrupted'
        break
      }
      const [step, why] = await measureAt(hz, upt, i)
      if (why !== undefined) {
        stoppedBecause = why
        failed = step
        failedAt = { hz, upt }
        break
      }
      best = step
      bestAt = { hz, upt }
      if (step.generatorSaturated) {
        stoppedBecause = `generator saturated at ${step.offeredPerSecond} updates/s: the server's ceiling is higher than one generator core can receive`
        break
      }
      if (byRate ? hz * 2 > PARAM_RANGES.tickHz.max : upt * 2 > PARAM_RANGES.updatesPerTick.max) {
        stoppedBecause = 'reached the highest rate the ticker offers'
        break
      }
      if (byRate) hz *= 2
      else upt *= 2
    }
    // then halve the interval between the last pass and the first failure, `refine` times
    for (let k = 0; k < (opts.refine ?? 0) && bestAt && failedAt && !spec.signal?.aborted; k++) {
      const mid = byRate
        ? { hz: (bestAt.hz + failedAt.hz) / 2, upt: bestAt.upt }
        : { hz: bestAt.hz, upt: Math.floor((bestAt.upt + failedAt.upt) / 2) }
      if (mid.upt === bestAt.upt && mid.hz === bestAt.hz) break
      const [step, why] = await measureAt(mid.hz, mid.upt, steps.length)
      if (why === undefined) {
        best = step
        bestAt = mid
      } else {
        stoppedBecause = why
        failed = step
        failedAt = mid
      }
    }
  } finally {
    await session.close()
  }
  const last = failed ?? steps.at(-1)
  // a search that ended on a pass was cut by maxSteps or the rate cap, unless its generator saturated
  const cores = spec.serverCpu ?? 1
  const limitedBy = !last
    ? 'none'
    : last.passed && !last.generatorSaturated
      ? 'none'
      : bottleneck(last, cores)
  const budget = spec.serverCpu === undefined ? 'a core' : `its ${cores}-core quota`
  if (last && !last.passed && limitedBy === 'generator') {
    stoppedBecause += `; the generator was the busier process (${last.generatorCpuPercent?.toFixed(0)}% of its core, server ${last.serverCpuPercent.toFixed(0)}% of ${budget}): this is the generator's limit, a lower bound for the server`
  }
  const usPerUpdate = best?.serverUsPerDeliveredUpdate ?? 0
  return {
    transport: spec.transport,
    server: spec.server ?? 'pushbench',
    ...(spec.tls ? { tls: true } : {}),
    limitedBy,
    // what one core of server CPU would push at the best step's cost per delivered update, per client
    ...(usPerUpdate > 0 ? { serverCeilingPerSecond: Math.round(1e6 / usPerUpdate / p.clients) } : {}),
    unit: 'updates/s',
    clients: p.clients,
    limits: opts.limits,
    maxSustainedPerSecond: best?.offeredPerSecond ?? 0,
    maxSustainedDeliveredPerSecond: best?.deliveredPerSecond ?? 0,
    steps,
    stoppedBecause,
    step: opts.step ?? 'batch',
    ...(spec.serverCpu !== undefined ? { serverCpuCores: spec.serverCpu } : {}),
    ...(client !== undefined ? { client } : {}),
  }
}
