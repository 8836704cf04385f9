/**
 * The single-run contract behind `pushbench run`: one transport, one scenario, one results file.
 * The flags are parsed and checked by scripts/run.ts; this runs, writes and reports.
 */

import { PbError, PbOptionError } from '../lib/errors.ts'
import type { ScenarioParams } from '../lib/params.ts'
import { newResultsFile } from '../lib/results-file.ts'
import { writeResults } from '../lib/results-io.ts'
import type { RunResult } from '../lib/results-schema.ts'
import type { Transport } from '../lib/transports.ts'
import { resultParams } from '../lib/workloads.ts'
import { abortOnInterrupt, canPin, interruptedBy } from './children.ts'
import type { ClientKind, RampOptions } from './generator-ipc.ts'
import { runOne } from './session.ts'

export interface SingleRunOptions {
  transport: Transport
  /** lib/workloads.ts */
  workload: string
  client: ClientKind
  verifyEvery: number
  /** checked already (resolveParams) */
  params: Readonly<ScenarioParams>
  server: 'pushbench' | 'baseline'
  /** results file to write (default results/<runId>.json) */
  out?: string | undefined
  pin: boolean
  ramp: RampOptions
  perMessageDeflate: boolean
  /** more server flags (checked already): the idle intervals, lib/params.ts serverIntervalArgs */
  serverArgs?: string[] | undefined
  /** server CPU quota, cores (checked already) */
  serverCpu?: number | undefined
  /** wire mode (`--wire`, `--link-mbit`; checked already): two namespaces and a veth pair, lib/netns.ts */
  wire?: { linkMbit?: number | undefined } | undefined
  /** `--tls`: https and wss with a certificate made for the run (checked already: not with browser clients) */
  tls?: boolean | undefined
  /** no progress on stderr */
  quiet: boolean
  /** generator processes (`--generators`) */
  generators?: number | undefined
  /** a server on another host, this run's shard of it, when the window opens, how clocks are related */
  target?: string | undefined
  shard?: { index: number; count: number } | undefined
  startAtMs?: number | undefined
  clockMode?: 'estimated' | 'synchronised' | undefined
}

/**
 * Measures one run and writes its results file, even when it failed or was interrupted (then marked
 * partial). Progress goes to stderr, the results path to stdout. Returns the exit code: 0 done, 1 the
 * run failed, 130 interrupted (a second SIGINT stops the children and exits 130 at once).
 */
export async function singleRun(o: SingleRunOptions): Promise<number> {
  const { transport, params } = o
  const file = newResultsFile('single', o.pin && canPin())
  const out = o.out ?? `results/${file.runId}.json`
  let written = false
  // a second signal exits at once: it says whether the file is there
  const signal = abortOnInterrupt({
    onDisk: () =>
      written
        ? `results: ${out} (written)`
        : `results: ${out} not written (the run was stopped before its end)`,
  })

  const t0 = Date.now()
  const log = (s: string) => {
    if (!o.quiet) process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${s}\n`)
  }
  let result: RunResult
  /** a child died before anything of the window could be kept */
  let dead = false
  try {
    result = await runOne({
      transport,
      workload: o.workload,
      client: o.client,
      verifyEvery: o.verifyEvery,
      params,
      server: o.server,
      pin: o.pin,
      ramp: o.ramp,
      serverArgs: [...(o.perMessageDeflate ? ['--per-message-deflate'] : []), ...(o.serverArgs ?? [])],
      serverCpu: o.serverCpu,
      wire: o.wire,
      tls: o.tls,
      generators: o.generators,
      target: o.target,
      shard: o.shard,
      startAtMs: o.startAtMs,
      clockMode: o.clockMode,
      signal,
      onPhase: (phase, detail) => log(`${transport}: ${phase}${detail ? ` (${detail})` : ''}`),
    })
  } catch (err) {
    // bad input (a limit the host cannot give): exit 2 with nothing started, not a failed run
    if (!(err instanceof PbError) || err instanceof PbOptionError) throw err
    dead = err.code === 'PB_ERR_CHILD_DIED'
    result = {
      state: 'errored',
      transport,
      server: o.server,
      ...(o.tls ? { tls: true } : {}),
      error: err.message,
    }
  }
  const name = `${transport} ${params.clients} clients ${params.tickHz * params.updatesPerTick}/s ${params.payloadBytes} B${o.tls ? ' over TLS' : ''}`
  file.scenarios.push({ name, params: resultParams(params, o.workload), results: [result] })
  file.finishedAt = new Date().toISOString()
  // a child that died, or an interrupt: what was measured is kept, and says why it is not all
  const why =
    result.state === 'errored' ? (signal.aborted || dead ? result.error : undefined) : result.partialReason
  if (signal.aborted || why !== undefined) {
    file.partial = true
    file.partialReason = why ?? `interrupted by ${interruptedBy(signal)}`
  }
  await writeResults(out, file)
  written = true
  if (result.state === 'errored') {
    process.stderr.write(`${transport}: failed: ${result.error}\n`)
  } else {
    if (result.state === 'partial' && !signal.aborted)
      process.stderr.write(
        `${transport}: failed: ${result.partialReason}; what was measured until then is kept, marked partial\n`,
      )
    const l = result.latencyMs
    log(
      `${transport}: p50 ${l.p50} ms, p99 ${l.p99} ms, delivered ${result.updates.delivered}/${result.updates.expected}, ` +
        `${result.bytes.perDeliveredUpdate} B/update (model ${result.bytes.modelPerUpdate}), server CPU ${result.serverCpu.percentOfCore}%`,
    )
    const c = result.clock
    if (c)
      log(
        `${transport}: clock ${c.source}, server minus this host ${c.offsetMs} ms +/- ${c.uncertaintyMs} ms${c.applied ? ' (applied)' : ' (measured, not applied)'}${c.latencyBelowUncertainty ? ': the latency is below that uncertainty and is not reported as a measurement' : ''}`,
      )
    const link = result.bytes.link
    if (link)
      log(
        `${transport}: link ${link.clientToServer} B in ${link.packetsClientToServer} packets client to server, ` +
          `${link.serverToClient} B in ${link.packetsServerToClient} packets server to client`,
      )
    for (const w of result.warnings ?? []) process.stderr.write(`warning: ${w}\n`)
  }
  process.stdout.write(`${out}\n`)
  return signal.aborted ? 130 : result.state !== 'completed' ? 1 : 0
}
