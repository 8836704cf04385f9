/**
 * The workload registry: what the server publishes and what each client must receive. A workload has
 * streams (each with its own sequence: resume, gaps and duplicates are per stream), a server side that
 * publishes them (servers/feed.ts `Source`), and a rule for which stream each client subscribes to.
 * Transports never look inside a message: they frame and deliver the bytes of the stream asked for.
 * The ticker is one global stream; a chat adds one stream per room and clients that also send.
 */
import type { Source } from '../servers/feed.ts'
import type { ServerOptions } from '../servers/options.ts'
import { PbError } from './errors.ts'
import type { ScenarioParams } from './params.ts'

export interface WorkloadEntry {
  readonly label: string
  /** streams the server publishes for these params */
  streams(p: Readonly<ScenarioParams>): number
  /** the stream that client `index` (0-based) subscribes to */
  streamOf(index: number, p: Readonly<ScenarioParams>): number
  /** the server side, made from the server's options */
  readonly source: () => Promise<(o: Readonly<ServerOptions>) => Source>
}

const BUILTIN = {
  ticker: {
    label: 'ticker (one stream, one-way)',
    streams: () => 1,
    streamOf: () => 0,
    source: async () => {
      const { Ticker } = await import('../servers/ticker.ts')
      return (o) => new Ticker(o)
    },
  },
  idle: {
    label: 'idle (connections held, nothing published: heartbeats, pings and empty polls only)',
    streams: () => 1,
    streamOf: () => 0,
    source: async () => {
      const { Ticker } = await import('../servers/ticker.ts')
      return (o) => new Ticker(o, true)
    },
  },
  chat: {
    label: 'chat (R rooms, each client sends and receives its room)',
    streams: (p) => p.rooms,
    streamOf: (i, p) => i % p.rooms,
    source: async () => {
      const { ChatRooms } = await import('../servers/chat.ts')
      return (o) => ChatRooms.fromServerOptions(o)
    },
  },
} as const satisfies Record<string, WorkloadEntry>

export type Workload = keyof typeof BUILTIN

export const WORKLOADS = Object.keys(BUILTIN) as Workload[]

export const DEFAULT_WORKLOAD: Workload = 'ticker'

/** A workload that publishes nothing: a run of it measures what held connections cost (DESIGN.md, idle cost). */
export const publishesNothing = (name: string | undefined): boolean => name === 'idle'

/** A workload whose clients send (load/chat/): a server of it takes `POST /send` and has a ChatInbox. */
export const isTwoWay = (name: string | undefined): boolean => name === 'chat'

/**
 * The params a results file carries for a scenario of this workload: the chat's own (rooms, sendHz) only
 * for the chat, so that a ticker's results read as they always did.
 */
export function resultParams<P extends { rooms?: number; sendHz?: number }>(
  p: P,
  name: string | undefined,
): P {
  if (isTwoWay(name)) return p
  const { rooms: _r, sendHz: _s, ...rest } = p
  return rest as P
}

export function workload(name: string): WorkloadEntry {
  const entry = (BUILTIN as Record<string, WorkloadEntry>)[name]
  if (!entry)
    throw new PbError(
      'PB_ERR_WORKLOAD',
      `no workload ${JSON.stringify(name)}; there are: ${WORKLOADS.join(', ')}`,
    )
  return entry
}
