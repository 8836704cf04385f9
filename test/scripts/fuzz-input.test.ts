/**
 * Property test, seeded and deterministic (lib/random.ts): random and mutated configs fed to the config
 * validator and planner, random and mutated results files to the results validator, and to what reads a
 * valid one (compare, charts, the summary). Never a crash: invalid input is refused as bad input
 * (PbOptionError / the results-schema PbError, which the CLIs turn into exit 2), valid input is planned or
 * reported. The bulk runs in-process; a sample goes through the real `compare` and `charts` CLIs: exit 2
 * for invalid input, 0 or 1 only for valid, never a stack trace.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { type ConfigInput, PROFILES, parseConfig, planScenarios, profilePath } from '../../bench/config.ts'
import { PbError, PbOptionError } from '../../lib/errors.ts'
import { PARAM_RANGES } from '../../lib/params.ts'
import { mulberry32 } from '../../lib/random.ts'
import { validateResults } from '../../lib/results-io.ts'
import type { ResultsFile } from '../../lib/results-schema.ts'
import { chartPlan } from '../../report/chart-configs.ts'
import { compareResults, formatComparison } from '../../report/compare.ts'
import { readResultsArg } from '../../report/read-input.ts'
import { formatSummary } from '../../report/summary.ts'
import { type Exit, pool, runCliAsync, STACK_LINE } from '../helpers/cli-async.ts'
import { fixture } from '../report/helpers.ts'

const SEED = 17
type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
type Rand = () => number

const int = (r: Rand, n: number): number => Math.floor(r() * n)
const clone = <T>(x: T): T => structuredClone(x)
/** A copy: a junk value put in two places, then edited in one, must not make a cycle. */
const pick = <T>(r: Rand, xs: readonly T[]): T => clone(xs[int(r, xs.length)] as T)

/** Values no field expects, or expects only in part: wrong types, edges, sizes. */
const JUNK: readonly Json[] = [
  null,
  true,
  false,
  0,
  -1,
  0.5,
  1.5,
  -0.0001,
  2 ** 53 + 2,
  1e308,
  -1e308,
  '',
  'x',
  '10',
  'NaN',
  '\u0000',
  'ü'.repeat(300),
  [],
  [0],
  [1, 2, 3],
  ['sse'],
  {},
  { a: 1 },
]

/** Every path into `doc` (objects and arrays), the root included. */
function paths(
  doc: Json,
  at: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(at)
  if (Array.isArray(doc)) doc.forEach((v, i) => void paths(v, [...at, i], out))
  else if (doc !== null && typeof doc === 'object')
    for (const [k, v] of Object.entries(doc)) paths(v, [...at, k], out)
  return out
}

function getAt(doc: Json, path: (string | number)[]): Json {
  let x: Json = doc
  // a path taken before an earlier edit cut its array may lead nowhere: null, and the edit is skipped
  for (const k of path)
    x = x !== null && typeof x === 'object' ? ((x as Record<string | number, Json>)[k] ?? null) : null
  return x
}

/** One to three edits at random places: a junk value, a number nudged to an edge, a key dropped or added, an array emptied or doubled. */
function mutate(r: Rand, doc: Json): Json {
  let d = clone(doc)
  for (let n = 1 + int(r, 3); n > 0; n--) {
    const all = paths(d)
    const path = pick(r, all)
    const value = getAt(d, path)
    const parent = path.length > 0 ? getAt(d, path.slice(0, -1)) : undefined
    const key = path.at(-1)
    const set = (v: Json) => {
      if (parent === undefined) d = v
      else (parent as Record<string | number, Json>)[key as string | number] = v
    }
    const op = int(r, 7)
    if (op === 0) set(pick(r, JUNK))
    else if (op === 1 && typeof value === 'number') set(pick(r, [0, -value, value * 1000, value + 0.5, -1]))
    else if (op === 2 && parent && !Array.isArray(parent) && typeof parent === 'object')
      delete (parent as Record<string, Json>)[key as string]
    else if (op === 3 && value && typeof value === 'object' && !Array.isArray(value))
      (value as Record<string, Json>)[pick(r, ['bogus', 'typo', '__proto__x'])] = pick(r, JUNK)
    else if (op === 4 && Array.isArray(value)) set(r() < 0.5 ? [] : clone([...value, ...value]))
    else if (op === 5 && typeof value === 'string') set(pick(r, ['', `${value}x`, value.slice(0, 1)]))
    else set(pick(r, JUNK))
  }
  return d
}

/**
 * Edits that keep every type: numbers set to edges (0, negative, fractional, huge), arrays cut. Most of
 * these stay valid, so they reach the readers with values they must not trip on.
 */
function nudge(r: Rand, doc: Json): Json {
  const d = clone(doc)
  const all = paths(d).filter((p) => p.length > 0)
  for (let n = 1 + int(r, 4); n > 0; n--) {
    const path = pick(r, all)
    const parent = getAt(d, path.slice(0, -1)) as Record<string | number, Json> | undefined
    if (parent === undefined || parent === null || typeof parent !== 'object') continue
    const key = path.at(-1) as string | number
    const value = parent[key]
    if (typeof value === 'number') parent[key] = pick(r, [0, -1, 0.5, 1e15, 1e308, value * 1000, -value])
    else if (Array.isArray(value) && value.length > 1) parent[key] = value.slice(0, int(r, value.length))
  }
  return d
}

