/**
 * The fault probe (load/fault-probe.ts) as a process, so that its clients run on their own core and a fault
 * scenario can kill it as it would kill a generator. Started as `node --import tsx load/fault-process.ts`
 * with an IPC channel; it answers id'd requests (FaultRequest: start, add-slow, status, finish) with id'd
 * replies (FaultReply), and exits after `finish`.
 */
import { FaultProbe, type FaultReply, type FaultRequest } from './fault-probe.ts'

const probe = new FaultProbe()
let finished = false

function reply(m: FaultReply, then: () => void = () => {}): void {
  if (!process.connected) return
  process.send?.(m, () => then())
}

async function handle(m: FaultRequest): Promise<FaultReply> {
  switch (m.type) {
    case 'start':
      return { id: m.id, type: 'started', ...(await probe.start(m)) }
    case 'add-slow':
      return { id: m.id, type: 'added', connected: await probe.addSlow(m.count, m.readBytesPerSecond) }
    case 'status':
      return { id: m.id, type: 'status', ...probe.status(m.sinceMs) }
    case 'finish':
      finished = true
      return { id: m.id, type: 'result', ...probe.finish(m) }
    default:
      throw new Error(`unknown request ${JSON.stringify((m as { type?: unknown }).type)}`)
  }
}

process.on('message', (m: FaultRequest) => {
  if (m === null || typeof m !== 'object' || typeof m.id !== 'number') return
  handle(m).then(
    (r) =>
      reply(r, () => {
        if (!finished) return
        process.disconnect?.()
        setTimeout(() => process.exit(0), 100).unref()
      }),
    (err: Error) => reply({ id: m.id, type: 'error', message: err.message }),
  )
})

// never outlive the orchestrator
process.on('disconnect', () => {
  probe.stop()
  process.exit(finished ? 0 : 1)
})
// the orchestrator handles Ctrl-C for every process of the run
process.on('SIGINT', () => {})
process.on('SIGTERM', () => {
  probe.stop()
  process.exit(1)
})
