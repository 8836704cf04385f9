/**
 * Every subcommand under bad input, as a hostile user would try it: each case runs the real CLI
 * (`node bin/pushbench.js <sub> ...`) and must exit 2 before any load, with a message naming the flag or
 * field, and no stack trace. Bad numbers (below the range, not integers, not numbers, huge, empty, missing),
 * unknown flags and choices, bad files (missing, a folder, not JSON, not the schema, truncated, empty,
 * too big), bad output paths (a folder, under a file, /proc, /sys, a device, a symlink loop), hosts and
 * ports that cannot be bound, configs whose values, sweeps or load are out of bounds.
 * The tally ("N bad inputs tried, N exit 2") is printed as a test diagnostic.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { PLAN_LIMITS } from '../../bench/plan-size.ts'
import { LINK_MBIT_RANGE } from '../../lib/netns.ts'
import { PARAM_RANGES, RAMP_RANGES, SERVER_RANGES } from '../../lib/params.ts'
import { GENERATORS_RANGE, VERIFY_RANGE } from '../../load/session.ts'
import { type Exit, pool, runCliAsync, STACK_LINE } from '../helpers/cli-async.ts'
import { fixture } from '../report/helpers.ts'

interface Range {
  min: number
  max: number
  integer?: boolean
}

interface Case {
  sub: string
  args: string[]
  /** what the message must name (the flag or field) */
  names: RegExp
  /** a path the case must not create */
  notCreated?: string
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const flagRe = (flag: string): RegExp => new RegExp(esc(flag))

const DIR = mkdtempSync(join(tmpdir(), 'pb-bad-input-'))
const OUT_FILE = join(DIR, 'never', 'r.json')
const OUT_DIR = join(DIR, 'never-dir')
const A_FILE = join(DIR, 'a-file.txt')
const QUICK = fixture('results-quick.json')
const SWEEP = fixture('results-sweep.json')

/** The files bad input is made of; written once. */
const FILES = {
  missing: join(DIR, 'missing.json'),
  folder: join(DIR, 'folder'),
  notJson: join(DIR, 'not-json.json'),
  empty: join(DIR, 'empty.json'),
  truncated: join(DIR, 'truncated.json'),
  notSchema: join(DIR, 'not-schema.json'),
  wrongVersion: join(DIR, 'version-2.json'),
  array: join(DIR, 'array.json'),
  noScenarios: join(DIR, 'no-scenarios.json'),
  loop: join(DIR, 'loop-a.json'),
}

let busy: Server
let busyPort = 0

before(async () => {
  mkdirSync(FILES.folder)
  writeFileSync(A_FILE, 'a regular file\n')
  writeFileSync(FILES.notJson, 'this is { not JSON\n')
  writeFileSync(FILES.empty, '')
  const quick = readFileSync(QUICK, 'utf8')
  writeFileSync(FILES.truncated, quick.slice(0, Math.floor(quick.length / 2)))
  writeFileSync(FILES.notSchema, JSON.stringify({ schemaVersion: 1, runId: 3, scenarios: 'none' }))
  writeFileSync(FILES.wrongVersion, JSON.stringify({ ...JSON.parse(quick), schemaVersion: 2 }))
  writeFileSync(FILES.array, '[1, 2, 3]')
  writeFileSync(FILES.noScenarios, JSON.stringify({ ...JSON.parse(quick), scenarios: [] }))
  symlinkSync(join(DIR, 'loop-b.json'), FILES.loop)
  symlinkSync(FILES.loop, join(DIR, 'loop-b.json'))
  // a port in use for --port
  busy = createServer()
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
  busyPort = (busy.address() as { port: number }).port
})

after(() => {
  busy?.close()
  rmSync(DIR, { recursive: true, force: true })
})

/**
 * Bad values for a number flag with `range`, two a flag. The not-a-number kinds go through one parser for
 * every flag, and the range edges through one checker: each flag takes one of each in turn (`k` rotates),
 * so that every kind is tried on many flags and every flag on both paths.
 */
function badNumbers(r: Range, k: number): string[] {
  const notNumbers = ['', 'abc', 'NaN', 'Infinity', '0x', '1,5']
  const edges = [String(r.min - 1), String(r.max * 10 + 1)]
  if (r.integer) edges.push(String(Math.max(r.min, 1) + 0.5))
  if (r.min > 0) edges.push(r.min >= 1 ? '0' : String(r.min / 10))
  return [notNumbers[k % notNumbers.length] as string, edges[k % edges.length] as string]
}

