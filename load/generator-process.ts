/**
 * The generator as a process: started by the run (load/session.ts) as
 * `node --import tsx load/generator-process.ts` with an IPC channel, pinned to its own core. It never
 * outlives the run, and leaves Ctrl-C to it.
 */

import { setClockOffset } from '../lib/clock.ts'
import { Generator } from './generator.ts'
import type { GeneratorMessage, GeneratorRequest } from './generator-ipc.ts'

const generator = new Generator((m: GeneratorMessage, last: boolean) => {
  if (!last) {
    process.send?.(m)
    return
  }
  // let the final report go, then leave (the clients' sockets are closing)
  process.send?.(m, () => {
    setTimeout(() => process.exit(0), 200).unref()
    process.disconnect?.()
  })
})

process.on('message', (m: GeneratorRequest) => {
  switch (m.type) {
    case 'start':
      if (m.clockOffsetMs !== undefined) setClockOffset(m.clockOffsetMs)
      generator.start(m).catch((err: Error) => process.send?.({ type: 'error', message: err.message }))
      return
    case 'window':
      generator.openWindow(m)
      return
    case 'stop':
      generator.stop(m.endMs, m.drainMs)
      return
  }
})

// never outlive the run
process.on('disconnect', () => {
  if (!generator.finished) process.exit(1)
})
// the run handles Ctrl-C for every process of it
process.on('SIGINT', () => {})
process.on('SIGTERM', () => process.exit(1))
