/**
 * The lifecycle probe (load/lifecycle-probe.ts) as a process, so that the orchestrator can run it where the
 * clients run (in wire mode: inside the client's network namespace, where the kernel's TIME_WAIT table and
 * the veth counters are that side's). Started as `node --import tsx load/lifecycle-process.ts` with an IPC
 * channel: it takes one `{ type: 'lifecycle', ... }` (LifecycleRequest), answers one
 * `{ type: 'lifecycle-result', ... }` or `{ type: 'error', message }` (LifecycleReply), then exits.
 */
import { type LifecycleReply, type LifecycleRequest, runLifecycle } from './lifecycle-probe.ts'

let started = false
let finished = false

function reply(m: LifecycleReply): void {
  finished = true
  if (process.send === undefined) process.exit(m.type === 'error' ? 1 : 0)
  process.send(m, () => {
    process.disconnect?.()
    setTimeout(() => process.exit(0), 100).unref()
  })
}

process.on('message', (m: LifecycleRequest) => {
  if (started) return
  if (m === null || typeof m !== 'object' || m.type !== 'lifecycle') {
    reply({ type: 'error', message: `expected a { type: 'lifecycle' } request, got ${JSON.stringify(m)}` })
    return
  }
  started = true
  const { type: _type, ...options } = m
  runLifecycle(options).then(
    (result) => reply({ type: 'lifecycle-result', ...result }),
    (err: Error) => reply({ type: 'error', message: err.message }),
  )
})

// never outlive the orchestrator
process.on('disconnect', () => {
  if (!finished) process.exit(1)
})
// the orchestrator handles Ctrl-C for every process of the run
process.on('SIGINT', () => {})
process.on('SIGTERM', () => process.exit(1))
