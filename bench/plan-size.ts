/**
 * A config's size, counted before its sweeps are expanded: four 100-value lists are 10^8 runs, and
 * expanding them printed nothing and grew to 4.5 GB of memory in two minutes. The runs and a least
 * duration are computed from the list lengths alone (no combination is made), and a config above the
 * bounds is refused (exit 2) naming the swept fields and the count.
 *
 * The bounds, and why:
 * - 10,000 runs: a run costs at least ~2.5 s here besides its window and warm-up (a server process
 *   started and stopped, the clients connected), so 10,000 runs is over 7 hours at the shortest window;
 *   the full profile plans 109.
 * - 7 days of planned time, least estimate: past it a config is a mistake more often than a soak test,
 *   and a week is what one can watch; the full profile plans about 35 min.
 * - 1 MiB of config file (bench/config.ts): the full profile is 6 KiB.
 */
import { PbOptionError } from '../lib/errors.ts'
import { DEFAULT_PARAMS } from '../lib/params.ts'
import { defaultTransports } from '../lib/transports.ts'
import type { ConfigInput, Overrides } from './config.ts'

export const PLAN_LIMITS = Object.freeze({
  runs: 10_000,
  seconds: 7 * 24 * 3600,
  configBytes: 2 ** 20,
})

/** Seconds a run costs besides its warm-up and window, at the least (server start and stop, connect). */
const RUN_OVERHEAD_S = 2.5

export interface PlanSize {
  runs: number
  /** a lower bound of the time the plan takes, seconds */
  leastSeconds: number
}

/** Counts the runs `config` plans (with the overrides applied), and refuses it above PLAN_LIMITS. */
export function checkPlanSize(config: ConfigInput, source: string, o: Overrides = {}): PlanSize {
  let runs = 0
  let leastSeconds = 0
  let biggest: { at: string; swept: [string, number][]; runs: number } | undefined
  config.scenarios.forEach((s, si) => {
    if (
      o.scenario !== undefined &&
      !o.scenario
        .split(',')
        .map((n) => n.trim())
        .includes(s.name)
    )
      return
    const merged: Record<string, unknown> = { ...DEFAULT_PARAMS, ...config.defaults, ...s.params }
    if (o.seed !== undefined) merged.seed = o.seed
    const swept = Object.entries(merged)
      .filter(([, v]) => Array.isArray(v))
      .map(([k, v]) => [k, (v as unknown[]).length] as [string, number])
    const combos = swept.reduce((n, [, len]) => n * len, 1)
    const transports = (s.transports ?? defaultTransports()).filter(
      (t) => !o.transports || (o.transports as readonly string[]).includes(t),
    ).length
    const servers = s.baseline === true ? 2 : 1
    const cap = s.capacity
    const searches = cap
      ? (cap.transports?.length ?? transports) * Math.max(1, [cap.serverCpu ?? []].flat().length)
      : 0
    const perCombo = (transports + searches) * servers + (s.autocannon ? servers : 0)
    const scenarioRuns = combos * perCombo
    runs += scenarioRuns
    const least = (key: string) => Math.min(...[merged[key]].flat().map(Number).filter(Number.isFinite))
    const perRun = RUN_OVERHEAD_S + (least('warmupS') || 0) + (least('durationS') || 0)
    leastSeconds += scenarioRuns * perRun
    if (!biggest || scenarioRuns > biggest.runs)
      biggest = { at: `${source}: scenarios[${si}]`, swept, runs: scenarioRuns }
  })
  const L = PLAN_LIMITS
  if (runs > L.runs || leastSeconds > L.seconds) {
    const b = biggest as NonNullable<typeof biggest>
    const lists = b.swept.map(([k, n]) => `${k} (${n} values)`).join(' x ')
    const what =
      runs > L.runs
        ? `plans ${count(runs)} runs, above the limit of ${count(L.runs)}`
        : `plans at least ${duration(leastSeconds)} of runs, above the limit of ${duration(L.seconds)}`
    throw new PbOptionError(
      b.swept.length > 0 ? `${b.at}.params ${b.swept.map(([k]) => k).join(', ')}` : b.at,
      `${what} (${runs > L.runs ? `at least ${duration(leastSeconds)}; ` : ''}${count(runs)} runs in all, ${count(b.runs)} of them here${lists ? `: ${lists}, each combination for every transport` : ''}); shorten the lists, split the config, or pick one with --scenario or --transports`,
    )
  }
  return { runs, leastSeconds }
}

function count(n: number): string {
  return n < 1e15 ? Math.round(n).toLocaleString('en-US') : n.toExponential(2)
}

function duration(s: number): string {
  if (s >= 2 * 86_400) return `${count(s / 86_400)} days`
  if (s >= 2 * 3600) return `${Math.round(s / 3600)} h`
  return `${Math.ceil(s / 60)} min`
}