function numberCases(sub: string, base: string[], flags: [string, Range][], k0: number): Case[] {
  return flags.flatMap(([flag, range], i) =>
    badNumbers(range, k0 + i).map((v) => ({ sub, args: [...base, flag, v], names: flagRe(flag) })),
  )
}

const P = PARAM_RANGES
const S = SERVER_RANGES
const RUN = ['--transport', 'sse', '--out', OUT_FILE]
const SERVE = ['--transport', 'sse']
const ADVISE = ['--clients', '1000', '--rate', '10', '--payload', '128', '--no-run', '--from', QUICK]
const BENCH = ['--out', OUT_DIR]

function cases(): Case[] {
  const c: Case[] = []
  const add = (sub: string, args: string[], names: RegExp, notCreated?: string) =>
    c.push({ sub, args, names, ...(notCreated ? { notCreated } : {}) })

  // bad numbers, every number flag of every subcommand
  c.push(
    ...numberCases(
      'run',
      RUN,
      [
        ['--clients', P.clients],
        ['--tick-hz', P.tickHz],
        ['--updates-per-tick', P.updatesPerTick],
        ['--payload-bytes', P.payloadBytes],
        ['--poll-interval-ms', P.pollIntervalMs],
        ['--duration-s', P.durationS],
        ['--warmup-s', P.warmupS],
        ['--max-warmup-s', P.maxWarmupS],
        ['--seed', P.seed],
        ['--symbols', P.symbols],
        ['--rtt-ms', P.rttMs],
        ['--verify-every', VERIFY_RANGE],
        ['--ramp-batch', RAMP_RANGES.batch],
        ['--ramp-pause-ms', RAMP_RANGES.pauseMs],
        ['--server-cpu', { min: 0.1, max: 1024 }],
        ['--heartbeat-ms', S.heartbeatMs],
        ['--ping-interval-ms', S.pingIntervalMs],
        ['--long-poll-timeout-ms', S.longPollTimeoutMs],
        ['--generators', GENERATORS_RANGE],
      ],
      0,
    ),
    ...numberCases('run', [...RUN, '--wire'], [['--link-mbit', LINK_MBIT_RANGE]], 1),
    ...numberCases(
      'serve',
      SERVE,
      [
        ['--port', S.port],
        ['--seed', P.seed],
        ['--symbols', P.symbols],
        ['--tick-hz', P.tickHz],
        ['--updates-per-tick', P.updatesPerTick],
        ['--payload-bytes', P.payloadBytes],
        ['--ring-size', S.ringSize],
        ['--max-buffered-bytes', S.maxBufferedBytes],
        ['--heartbeat-ms', S.heartbeatMs],
        ['--sse-retry-ms', S.sseRetryMs],
        ['--ping-interval-ms', S.pingIntervalMs],
        ['--long-poll-timeout-ms', S.longPollTimeoutMs],
        ['--max-client-message-bytes', S.maxClientMessageBytes],
        ['--backlog', S.backlog],
      ],
      2,
    ),
    ...numberCases(
      'advise',
      ADVISE,
      [
        ['--clients', P.clients],
        ['--rate', { min: P.tickHz.min, max: P.tickHz.max * P.updatesPerTick.max }],
        ['--payload', P.payloadBytes],
        ['--rtt', { min: 0, max: 10_000 }],
        ['--poll-interval-ms', P.pollIntervalMs],
        ['--max-p50-ms', { min: 0.1, max: 600_000 }],
      ],
      3,
    ),
    ...numberCases(
      'pages',
      [],
      [
        ['--port', { min: 0, max: 65_535, integer: true }],
        ['--tick-hz', P.tickHz],
        ['--updates-per-tick', P.updatesPerTick],
        ['--payload-bytes', P.payloadBytes],
        ['--poll-interval-ms', P.pollIntervalMs],
        ['--screenshot-after-s', { min: 1, max: 120 }],
      ],
      4,
    ),
    ...numberCases(
      'charts',
      [QUICK, '--out', OUT_DIR],
      [
        ['--width', { min: 100, max: 8000, integer: true }],
        ['--height', { min: 100, max: 8000, integer: true }],
      ],
      5,
    ),
    ...numberCases('micro', ['--out', OUT_DIR], [['--time-ms', { min: 1, max: 60_000, integer: true }]], 0),
    ...numberCases('bench', BENCH, [['--seed', P.seed]], 1),
  )

  // unknown flags, on every subcommand; a flag without its value
  for (const [sub, base] of [
    ['run', RUN],
    ['serve', SERVE],
    ['bench', BENCH],
    ['compare', [QUICK, QUICK]],
    ['merge', [QUICK, '--out', OUT_FILE]],
    ['charts', [QUICK]],
    ['micro', BENCH],
    ['advise', ADVISE],
    ['pages', []],
  ] as [string, string[]][]) {
    add(sub, [...base, '--bogus'], /unknown option '--bogus'/)
  }
  for (const [sub, base, flag] of [
    ['run', RUN, '--clients'],
    ['run', ['--out', OUT_FILE], '--transport'],
    ['serve', SERVE, '--host'],
    ['bench', BENCH, '--config'],
    ['compare', [QUICK, QUICK], '--html'],
    ['merge', [QUICK], '--out'],
    ['charts', [QUICK], '--out'],
    ['micro', [], '--out'],
    ['advise', ADVISE, '--from'],
    ['pages', [], '--screenshot'],
  ] as [string, string[], string][])
    add(sub, [...base, flag], flagRe(flag))

  // unknown choices
  add('run', ['--transport', 'smoke-signals', '--out', OUT_FILE], /--transport/)
  add('run', ['--transport', '', '--out', OUT_FILE], /--transport/)
  add('run', [...RUN, '--workload', 'bogus'], /--workload/)
  add('run', [...RUN, '--client', 'bogus'], /--client/)
  add('run', [...RUN, '--write-policy', 'bogus'], /--write-policy/)
  add('run', [...RUN, '--server', 'bogus'], /--server/)
  add('run', [...RUN, '--clock', 'bogus'], /--clock/)
  add('serve', ['--transport', 'bogus'], /--transport/)
  add('serve', [...SERVE, '--workload', 'bogus'], /--workload/)
  add('serve', [...SERVE, '--server', 'bogus'], /--server/)
  add('serve', [...SERVE, '--write-policy', 'bogus'], /--write-policy/)
  add('bench', [...BENCH, '--profile', 'bogus'], /--profile/, OUT_DIR)
  add('bench', [...BENCH, '--client', 'bogus'], /--client/, OUT_DIR)
  add('bench', [...BENCH, '--transports', 'sse,bogus'], /--transports/, OUT_DIR)
  add('bench', [...BENCH, '--transports', ','], /--transports/, OUT_DIR)
  add('bench', [...BENCH, '--scenario', 'bogus'], /--scenario/, OUT_DIR)
  add('micro', [...BENCH, '--group', 'bogus'], /--group/, OUT_DIR)
  add('compare', [QUICK, QUICK, '--threshold', 'bogus=5'], /--threshold|bogus/)
  add('compare', [QUICK, QUICK, '--threshold', 'p99=-5'], /--threshold|p99/)
  add('compare', [QUICK, QUICK, '--threshold', 'p99'], /--threshold|p99/)
  add('compare', [QUICK, QUICK, '--threshold', 'p99=abc'], /--threshold|p99/)

  // flags that need another, or exclude one
  add('run', [...RUN, '--link-mbit', '100'], /--link-mbit/)
  add('run', [...RUN, '--shard', '0/2'], /--shard/)
  add('run', [...RUN, '--start-at', '2026-12-05T13:00:00Z'], /--start-at/)
  add('run', [...RUN, '--target', 'not a url'], /--target/)
  add('run', [...RUN, '--target', 'ftp://127.0.0.1:1'], /--target/)
  add('run', [...RUN, '--target', 'http://127.0.0.1:1/path'], /--target/)
  add('run', [...RUN, '--target', 'http://127.0.0.1:1', '--shard', '2/2'], /--shard/)
  add('run', [...RUN, '--target', 'http://127.0.0.1:1', '--shard', 'x'], /--shard/)
  add('run', [...RUN, '--target', 'http://127.0.0.1:1', '--start-at', 'yesterday'], /--start-at/)
  add('run', [...RUN, '--target', 'http://127.0.0.1:1', '--tls'], /--tls/)
  add('run', [...RUN, '--client', 'browser', '--clients', '100000'], /--clients/)
  add('run', [...RUN, '--client', 'browser', '--tls'], /--tls|--client/)
  add('run', [...RUN, '--client', 'library', '--rtt-ms', '20'], /--rtt-ms/)
  add('bench', [...BENCH, '--client', 'browser', '--tls'], /--tls|--client/, OUT_DIR)
  add('serve', [...SERVE, '--tls-key', A_FILE], /--tls-cert/)
  add('serve', [...SERVE, '--tls-key', FILES.missing, '--tls-cert', A_FILE], /--tls-key/)
  add('serve', [...SERVE, '--allow-origin', 'example.com'], /--allow-origin/)
  add('serve', [...SERVE, '--allow-origin', 'http://a.example/path'], /--allow-origin/)
  add('serve', [...SERVE, '--host', ''], /--host/)

  // hosts and ports that cannot be bound
  add('serve', [...SERVE, '--host', '999.1.1.1'], /--host.*999\.1\.1\.1/)
  add('serve', [...SERVE, '--host', '8.8.8.8'], /--host.*not an address of this host/)
  add('serve', [...SERVE, '--host', 'no-such-host.invalid'], /--host/)
  add('serve', [...SERVE, '--port', String(busyPort)], /--port.*in use/)
  add('serve', [...SERVE, '--server', 'baseline', '--port', String(busyPort)], /--port.*in use/)
  add('pages', ['--host', '999.1.1.1'], /--host/)
  add('pages', ['--port', String(busyPort)], /--port.*in use/)

  // load that adds up to more than a host delivers, each flag legal alone
  add(
    'run',
    [...RUN, '--tick-hz', '100', '--updates-per-tick', '1000', '--payload-bytes', '1048576'],
    /--tick-hz x --updates-per-tick x --payload-bytes/,
  )
  add(
    'run',
    [...RUN, '--clients', '100000', '--tick-hz', '100', '--payload-bytes', '1024'],
    /--clients x --tick-hz/,
  )
  add(
    'serve',
    [...SERVE, '--tick-hz', '1000', '--updates-per-tick', '10000'],
    /--tick-hz x --updates-per-tick/,
  )
  add(
    'serve',
    [...SERVE, '--ring-size', '10000000', '--payload-bytes', '1048576'],
    /--ring-size x --payload-bytes/,
  )

  // bad results files, for every reader
  const badResults: [string, string][] = [
    [FILES.missing, 'missing'],
    [FILES.folder, 'folder'],
    [FILES.notJson, 'not JSON'],
    [FILES.empty, 'empty'],
    [FILES.truncated, 'truncated'],
    [FILES.notSchema, 'not the schema'],
    [FILES.wrongVersion, 'schemaVersion 2'],
    [FILES.array, 'an array'],
    [FILES.loop, 'a symlink loop'],
  ]
  // every kind for compare and charts; the readers share one function, so a few for the others
  for (const [i, [file]] of badResults.entries()) {
    add('compare', i % 2 ? [file, QUICK] : [QUICK, file], i % 2 ? /BASE/ : /HEAD/)
    add('charts', [file, '--out', OUT_DIR], /results file/, OUT_DIR)
    if (i % 3 === 2) add('merge', [file, '--out', OUT_FILE], /FILE/, OUT_FILE)
    // a missing path, or a folder without results, is a note to advise (its default, results/, may not
    // be there yet), not bad input: a file that is there and not a results file is
    if (i >= 2 && i < 8 && i % 2 === 0) add('advise', [...ADVISE.slice(0, -1), file], /--from/)
  }
  add('advise', [...ADVISE.slice(0, -1), FILES.missing], /no results file, and --no-run/)
  add('compare', [FILES.noScenarios, QUICK], /BASE: .*no scenarios: nothing to compare/)
  add('compare', [QUICK, FILES.noScenarios], /HEAD: .*no scenarios: nothing to compare/)
  add('compare', [FILES.noScenarios, FILES.noScenarios, '--allow-missing'], /BASE: .*no scenarios/)
  add('compare', [QUICK], /missing required argument 'head'/)
  add('charts', [], /missing required argument 'results'/)
  add('merge', ['--out', OUT_FILE], /missing required argument 'FILE/)
  add('merge', [SWEEP, '--out', SWEEP], /--out.*shard files/)

  // bad output paths, for every writer
  const fileOuts: [string, string][] = [
    ['/proc/x/r.json', 'a pseudo-filesystem'],
    ['/proc/r.json', 'a pseudo-filesystem'],
    ['/sys/kernel/r.json', 'a pseudo-filesystem'],
    [DIR, 'a folder'],
    [`${DIR}/`, 'a trailing slash'],
    [join(A_FILE, 'r.json'), 'under a file'],
    [join(A_FILE, 'deeper', 'r.json'), 'under a file, deeper'],
    ['/dev/null', 'a device'],
    [FILES.loop, 'a symlink loop'],
    ['', 'empty'],
  ]
  // every kind for run; the writers share one check (lib/output-path.ts), so every third for the others
  for (const [i, [out]] of fileOuts.entries()) {
    add('run', ['--transport', 'sse', '--out', out], /--out/)
    const other = [
      ['merge', [QUICK, '--out', out], /--out/],
      ['compare', [QUICK, QUICK, '--html', out], /--html/],
      ['pages', ['--screenshot', out], /--screenshot/],
    ] as const
    const [sub, args, re] = other[i % 3] as (typeof other)[number]
    add(sub, [...args], re)
  }
  const dirOuts = ['/proc/x', '/sys/fs/x', A_FILE, join(A_FILE, 'sub'), '/dev/null', '']
  for (const [i, out] of dirOuts.entries()) {
    add('bench', ['--out', out], /--out/)
    if (i % 2) add('charts', [QUICK, '--out', out], /--out/)
    else add('micro', ['--out', out], /--out/)
  }

  // bench --config: every field, where the file sets it
  const configs: [unknown, RegExp][] = [
    [{ scenarios: [] }, /scenarios/],
    [{}, /scenarios/],
    [{ scenarios: [{ name: '' }] }, /scenarios\.0\.name/],
    [{ scenarios: [{ name: 'a', bogus: 1 }] }, /scenarios\.0\.bogus: unknown field/],
    [{ scenarios: [{ name: 'a' }], bogus: 1 }, /bogus: unknown field/],
    [{ scenarios: [{ name: 'a', transports: [] }] }, /scenarios\.0\.transports/],
    [{ scenarios: [{ name: 'a', transports: ['bogus'] }] }, /scenarios\[0\]\.transports\[0\]/],
    [{ scenarios: [{ name: 'a', workload: 'bogus' }] }, /scenarios\[0\]\.workload/],
    [{ scenarios: [{ name: 'a', tls: 'yes' }] }, /scenarios\.0\.tls/],
    [{ scenarios: [{ name: 'a', baseline: 1 }] }, /scenarios\.0\.baseline/],
    [{ scenarios: [{ name: 'a', generators: 0 }] }, /scenarios\[0\]\.generators/],
    [{ scenarios: [{ name: 'a', generators: 1.5 }] }, /scenarios\[0\]\.generators/],
    [{ scenarios: [{ name: 'a', server: { heartbeatMs: 1 } }] }, /scenarios\[0\]\.server\.heartbeatMs/],
    [{ scenarios: [{ name: 'a', server: { bogusMs: 1 } }] }, /scenarios\.0\.server\.bogusMs/],
    [{ scenarios: [{ name: 'a', autocannon: { connections: 0, durationS: 5 } }] }, /autocannon\.connections/],
    [{ scenarios: [{ name: 'a', autocannon: { connections: 10 } }] }, /autocannon\.durationS/],
    [{ scenarios: [{ name: 'a', lifecycle: { connections: 0 } }] }, /lifecycle\.connections/],
    [
      { scenarios: [{ name: 'a', lifecycle: { connections: 5, pollsPerConnection: 1.5 } }] },
      /lifecycle\.pollsPerConnection/,
    ],
    [{ scenarios: [{ name: 'a', capacity: { maxSteps: 0 } }] }, /capacity\.maxSteps/],
    [{ scenarios: [{ name: 'a', capacity: { minDeliveryRatio: 2 } }] }, /capacity\.minDeliveryRatio/],
    [{ scenarios: [{ name: 'a', capacity: { step: 'sideways' } }] }, /capacity\.step/],
    [{ scenarios: [{ name: 'a', capacity: { clients: 0 } }] }, /capacity\.clients/],
    [{ scenarios: [{ name: 'a', capacity: { transports: ['bogus'] } }] }, /capacity\.transports\[0\]/],
    [{ scenarios: [{ name: 'a', capacity: { serverCpu: 0 } }] }, /capacity\.serverCpu/],
    [{ scenarios: [{ name: 'a', params: { clients: [] } }] }, /params\.clients/],
    [{ scenarios: [{ name: 'a', params: { clients: 'many' } }] }, /params\.clients/],
    [{ scenarios: [{ name: 'a', params: { writePolicy: 'bogus' } }] }, /params\.writePolicy/],
    [{ scenarios: [{ name: 'a', params: { clientz: 10 } }] }, /params\.clientz: unknown field/],
    [{ defaults: { tickHz: 0 }, scenarios: [{ name: 'a' }] }, /defaults\.tickHz/],
    // the sweep and the load, bounded before anything is expanded
    [
      {
        scenarios: [
          {
            name: 'huge',
            params: {
              clients: Array.from({ length: 100 }, (_, i) => i + 1),
              tickHz: Array.from({ length: 100 }, (_, i) => i + 1),
              payloadBytes: Array.from({ length: 100 }, (_, i) => 100 + i),
              symbols: Array.from({ length: 100 }, (_, i) => i + 1),
            },
          },
        ],
      },
      /scenarios\[0\]\.params clients, tickHz, payloadBytes, symbols: plans 400,000,000 runs/,
    ],
    [
      {
        scenarios: [
          { name: 'long', params: { durationS: 3600, seed: Array.from({ length: 200 }, (_, i) => i) } },
        ],
      },
      /params seed: plans at least .* days/,
    ],
    [
      { scenarios: [{ name: 'a', params: { tickHz: 100, updatesPerTick: 1000, payloadBytes: 1048576 } }] },
      /params\.tickHz x .*params\.updatesPerTick x .*params\.payloadBytes/,
    ],
  ]
  for (const [i, [config, re]] of configs.entries()) {
    const path = join(DIR, `config-${i}.json`)
    writeFileSync(path, JSON.stringify(config))
    add('bench', ['--config', path, '--out', OUT_DIR], re, OUT_DIR)
  }
  const big = join(DIR, 'config-big.json')
  writeFileSync(big, `{"scenarios":[{"name":"a"}],"description":"${'x'.repeat(PLAN_LIMITS.configBytes)}"}`)
  add('bench', ['--config', big, '--out', OUT_DIR], /--config.*above the limit/, OUT_DIR)
  for (const [file] of badResults.slice(0, 5))
    add('bench', ['--config', file, '--out', OUT_DIR], /--config/, OUT_DIR)
  return c
}

/** Cases that legitimately end otherwise, with why (the tally lists them). */
const NOT_EXIT_2 = new Map<string, { status: number; why: string }>([
  [
    `advise ${[...ADVISE.slice(0, -1), FILES.missing].join(' ')}`,
    {
      status: 1,
      why: 'a --from path that is not there is a note (the default, results/, may not exist yet); with --no-run, no evidence is exit 1 as advise documents',
    },
  ],
])

test('every subcommand refuses bad input with exit 2, the flag named, no stack trace, nothing written', async (t) => {
  const all = cases()
  const ran = await pool(
    all.map((c) => () => runCliAsync(c.sub, c.args, 20_000)),
    4,
  )
  const problems: string[] = []
  const other: string[] = []
  let exit2 = 0
  all.forEach((c, i) => {
    const r = ran[i] as Exit
    const label = `${c.sub} ${c.args.map((a) => (a === '' ? "''" : a)).join(' ')}`
    const known = NOT_EXIT_2.get(label)
    if (r.status === 2) exit2++
    else if (known && known.status === r.status) other.push(`${label}: exit ${r.status} (${known.why})`)
    if (r.status !== 2 && !(known && known.status === r.status))
      problems.push(
        `${label}: exit ${r.status ?? r.signal}${r.timedOut ? ' (killed after 20 s: it started a load)' : ''}\n  ${r.stderr.trim().split('\n').slice(0, 3).join('\n  ')}`,
      )
    else if (!c.names.test(r.stderr))
      problems.push(`${label}: message does not name ${c.names}: ${r.stderr.trim()}`)
    if (STACK_LINE.test(r.stderr)) problems.push(`${label}: a stack trace in stderr:\n${r.stderr}`)
    if (r.status === 2 && r.stdout.trim() !== '') problems.push(`${label}: stdout on bad input: ${r.stdout}`)
    for (const p of [c.notCreated, OUT_FILE, OUT_DIR])
      if (p && existsSync(p)) problems.push(`${label}: created ${p}`)
  })
  t.diagnostic(`${all.length} bad inputs tried, ${exit2} exit 2`)
  for (const o of other) t.diagnostic(`not exit 2, legitimately: ${o}`)
  assert.deepEqual(problems, [], `${problems.length} of ${all.length} bad inputs:\n${problems.join('\n')}`)
  assert.ok(all.length >= 250, `a broad table (${all.length} cases)`)
})
