/** Messages between a server process and its parent (node IPC, JSON). */
import type { CounterSnapshot } from './counters.ts'

export type ServerRequest =
  | { id: number; type: 'counters' }
  /** restart the RSS peak and return counters: the start of a window */
  | { id: number; type: 'mark' }
  /** updates whose publish instant is in [fromMs, toMs) */
  | { id: number; type: 'published'; fromMs: number; toMs: number }
  | { id: number; type: 'set-rate'; tickHz: number; updatesPerTick: number }

export type ServerReply =
  | { id: number; type: 'counters'; counters: CounterSnapshot }
  | { id: number; type: 'published'; count: number; lastSeq: number }
  | { id: number; type: 'ok' }
  | { id: number; type: 'error'; message: string }

/** The one line a server prints on stdout when it listens. */
export interface ReadyLine {
  event: 'ready'
  transport: string
  host: string
  port: number
  url: string
  pid: number
}