/** What the validators may throw for bad input: anything else (a TypeError, a RangeError) is a crash. */
function isBadInput(err: unknown): boolean {
  return err instanceof PbOptionError || (err instanceof PbError && err.code === 'PB_ERR_RESULTS_SCHEMA')
}

const KEYS = {
  top: ['scenarios', 'defaults', 'description', '$schema'],
  scenario: [
    'name',
    'description',
    'transports',
    'params',
    'capacity',
    'autocannon',
    'baseline',
    'workload',
    'server',
    'tls',
    'generators',
    'lifecycle',
  ],
  params: [...Object.keys(PARAM_RANGES), 'writePolicy'],
}

/** A number near a param's range: inside, at an edge, just outside, or junk. */
function paramValue(r: Rand, key: string): Json {
  const range = (PARAM_RANGES as Record<string, { min: number; max: number; integer: boolean }>)[key]
  if (!range) return pick(r, ['per-tick', 'per-update', 'bogus', 1])
  const one = (): Json =>
    pick(r, [
      range.min,
      range.max,
      range.min - 1,
      range.max + 1,
      range.integer ? range.min + 0.5 : (range.min + range.max) / 2,
      Math.min(range.max, range.min + int(r, 100)),
      pick(r, JUNK),
    ])
  return r() < 0.3 ? Array.from({ length: int(r, 4) }, one) : one()
}

/** A random config: mostly the schema's shape, with junk mixed in. */
function randomConfig(r: Rand): Json {
  const cfg: Record<string, Json> = {}
  for (const k of KEYS.top) if (r() < 0.7) cfg[k] = pick(r, JUNK)
  if (r() < 0.1) cfg[pick(r, ['scenario', 'profiles'])] = []
  const params = (): Json => {
    const p: Record<string, Json> = {}
    for (const k of KEYS.params) if (r() < 0.3) p[k] = paramValue(r, k)
    if (r() < 0.05) p.clientz = 1
    return p
  }
  if (r() < 0.5) cfg.defaults = params()
  if (r() < 0.9)
    cfg.scenarios = Array.from({ length: int(r, 4) }, (_, i) => {
      const s: Record<string, Json> = {}
      for (const k of KEYS.scenario) if (r() < 0.25) s[k] = pick(r, JUNK)
      if (r() < 0.9) s.name = r() < 0.9 ? `s${i}` : ''
      if (r() < 0.6) s.params = params()
      if (r() < 0.4)
        s.transports = Array.from({ length: int(r, 4) }, () =>
          pick(r, ['sse', 'websocket', 'short-poll', 'long-poll', 'bogus']),
        )
      if (r() < 0.1) s.capacity = { maxSteps: pick(r, [0, 3, 21]), step: pick(r, ['batch', 'rate', 'x']) }
      if (r() < 0.1) s.lifecycle = { connections: pick(r, [0, 5, 10_001]) }
      if (r() < 0.1) s.server = { heartbeatMs: pick(r, [1, 1000, 'x']) }
      return s
    })
  return cfg
}

/** The config validator and planner: a plan of in-range params, or bad input; nothing else. */
function checkConfig(data: Json, label: string): 'valid' | 'invalid' {
  let config: ConfigInput
  try {
    config = parseConfig(data, label)
    const plan = planScenarios(config, label)
    assert.ok(plan.length > 0, `${label}: an empty plan was returned instead of refused`)
    for (const s of plan)
      for (const [k, range] of Object.entries(PARAM_RANGES)) {
        const v = s.params[k as keyof typeof PARAM_RANGES] as number
        assert.ok(v >= range.min && v <= range.max, `${label}: ${s.name} ${k} = ${v} passed out of range`)
      }
    return 'valid'
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err
    assert.ok(
      isBadInput(err),
      `${label}: crashed on ${JSON.stringify(data).slice(0, 400)}:\n${(err as Error)?.stack}`,
    )
    return 'invalid'
  }
}

/** The results validator, and what reads a valid file: never a crash. */
function checkResults(data: Json, label: string, other: ResultsFile): 'valid' | 'invalid' {
  let file: ResultsFile
  try {
    file = validateResults(data, label)
  } catch (err) {
    assert.ok(isBadInput(err), `${label}: crashed on validation:\n${(err as Error)?.stack}`)
    return 'invalid'
  }
  try {
    for (const [a, b] of [
      [other, file],
      [file, other],
      [file, file],
    ] as const)
      formatComparison(compareResults(a, b), { color: false })
    chartPlan(file)
    formatSummary(file, { color: false })
  } catch (err) {
    assert.fail(`${label}: a valid results file crashed a reader: ${(err as Error)?.stack}`)
  }
  return 'valid'
}

