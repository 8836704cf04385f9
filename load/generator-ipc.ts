/** Messages between the orchestrator and a generator process (node IPC, JSON). */
import type { ScenarioParams } from '../lib/params.ts'
import type { Latency } from '../lib/results-schema.ts'
import type { Transport } from '../lib/transports.ts'
import type { ChatReport } from './chat/driver.ts'
import type { SourcePlan } from './source-addresses.ts'

export interface RampOptions {
  /** clients connected per batch */
  batch: number
  /** pause between batches, ms */
  pauseMs: number
}

export type GeneratorRequest =
  | {
      type: 'start'
      transport: Transport
      workload: string
      /** which client measures (lib/transports.ts `clients`); a transport without a lean one uses its library one */
      client: ClientKind
      /** lean clients parse every Nth update in full */
      verifyEvery: number
      base: string
      /** TLS (`base` is https): the server's self-signed certificate (PEM), the one the clients trust */
      ca?: string | undefined
      params: ScenarioParams
      ramp: RampOptions
      /** clients this process runs: indexes firstClient .. firstClient + clients - 1 of totalClients */
      clients: number
      /** default 0 and `clients`: one generator runs them all */
      firstClient?: number
      totalClients?: number
      /** where client sockets come from (load/source-addresses.ts), by global client index */
      sources?: SourcePlan | undefined
      /**
       * server clock minus this host's, ms (load/clock-offset.ts), added to every instant this process
       * takes: receive instants and window edges are then on the server's clock
       */
      clockOffsetMs?: number | undefined
    }
  /** a measured window, reported drainMs after its end; after the `last` one the clients stop */
  | { type: 'window'; startMs: number; endMs: number; drainMs: number; last: boolean }
  /**
   * finish early (interrupt): the window closes at `endMs` (default: now), updates published before it
   * that arrive within `drainMs` after it still count, then what was measured is reported
   */
  | { type: 'stop'; endMs?: number; drainMs?: number }

/**
 * What measures: raw sockets and byte scans (`lean`), what an application would use (`library`), or
 * pages in headless Chromium using the browser's own APIs (`browser`).
 */
export type ClientKind = 'lean' | 'library' | 'browser'

export interface GeneratorReport {
  /** the client kind that ran */
  client: ClientKind
  clients: number
  latency: Latency
  scheduleLag: Latency | undefined
  delivered: number
  duplicates: number
  outOfOrder: number
  /**
   * resume gaps (load/delivery.ts): signals received, seqs they declared lost, resumes refused as past
   * the server's newest seq; absent from a generator that predates them
   */
  gaps?: { signals: number; seqs: number; resumeRefused: number }
  /** fewest in-window updates one client got (a starved client shows here) */
  minDeliveredPerClient: number
  requests: number
  errors: number
  reconnects: number
  /** updates parsed in full and checked (lean clients' sample) */
  verified: number
  /** updates whose bytes were not an update (counted in errors too) */
  corrupt: number
  lastError: string | undefined
  /** the generator's own socket bytes over the window: an independent tally of the wire */
  clientBytes: { read: number; written: number }
  /** the generator's CPU over the window; with browser clients, Chromium's processes included */
  cpuUserUs: number
  cpuSystemUs: number
  /** processes whose CPU that is: 1, or 1 + Chromium's */
  processes: number
  /** browser clients: the largest |page clock - generator clock| seen, and the uncertainty of reading it, ms */
  clockOffset?: { ms: number; uncertaintyMs: number } | undefined
  /** browser clients: WebSocket close codes the pages saw, with how often */
  closeCodes?: Record<string, number> | undefined
  windowMs: number
  cpuPercent: number
  eventLoopUtilization: number
  /** stopped before the window ended */
  partial: boolean
  /** `delivered` by slice of load/delivery.ts's SLICE_MS from the window's start */
  deliveredBySlice?: number[] | undefined
  /** the chat workload: what this process's senders sent in the window (load/chat/driver.ts) */
  chat?: ChatReport | undefined
}

export type GeneratorMessage =
  /** `note`: what the ramp waits on, when it is not connections */
  | { type: 'progress'; connected: number; total: number; note?: string }
  | {
      type: 'connected'
      connected: number
      failed: number
      /** connected clients per stream: what a window expects is published[s] x subscribers[s], summed */
      subscribers: number[]
      ms: number
      lastError: string | undefined
      /** this process's RSS after a full GC before its first client and after the ramp (when it has gc) */
      idleRssBytes?: number | undefined
      rampRssBytes?: number | undefined
    }
  | { type: 'result'; report: GeneratorReport }
  | { type: 'error'; message: string }
