import { PbOptionError } from './errors.ts'

export const WRITE_POLICIES = ['per-tick', 'per-update'] as const
export type WritePolicy = (typeof WRITE_POLICIES)[number]

/** The params of one scenario: the same for every transport it runs (DESIGN.md, "A run"). */
export interface ScenarioParams {
  /** concurrent clients, one connection each */
  clients: number
  /** ticks a second */
  tickHz: number
  /** updates published per tick */
  updatesPerTick: number
  /** size in bytes of one serialised update (the JSON object) */
  payloadBytes: number
  /** short polling: the client schedule, ms between polls */
  pollIntervalMs: number
  /** the measured window, seconds */
  durationS: number
  /** connected and receiving before the window opens, seconds */
  warmupS: number
  /**
   * warm up past warmupS until the server's CPU per update over two consecutive slices agrees within
   * 10%, for at most this long, seconds; at or below warmupS the warm-up is warmupS, fixed
   */
  maxWarmupS: number
  writePolicy: WritePolicy
  /** random-walk seed: same seed, same updates byte for byte */
  seed: number
  /** number of ticker symbols */
  symbols: number
  /**
   * round-trip time the generator emulates on every connection, ms (load/lean/delay-line.ts; lean clients
   * only): writes leave RTT/2 late, reads arrive RTT/2 late, a new connection waits out its handshakes
   */
  rttMs: number
  /** chat workload (lib/workloads.ts): rooms; client i joins room i % rooms */
  rooms: number
  /** chat workload: messages a second each client sends (its own seeded phase, load/chat/schedule.ts) */
  sendHz: number
}

export const DEFAULT_PARAMS: Readonly<ScenarioParams> = Object.freeze({
  clients: 100,
  tickHz: 10,
  updatesPerTick: 1,
  payloadBytes: 128,
  pollIntervalMs: 250,
  durationS: 10,
  warmupS: 2,
  maxWarmupS: 0,
  writePolicy: 'per-tick',
  seed: 1,
  symbols: 50,
  rttMs: 0,
  rooms: 10,
  sendHz: 1,
})

interface NumberRange {
  min: number
  max: number
  integer: boolean
  unit: string
}

/** Allowed ranges; `payloadBytes.min` is the smallest update the fixed JSON fields fit in (servers/update.ts). */
export const PARAM_RANGES: Readonly<Record<Exclude<keyof ScenarioParams, 'writePolicy'>, NumberRange>> =
  Object.freeze({
    clients: { min: 1, max: 100_000, integer: true, unit: 'clients' },
    tickHz: { min: 0.1, max: 1_000, integer: false, unit: 'Hz' },
    updatesPerTick: { min: 1, max: 10_000, integer: true, unit: 'updates' },
    payloadBytes: { min: 76, max: 1_048_576, integer: true, unit: 'bytes' },
    pollIntervalMs: { min: 10, max: 60_000, integer: true, unit: 'ms' },
    durationS: { min: 0.5, max: 3_600, integer: false, unit: 's' },
    warmupS: { min: 0, max: 600, integer: false, unit: 's' },
    maxWarmupS: { min: 0, max: 600, integer: false, unit: 's' },
    seed: { min: 0, max: 4_294_967_295, integer: true, unit: '' },
    symbols: { min: 1, max: 10_000, integer: true, unit: 'symbols' },
    rttMs: { min: 0, max: 2_000, integer: false, unit: 'ms' },
    rooms: { min: 1, max: 10_000, integer: true, unit: 'rooms' },
    sendHz: { min: 0.01, max: 100, integer: false, unit: 'Hz' },
  })

/** Checks one numeric value against its range; `field` is the name the user wrote (flag or key). */
export function checkNumber(field: string, value: unknown, range: NumberRange): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  const allowed = `${range.integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}${range.unit ? ` ${range.unit}` : ''}`
  if (typeof n !== 'number' || !Number.isFinite(n))
    throw new PbOptionError(field, `must be ${allowed}, got ${JSON.stringify(value)}`)
  if (range.integer && !Number.isInteger(n)) throw new PbOptionError(field, `must be ${allowed}, got ${n}`)
  if (n < range.min || n > range.max) throw new PbOptionError(field, `must be ${allowed}, got ${n}`)
  return n
}

