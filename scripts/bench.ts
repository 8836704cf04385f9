/**
 * `pushbench bench`: runs a profile (or a config file) of scenarios, every transport of each, and
 * writes one results file, PNG charts and an HTML report; prints a summary table.
 *   pushbench bench --profile quick|ci|full [--config FILE] [--transports sse,websocket] [--out DIR]
 * Flags only: the plan is bench/config.ts, the run bench/run-profile.ts.
 */
import { basename, extname } from 'node:path'
import { Option } from 'commander'
import { loadConfig, PROFILES, type Profile, planScenarios, profilePath } from '../bench/config.ts'
import { runProfile } from '../bench/run-profile.ts'
import { fail, newCommand, numberIn, parseArgs, rangeText } from '../lib/cli.ts'
import { PbOptionError } from '../lib/errors.ts'
import { checkOutputDir } from '../lib/output-path.ts'
import { checkChoice, checkNumber, PARAM_RANGES } from '../lib/params.ts'
import { checkTlsClient } from '../lib/tls-cert.ts'
import { type Transport, transportNames } from '../lib/transports.ts'
import { stopAll } from '../load/children.ts'
import { checkBrowserRun } from '../load/chromium.ts'
import type { ClientKind } from '../load/generator-ipc.ts'
import { checkRttClient } from '../load/lean/delay-line.ts'
import { CLIENT_KINDS, DEFAULT_CLIENT } from '../load/session.ts'

const PROG = 'pushbench bench'

const cmd = newCommand(PROG, 'Measure short polling, long polling, SSE and WebSocket on the same ticker.')
  .addOption(
    new Option(
      '--profile <name>',
      'shipped profile (bench/profiles/<name>.json); default: quick, or browser with --client browser',
    ).choices(PROFILES),
  )
  .option(
    '--config <file>',
    'a scenarios file of your own (same format as bench/profiles/*.json); overrides --profile',
  )
  .option('--transports <list>', `comma-separated subset of ${transportNames().join(',')}`)
  .option('--scenario <names>', 'run only the scenarios of those names (comma-separated)')
  .option(
    '--seed <n>',
    `random-walk seed for every scenario (${rangeText(PARAM_RANGES.seed)})`,
    numberIn(PARAM_RANGES.seed),
  )
  .option('--out <dir>', 'folder for the results file, charts and report', 'results')
  .option('--no-charts', 'skip the PNG charts')
  .option('--no-report', 'skip the HTML report')
  .option('--no-pin', 'do not pin server and generator to separate cores')
  .addOption(
    new Option(
      '--client <kind>',
      'who measures: lean (the least work that measures), library (what an app would use) or browser (pages in headless Chromium; default profile then: browser)',
    )
      .choices(CLIENT_KINDS)
      .default(DEFAULT_CLIENT),
  )
  .option(
    '--tls',
    'every run over https and wss, with a self-signed certificate made per run (openssl) and removed after it (not with --client browser)',
    false,
  )
  .addHelpText(
    'after',
    `
Profiles: quick (default, ~1 min here: the four transports at 1,000 clients), ci (~1.5 min, small and stable),
browser (the default with --client browser, ~2.5 min: the four transports at 10 pages),
full (~37 min: sweeps of clients, rate, payload, poll interval, round-trip time; idle, TLS and connection lifecycle;
capacity with and without a CPU quota, generator cost, baselines; the two-way chat beside its one-way ticker twin),
faults (~4 min: server restarts, a reconnect storm, slow consumers, the server or generator killed; each transport).
Exit codes: 0 done, 1 a transport failed, 2 bad flag or config, 130 interrupted (what was measured is kept).`,
  )

interface Flags {
  profile?: Profile
  config?: string
  transports?: string
  scenario?: string
  seed?: number
  out: string
  charts: boolean
  report: boolean
  pin: boolean
  client: ClientKind
  tls: boolean
}

function parseTransports(list: string | undefined): Transport[] | undefined {
  if (list === undefined) return undefined
  const items = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (items.length === 0)
    throw new PbOptionError('--transports', `must list one or more of ${transportNames().join(', ')}`)
  return items.map((t) => checkChoice('--transports', t, transportNames()))
}

async function main(): Promise<void> {
  const f = parseArgs(cmd).opts<Flags>()
  checkTlsClient(f.tls, f.client)
  // pages cost a browser each: their own profile is sized for them
  const profileName: Profile = f.profile ?? (f.client === 'browser' ? 'browser' : 'quick')
  const transports = parseTransports(f.transports)
  const seed = f.seed === undefined ? undefined : checkNumber('--seed', f.seed, PARAM_RANGES.seed)
  const source = f.config ?? profilePath(profileName)
  const config = loadConfig(source, f.config ? '--config' : '--profile')
  const plan = planScenarios(config, f.config ?? `profile ${profileName}`, {
    transports,
    scenario: f.scenario,
    seed,
    client: f.client,
  })
  if (f.client === 'browser') {
    for (const sc of plan) {
      checkBrowserRun(sc.params.clients, `scenario ${sc.name}: clients`)
      if (sc.capacity) checkBrowserRun(sc.capacity.clients, `scenario ${sc.name}: capacity.clients`)
    }
  }
  for (const sc of plan) checkRttClient(sc.params.rttMs, f.client, `scenario ${sc.name}: rttMs`)
  // the results file is written after every run: a folder that cannot take it fails now, before any load
  checkOutputDir('--out', f.out)
  // a config file's run is named after the file: results/<name>-<stamp>.json
  const profile = f.config ? basename(f.config, extname(f.config)).replace(/[^\w.-]+/g, '-') : profileName
  process.exit(
    await runProfile({
      plan,
      profile,
      out: f.out,
      pin: f.pin,
      client: f.client,
      tls: f.tls,
      charts: f.charts,
      report: f.report,
    }),
  )
}

main().catch(async (err) => {
  await stopAll(500)
  fail(err, PROG)
})
