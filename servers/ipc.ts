/**
 * Messages between a server process and its parent (node IPC, JSON); the read-only ones also over HTTP,
 * to a server started with `--control` (servers/control.ts).
 */
import type { CounterSnapshot } from './counters.ts'

export type ServerRequest =
  /** `atMs`: taken at the first tick boundary at or after it (see servers/tick-aligned.ts) */
  | { id: number; type: 'counters'; atMs?: number }
  /** restart the RSS peak and return counters: the start of a window */
  | { id: number; type: 'mark'; atMs?: number }
  /** updates whose publish instant is in [fromMs, toMs) */
  | { id: number; type: 'published'; fromMs: number; toMs: number }
  | { id: number; type: 'set-rate'; tickHz: number; updatesPerTick: number }
  /** RSS after a full GC (when the process runs with --expose-gc), and the connections held then */
  | { id: number; type: 'memory' }
  /** the ready line the server printed (the control endpoint's way to learn it, servers/control.ts) */
  | { id: number; type: 'ready' }
  /** cut every connection at once, as a network fault would (the reconnect storm, load/fault-run.ts) */
  | { id: number; type: 'drop-all' }

export type ServerReply =
  | { id: number; type: 'counters'; counters: CounterSnapshot }
  /** messages published in the window, per stream */
  | { id: number; type: 'published'; perStream: number[]; lastSeq: number }
  | { id: number; type: 'ok' }
  | { id: number; type: 'memory'; rssBytes: number; connections: number; gc: boolean }
  | { id: number; type: 'ready'; ready: ReadyLine }
  /** connections cut by a `drop-all`, and when (epoch ms, taken right before the first cut) */
  | { id: number; type: 'dropped'; connections: number; atMs: number }
  | { id: number; type: 'error'; message: string }

/** The one line a server prints on stdout when it listens. */
export interface ReadyLine {
  event: 'ready'
  transport: string
  host: string
  port: number
  url: string
  pid: number
  /** what the server sends a held connection with nothing to say, ms (servers/options.ts) */
  intervals?: { heartbeatMs: number; pingIntervalMs: number; longPollTimeoutMs: number }
  /** what it publishes, as it was started: a shard against a remote server checks its own params against it */
  publishes?: {
    workload: string
    seed: number
    symbols: number
    tickHz: number
    updatesPerTick: number
    payloadBytes: number
    writePolicy: string
    /** chat workload: its rooms */
    rooms?: number
  }
}
