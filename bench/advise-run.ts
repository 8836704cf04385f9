/**
 * The focused run of `pushbench advise`, for a question no results file is near: the four transports at
 * the question's params, clamped to what this 2-core machine measures with the generator keeping its
 * headroom (DESIGN.md, "Facts"), in a short window. It runs as `pushbench bench --config FILE` does, in
 * a child process of exactly that command, so that its results file is made the way every other is and
 * its progress and summary go to stderr, leaving stdout to advise's answer (--json stays parseable).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PbError } from '../lib/errors.ts'
import { defaultTransports } from '../lib/transports.ts'
import { formatCount, sig3 } from '../report/format.ts'
import type { ConfigInput } from './config.ts'

/** The question, in the terms of a scenario. */
export interface FocusedQuestion {
  clients: number
  ratePerS: number
  payloadBytes: number
  pollIntervalMs: number
}

/**
 * Limits of a focused run here. 1,000 clients at 10 ticks/s is the quick profile, where long polling (an
 * answer per tick per client) took half the server's core; 100 ticks/s at 1,000 clients saturated every
 * transport's server: so at most 10,000 writes a second (clients x ticks/s), and as many polls. The lean
 * generator used a fifth of its core at 300k delivered updates/s (WebSocket), long polling's half at 600k.
 */
export const FOCUSED_LIMITS = Object.freeze({
  clients: 1_000,
  writesPerS: 10_000,
  pollsPerS: 10_000,
  deliveredPerS: 300_000,
  bytesPerS: 256 * 2 ** 20,
  durationS: 3,
  warmupS: 1,
})

export interface FocusedPlan {
  config: ConfigInput
  /** the params run, and each clamp as `clients 10,000 -> 1,000` */
  params: {
    clients: number
    tickHz: number
    updatesPerTick: number
    payloadBytes: number
    pollIntervalMs: number
  }
  clamped: string[]
}

/** The config file of the focused run for `q`. */
export function focusedPlan(q: FocusedQuestion): FocusedPlan {
  const L = FOCUSED_LIMITS
  const clamped: string[] = []
  const clamp = (what: string, from: number, to: number, unit: string) => {
    if (to !== from) clamped.push(`${what} ${num(from)} -> ${num(to)}${unit}`)
    return to
  }
  const clients = clamp('clients', q.clients, Math.min(q.clients, L.clients), '')
  const rate = clamp('updates/s', q.ratePerS, Math.min(q.ratePerS, L.deliveredPerS / clients), '')
  // each update its own tick, as advise models the question, while the writes a second allow it
  const maxTickHz = Math.min(1_000, L.writesPerS / clients)
  const updatesPerTick = rate <= maxTickHz ? 1 : Math.ceil(rate / maxTickHz)
  const tickHz = rate / updatesPerTick
  if (updatesPerTick > 1)
    clamped.push(
      `${num(rate)} updates/s sent as ${num(tickHz)} ticks/s of ${updatesPerTick} (writes a second)`,
    )
  const maxPayload = Math.floor(L.bytesPerS / (clients * rate))
  const payloadBytes = clamp(
    'payload',
    q.payloadBytes,
    Math.max(76, Math.min(q.payloadBytes, maxPayload)),
    ' B',
  )
  const minInterval = Math.ceil((clients * 1000) / L.pollsPerS)
  const pollIntervalMs = clamp(
    'poll interval',
    q.pollIntervalMs,
    Math.max(q.pollIntervalMs, minInterval, 10),
    ' ms',
  )
  const params = { clients, tickHz, updatesPerTick, payloadBytes, pollIntervalMs }
  const config: ConfigInput = {
    description: 'pushbench advise: the four transports near the question, in a short window',
    defaults: {
      ...params,
      durationS: L.durationS,
      warmupS: L.warmupS,
      maxWarmupS: 0,
      writePolicy: 'per-tick',
      seed: 1,
    },
    scenarios: [{ name: 'advise', transports: defaultTransports() }],
  }
  return { config, params, clamped }
}

const num = (n: number): string => (n >= 1000 ? formatCount(n) : sig3(n))

const BIN = fileURLToPath(new URL('../bin/pushbench.js', import.meta.url))

/**
 * Runs `pushbench bench --config <plan> --out <outDir> --no-charts --no-report` in a child, its output on
 * this process's stderr; resolves to the results file it wrote. A transport that failed still leaves a
 * file (exit 1): its row is errored and advise says so. Interrupted (exit 130): rejects, so advise stops.
 */
export async function runFocused(plan: FocusedPlan, outDir: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-advise-'))
  // the bench names its results file after the config file: <outDir>/advise-<stamp>-<hex>.json
  const configPath = join(dir, 'advise.json')
  writeFileSync(configPath, `${JSON.stringify(plan.config, null, 2)}\n`)
  // Ctrl-C reaches the child too (same process group): it closes its window, writes what it measured and
  // exits 130; this process waits for that instead of dying first and leaving it a closed pipe
  const waitForChild = () => {}
  process.on('SIGINT', waitForChild)
  try {
    const args = [BIN, 'bench', '--config', configPath, '--out', outDir, '--no-charts', '--no-report']
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      process.stderr.write(d)
    })
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (c) => resolve(c))
    })
    const path = /^results: (.+\.json)$/m.exec(out)?.[1]
    if (code === 130) throw new PbError('PB_ERR_INTERRUPTED', 'the focused run was interrupted')
    if (path === undefined || (code !== 0 && code !== 1))
      throw new PbError('PB_ERR_ADVISE_RUN', `the focused run failed (pushbench bench exited ${code})`)
    return path
  } finally {
    process.off('SIGINT', waitForChild)
    rmSync(dir, { recursive: true, force: true })
  }
}