test('random and mutated configs: planned in range, or refused as bad input; never a crash', (t) => {
  const r = mulberry32(SEED)
  const tally = { valid: 0, invalid: 0 }
  const shipped = PROFILES.map((p) => JSON.parse(readFileSync(profilePath(p), 'utf8')) as Json)
  for (let i = 0; i < 400; i++) tally[checkConfig(randomConfig(r), `random config ${i}`)]++
  for (let i = 0; i < 200; i++) tally[checkConfig(mutate(r, pick(r, shipped)), `mutated profile ${i}`)]++
  for (let i = 0; i < 100; i++) tally[checkConfig(nudge(r, pick(r, shipped)), `nudged profile ${i}`)]++
  t.diagnostic(`configs: ${tally.valid} planned, ${tally.invalid} refused as bad input`)
  // both sides are exercised: not every input refused, not every input taken
  assert.ok(tally.valid >= 40 && tally.invalid >= 200, JSON.stringify(tally))
})

test('random and mutated results files: validated or refused as bad input; valid ones compared, charted and summarised; never a crash', (t) => {
  const r = mulberry32(SEED + 1)
  const fixtures = ['results-quick.json', 'results-sweep.json', 'compare-base.json'].map(
    (f) => JSON.parse(readFileSync(fixture(f), 'utf8')) as Json,
  )
  const base = validateResults(fixtures[0])
  const tally = { valid: 0, invalid: 0 }
  for (let i = 0; i < 300; i++)
    tally[checkResults(mutate(r, pick(r, fixtures)), `mutated results ${i}`, base)]++
  for (let i = 0; i < 40; i++) tally[checkResults(pick(r, JUNK), `junk results ${i}`, base)]++
  for (let i = 0; i < 150; i++)
    tally[checkResults(nudge(r, pick(r, fixtures)), `nudged results ${i}`, base)]++
  t.diagnostic(`results files: ${tally.valid} valid and read, ${tally.invalid} refused as bad input`)
  assert.ok(tally.valid >= 50 && tally.invalid >= 100, JSON.stringify(tally))
})

test('results files cut short or with a flipped byte: refused naming the argument, never a crash', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-fuzz-text-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const r = mulberry32(SEED + 2)
  const text = readFileSync(fixture('results-quick.json'), 'utf8')
  for (let i = 0; i < 40; i++) {
    const at = int(r, text.length)
    const bad =
      i % 2 === 0
        ? text.slice(0, at)
        : `${text.slice(0, at)}${pick(r, ['{', '"', ']', ',', '\u0000', 'x'])}${text.slice(at + 1)}`
    const path = join(dir, `cut-${i}.json`)
    writeFileSync(path, bad)
    try {
      readResultsArg(path, 'BASE')
    } catch (err) {
      assert.ok(err instanceof PbOptionError, `${path}: ${(err as Error)?.stack}`)
      assert.match(err.message, /^BASE: /)
    }
  }
})

test('a sample through the compare and charts CLIs: exit 2 for invalid input, 0 or 1 only for valid, no stack trace', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-fuzz-cli-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const r = mulberry32(SEED + 3)
  const quickPath = fixture('results-quick.json')
  const quick = JSON.parse(readFileSync(quickPath, 'utf8')) as Json
  const cases: { sub: string; args: string[]; valid: boolean }[] = []
  const validOf = (data: Json): ResultsFile | undefined => {
    try {
      return validateResults(data)
    } catch {
      return undefined
    }
  }
  // a few of each kind: invalid, valid, valid but empty
  const wanted = { invalid: 3, valid: 2 }
  for (let i = 0; i < 500 && (wanted.invalid > 0 || wanted.valid > 0); i++) {
    const data = mutate(r, quick)
    const file = validOf(data)
    const kind = file ? 'valid' : 'invalid'
    if (wanted[kind] <= 0) continue
    wanted[kind]--
    const path = join(dir, `m-${i}.json`)
    writeFileSync(path, JSON.stringify(data))
    const nonEmpty = file !== undefined && file.scenarios.length > 0
    cases.push({ sub: 'compare', args: [quickPath, path], valid: nonEmpty })
    cases.push({ sub: 'charts', args: [path, '--out', join(dir, `charts-${i}`)], valid: file !== undefined })
  }
  const empty = join(dir, 'empty-scenarios.json')
  writeFileSync(empty, JSON.stringify({ ...(quick as object), scenarios: [] }))
  cases.push({ sub: 'compare', args: [empty, quickPath], valid: false })
  const ran = await pool(
    cases.map((c) => () => runCliAsync(c.sub, c.args, 30_000)),
    3,
  )
  t.diagnostic(
    `${cases.length} CLI runs: ${cases.filter((c) => c.valid).length} valid, ${cases.filter((c) => !c.valid).length} invalid`,
  )
  cases.forEach((c, i) => {
    const x = ran[i] as Exit
    const label = `${c.sub} ${c.args.join(' ')} (${c.valid ? 'valid' : 'invalid'})`
    assert.doesNotMatch(x.stderr, STACK_LINE, `${label}: a stack trace`)
    if (c.valid) assert.ok(x.status === 0 || x.status === 1, `${label}: exit ${x.status}: ${x.stderr}`)
    else assert.equal(x.status, 2, `${label}: ${x.stderr}`)
  })
})
