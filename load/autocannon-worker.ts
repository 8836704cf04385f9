/**
 * autocannon in its own (pinned) process, against the poll endpoint: every connection polls as fast
 * as it can, following `since` like a real client (state kept in a closure made in setupClient,
 * since autocannon resets the per-request context). Prints one JSON line with the result.
 *   node --import tsx load/autocannon-worker.ts '{"url":"http://127.0.0.1:PORT","connections":50,"durationS":5}'
 */
import autocannon from 'autocannon'

interface WorkerInput {
  url: string
  /** the polled transport's path */
  path: string
  connections: number
  durationS: number
  /** https: the server's certificate (PEM); autocannon 9 does not verify it (rejectUnauthorized: false) */
  ca?: string
}

const input = JSON.parse(process.argv[2] ?? '{}') as WorkerInput
let ok200 = 0
let ok204 = 0

// biome-ignore lint/suspicious/noExplicitAny: autocannon's Client type is not exported by its typings
function setupClient(client: any): void {
  let since: number | undefined
  let tail = ''
  client.on('headers', (h: { statusCode: number; headers: string[] }) => {
    if (h.statusCode === 204) {
      ok204++
      const i = h.headers.findIndex((x, n) => n % 2 === 0 && x.toLowerCase() === 'pb-seq')
      if (i >= 0 && since === undefined) since = Number(h.headers[i + 1])
    } else if (h.statusCode === 200) ok200++
    tail = ''
  })
  client.on('body', (b: Buffer) => {
    tail = (tail + b.toString('latin1')).slice(-4096)
  })
  client.on('response', () => {
    const at = tail.lastIndexOf('"seq":')
    if (at >= 0) since = Number.parseInt(tail.slice(at + 6, at + 26), 10)
    // setRequests, not setRequest: autocannon moves back to its request list before every request
    if (since !== undefined) client.setRequests([{ method: 'GET', path: `${input.path}?since=${since}` }])
  })
}

// the parent takes the server's counters on this line: the window is the run, not this process's start-up
process.stdout.write('{"event":"start"}\n')
const cpu0 = process.cpuUsage()
const t0 = performance.now()
const run = autocannon({
  url: `${input.url}${input.path}`,
  connections: input.connections,
  duration: input.durationS,
  setupClient,
  // an address is no server name (RFC 6066): SNI says localhost, which the run's certificate names
  ...(input.ca === undefined ? {} : { tlsOptions: { ca: input.ca }, servername: 'localhost' }),
} as autocannon.Options) as Promise<autocannon.Result> & { stop(): void }
// an interrupt (the run's SIGTERM): autocannon stops on its next 1 s tick and resolves with what it has
// (the parent kills this process if that takes too long); the terminal's Ctrl-C is the run's to handle
let stopping = false
process.on('SIGTERM', () => {
  stopping = true
  run.stop()
})
process.on('SIGINT', () => {})
// never outlive the run
process.on('disconnect', () => {
  if (!stopping) process.exit(1)
})
const r = await run
const cpu = process.cpuUsage(cpu0)
const ms = performance.now() - t0
process.stdout.write(
  `${JSON.stringify({
    requestsPerSecond: r.requests.average,
    latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max, mean: r.latency.mean },
    bytesReadPerSecond: r.throughput.average,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    ok200,
    ok204,
    generatorCpuPercent: ((cpu.user + cpu.system) / 1000 / ms) * 100,
    durationS: ms / 1000,
  })}\n`,
)
// the result is out: the channel closing is no longer a reason to fail
stopping = true
process.disconnect?.()
