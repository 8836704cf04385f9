/**
 * "One-way ticker against two-way chat": the chat scenario (lib/workloads.ts `chat`: each client sends to
 * its room and receives the room) set beside its ticker twin (the same clients, payload and delivered
 * messages a second per client, one-way), per transport, from a results file alone. A chat scenario is one
 * whose results are of workload `chat`; its twin is the scenario named `<chat name>-ticker-twin` (the full
 * profile's `chat` and `chat-ticker-twin`). Only completed runs of the suite's own servers count.
 */
import { type CompletedResult, isCompleted, type ResultsFile, type Scenario } from '../lib/results-schema.ts'
import { sig3 } from './format.ts'
import type { PlainTable } from './summary-table.ts'

export const TWIN_SUFFIX = '-ticker-twin'

export interface OneWayTwoWay extends PlainTable {
  /** the two scenarios' names */
  chat: string
  ticker: string
  /** what the two have in common, in words */
  conditions: string
}

const ownCompleted = (s: Scenario): CompletedResult[] =>
  s.results.filter(isCompleted).filter((r) => r.server !== 'baseline')

const isChat = (s: Scenario): boolean => ownCompleted(s).some((r) => r.workload === 'chat')

/** The pairs (chat scenario, its ticker twin) a results file holds. */
export function chatTwins(file: ResultsFile): { chat: Scenario; ticker: Scenario }[] {
  const out: { chat: Scenario; ticker: Scenario }[] = []
  for (const chat of file.scenarios.filter(isChat)) {
    const ticker = file.scenarios.find((s) => s.name === `${chat.name}${TWIN_SUFFIX}`)
    if (ticker && !isChat(ticker)) out.push({ chat, ticker })
  }
  return out
}

export const ONE_WAY_NUMERIC: readonly string[] = [
  'bytesT',
  'bytesC',
  'cpuT',
  'cpuC',
  'p50T',
  'p50C',
  'p99T',
  'p99C',
  'rtt50',
  'rtt99',
  'upT',
  'upC',
]

const ms = (n: number): string => sig3(n)
const perDelivered = (r: CompletedResult, n: number): number =>
  r.updates.delivered > 0 ? n / r.updates.delivered : 0

/** The table of one pair: a row per transport that ran in both. */
export function buildOneWayTwoWay(chat: Scenario, ticker: Scenario): OneWayTwoWay | undefined {
  const c = ownCompleted(chat)
  const t = ownCompleted(ticker)
  const rows: string[][] = []
  for (const rc of c) {
    const rt = t.find((r) => r.transport === rc.transport && r.client === rc.client)
    if (!rt) continue
    const rtt = rc.chat?.senderRttMs
    rows.push([
      rc.transport,
      sig3(rt.bytes.perDeliveredUpdate),
      sig3(rc.bytes.perDeliveredUpdate),
      sig3(rt.serverCpu.usPerDeliveredUpdate),
      sig3(rc.serverCpu.usPerDeliveredUpdate),
      ms(rt.latencyMs.p50),
      ms(rc.latencyMs.p50),
      ms(rt.latencyMs.p99),
      ms(rc.latencyMs.p99),
      rtt ? ms(rtt.p50) : '-',
      rtt ? ms(rtt.p99) : '-',
      sig3(perDelivered(rt, rt.bytes.clientToServer)),
      sig3(perDelivered(rc, rc.bytes.clientToServer)),
    ])
  }
  if (rows.length === 0) return undefined
  const p = chat.params
  const perClient = ((p.rooms ?? 1) > 0 ? p.clients / Math.min(p.clients, p.rooms ?? 1) : 1) * (p.sendHz ?? 0)
  return {
    chat: chat.name,
    ticker: ticker.name,
    conditions: `${p.clients} clients, ${p.payloadBytes} B messages; chat: ${p.rooms} rooms, ${p.sendHz} message(s)/s per client (${sig3(perClient)} received/s per client); ticker: ${sig3(ticker.params.tickHz * ticker.params.updatesPerTick)} updates/s to every client. Per delivered message: bytes both ways (the chat's POSTs or upstream frames included), server CPU, latency (ticker: publish to receive; chat: send to receive, every recipient), the chat sender's round trip (send to its own message seen), and client-to-server bytes.`,
    columns: [
      { key: 'transport', header: 'transport', title: 'transport' },
      {
        key: 'bytesT',
        header: 'B/msg ticker',
        title: 'bytes both ways per delivered update, one-way ticker',
      },
      {
        key: 'bytesC',
        header: 'B/msg chat',
        title: 'bytes both ways per delivered message, two-way chat (upstream included)',
      },
      { key: 'cpuT', header: 'CPU us ticker', title: 'server CPU per delivered update, us' },
      {
        key: 'cpuC',
        header: 'CPU us chat',
        title: 'server CPU per delivered message, us (taking the sends included)',
      },
      { key: 'p50T', header: 'p50 ms ticker', title: 'latency p50, publish to receive' },
      { key: 'p50C', header: 'p50 ms chat', title: 'latency p50, send to receive, every recipient' },
      { key: 'p99T', header: 'p99 ms ticker', title: 'latency p99, publish to receive' },
      { key: 'p99C', header: 'p99 ms chat', title: 'latency p99, send to receive, every recipient' },
      {
        key: 'rtt50',
        header: 'sender RTT p50',
        title: "the sender's round trip, send to its own message seen, p50 ms",
      },
      { key: 'rtt99', header: 'sender RTT p99', title: "the sender's round trip, p99 ms" },
      {
        key: 'upT',
        header: 'c2s B/msg ticker',
        title: 'client-to-server bytes per delivered update, ticker',
      },
      { key: 'upC', header: 'c2s B/msg chat', title: 'client-to-server bytes per delivered message, chat' },
    ],
    rows,
  }
}

/** Every pair's table in a results file. */
export function oneWayTwoWayTables(file: ResultsFile): OneWayTwoWay[] {
  return chatTwins(file)
    .map(({ chat, ticker }) => buildOneWayTwoWay(chat, ticker))
    .filter((t): t is OneWayTwoWay => t !== undefined)
}
