/**
 * Notices the moment a child of a run dies: every process a session starts is watched from its spawn,
 * and its exit (unless the run stopped it, or it was due to leave) aborts `signal` at once, with the
 * reason naming which process died, how (exit code or signal) and when. Waits that race this signal end
 * then, not at their own timeouts (a dead server used to be noticed only after the planned window).
 */
import { nowMs } from '../lib/clock.ts'
import { PbError } from '../lib/errors.ts'
import { type Child, howExited, stoppingEverything } from './children.ts'

export interface Death {
  child: Child
  label: string
  pid: number | undefined
  /** `killed by SIGKILL`, `exit code 1` */
  how: string
  /** when the run noticed, ms on lib/clock.ts's clock */
  atMs: number
  /** the PbError that says all of it */
  error: PbError
}

export class ChildWatch {
  private readonly ac = new AbortController()
  private readonly leaving = new Set<Child>()
  private closing = false
  /** the first child that died unexpectedly */
  died: Death | undefined
  /** aborted (reason: the death's PbError) when a watched child dies unexpectedly */
  readonly signal = this.ac.signal

  /** Watches `child` from now on; returns it. */
  add(child: Child): Child {
    void child.exited.then(({ code, signal }) => {
      if (this.closing || this.leaving.has(child) || this.died || stoppingEverything()) return
      const how = howExited(code, signal)
      const err = child.stderr().split('\n').slice(-3).join(' | ')
      const error = new PbError(
        'PB_ERR_CHILD_DIED',
        `${child.label} (pid ${child.proc.pid}) died: ${how}${err ? `; its last stderr: ${err}` : ''}`,
      )
      this.died = { child, label: child.label, pid: child.proc.pid, how, atMs: nowMs(), error }
      this.ac.abort(error)
    })
    return child
  }

  /** `child` may exit from now on without that being a death (a generator after its last report). */
  expect(child: Child): void {
    this.leaving.add(child)
  }

  /** The run is stopping its children: no exit from now on is a death. */
  close(): void {
    this.closing = true
  }
}

/**
 * `p`, or a rejection as soon as `signal` aborts: with the signal's reason when that is an Error (a
 * child's death), else with `onAbort()` (an interrupt).
 */
export function unlessAborted<T>(p: Promise<T>, signal: AbortSignal, onAbort: () => Error): Promise<T> {
  if (signal.aborted) {
    p.catch(() => {})
    return Promise.reject(signal.reason instanceof Error ? signal.reason : onAbort())
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      p.catch(() => {})
      reject(signal.reason instanceof Error ? signal.reason : onAbort())
    }
    signal.addEventListener('abort', abort, { once: true })
    p.then(
      (v) => {
        signal.removeEventListener('abort', abort)
        resolve(v)
      },
      (e) => {
        signal.removeEventListener('abort', abort)
        reject(e)
      },
    )
  })
}