export function checkChoice<T extends string>(field: string, value: unknown, choices: readonly T[]): T {
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T
  throw new PbOptionError(field, `must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`)
}

/**
 * Fills defaults, checks every field once, freezes: the one validation of scenario params, used by the
 * CLI, the profiles, the server and the generator. `names` gives the name shown in errors for a key
 * (a CLI flag, or where a config file sets it).
 */
export function resolveParams(
  input: Partial<Record<keyof ScenarioParams, unknown>>,
  names: Partial<Record<keyof ScenarioParams, string>> | ((key: keyof ScenarioParams) => string) = {},
): Readonly<ScenarioParams> {
  const name = (k: keyof ScenarioParams): string => (typeof names === 'function' ? names(k) : (names[k] ?? k))
  const merged = { ...DEFAULT_PARAMS, ...stripUndefined(input) } as Record<keyof ScenarioParams, unknown>
  const out = {} as ScenarioParams
  for (const key of Object.keys(PARAM_RANGES) as (keyof typeof PARAM_RANGES)[]) {
    out[key] = checkNumber(name(key), merged[key], PARAM_RANGES[key])
  }
  out.writePolicy = checkChoice(name('writePolicy'), merged.writePolicy, WRITE_POLICIES)
  return Object.freeze(out)
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** Converts camelCase to the kebab-case flag name: payloadBytes -> --payload-bytes. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
}

/** The server-only flags of `pushbench serve`: the limits servers/options.ts enforces (test/scripts/cli.test.ts holds the two together). */
export const SERVER_RANGES = Object.freeze({
  port: { min: 0, max: 65_535, integer: true, unit: '' },
  ringSize: { min: 0, max: 10_000_000, integer: true, unit: 'updates' },
  /** the ticker's shared tick origin (0: none); up to the year 2100 */
  epochMs: { min: 0, max: 4_102_444_800_000, integer: false, unit: 'ms' },
  maxBufferedBytes: { min: 1024, max: 1024 ** 3, integer: true, unit: 'bytes' },
  heartbeatMs: { min: 10, max: 3_600_000, integer: true, unit: 'ms' },
  sseRetryMs: { min: 0, max: 3_600_000, integer: true, unit: 'ms' },
  pingIntervalMs: { min: 10, max: 3_600_000, integer: true, unit: 'ms' },
  longPollTimeoutMs: { min: 10, max: 600_000, integer: true, unit: 'ms' },
  maxClientMessageBytes: { min: 16, max: 1024 ** 2, integer: true, unit: 'bytes' },
  backlog: { min: 1, max: 65_535, integer: true, unit: '' },
  headersTimeoutMs: { min: 100, max: 600_000, integer: true, unit: 'ms' },
} satisfies Record<string, NumberRange>)

/** What a server sends a held connection that has nothing to say: settable per run and per profile scenario. */
export const INTERVAL_KEYS = ['heartbeatMs', 'pingIntervalMs', 'longPollTimeoutMs'] as const
export type ServerIntervals = Partial<Record<(typeof INTERVAL_KEYS)[number], number>>

/**
 * Checks the intervals (naming each as `name(key)` in an error) and returns the server flags that set them:
 * `--heartbeat-ms 5000` and so on, for the ones given.
 */
export function serverIntervalArgs(
  i: Partial<Record<(typeof INTERVAL_KEYS)[number], unknown>>,
  name: (key: string) => string = flagName,
): string[] {
  const args: string[] = []
  for (const key of INTERVAL_KEYS) {
    if (i[key] === undefined) continue
    args.push(flagName(key), String(checkNumber(name(key), i[key], SERVER_RANGES[key])))
  }
  return args
}

/** How `pushbench run` connects its clients: so many per batch, a pause between batches. */
export const RAMP_RANGES = Object.freeze({
  batch: { min: 1, max: 10_000, integer: true, unit: 'clients' },
  pauseMs: { min: 0, max: 60_000, integer: true, unit: 'ms' },
} satisfies Record<string, NumberRange>)
