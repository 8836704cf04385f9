/**
 * The load a scenario plans, bounded before any run: each param is legal alone, but their product can ask
 * for what no host delivers (`--tick-hz 100 --updates-per-tick 1000 --payload-bytes 1048576` is 100 GiB/s
 * published per client: it grew to 3 GB of memory and ended in a timeout that named no flag). Refused
 * up front (exit 2) naming the flags whose product is too big, and the limit.
 *
 * The limits, and why:
 * - published, tickHz x updatesPerTick x payloadBytes: 256 MiB/s. The server builds and serialises every
 *   update on one core, and JSON on one core runs at a few hundred MB/s at best; it is also what advise's
 *   focused run lets a generator core receive with headroom (bench/advise-run.ts). The shipped profiles
 *   publish at most 160 KiB/s (full).
 * - delivered to one host's clients, that x clients (of this shard): 1 GiB/s. Every byte is written by the
 *   server's one core and read by the generator's one core; advise's focused run allows a generator core
 *   256 MiB/s to keep its headroom, and past a few times that the generator measures itself, not the
 *   server. The shipped profiles deliver at most 77 MB/s (full), 13x below.
 * - the server's ring (resume buffer), ringSize x payloadBytes: 2 GiB, twice the default ring at the
 *   largest payload (1,024 updates of 1 MiB, servers/ticker.ts), and room for the largest --ring-size
 *   (10,000,000) at the default payload (128 B: 1.2 GiB); checked where the ring is set (servers/options.ts).
 */
import { PbOptionError } from './errors.ts'
import type { ScenarioParams } from './params.ts'

export const LOAD_LIMITS = Object.freeze({
  publishedBytesPerS: 256 * 2 ** 20,
  deliveredBytesPerS: 2 ** 30,
  ringBytes: 2 * 2 ** 30,
})

type Named = (key: keyof ScenarioParams) => string

/**
 * Checks the planned load of `p`. `name` gives the flag or config field of a param; `shards`: the clients
 * are split over that many generator hosts (run --shard), each receiving its slice.
 */
export function checkPlannedLoad(
  p: Pick<ScenarioParams, 'clients' | 'tickHz' | 'updatesPerTick' | 'payloadBytes'>,
  names: Named | Partial<Record<keyof ScenarioParams, string>> = {},
  shards = 1,
): void {
  const name = (k: keyof ScenarioParams) => (typeof names === 'function' ? names(k) : (names[k] ?? k))
  const L = LOAD_LIMITS
  const published = p.tickHz * p.updatesPerTick * p.payloadBytes
  const rate = ['tickHz', 'updatesPerTick', 'payloadBytes'] as const
  if (published > L.publishedBytesPerS)
    throw new PbOptionError(
      rate.map(name).join(' x '),
      `${p.tickHz} x ${p.updatesPerTick} x ${p.payloadBytes} B = ${bytes(published)}/s published, above the limit of ${bytes(L.publishedBytesPerS)}/s (what one server core can serialise); shrink one of them`,
    )
  const clients = Math.ceil(p.clients / shards)
  const delivered = published * clients
  if (delivered > L.deliveredBytesPerS)
    throw new PbOptionError(
      [name('clients'), ...rate.map(name)].join(' x '),
      `${clients} clients${shards > 1 ? ` (this shard's)` : ''} x ${bytes(published)}/s = ${bytes(delivered)}/s delivered, above the limit of ${bytes(L.deliveredBytesPerS)}/s a host's one generator core can read; shrink one of them`,
    )
}

/** ringSize x payloadBytes within LOAD_LIMITS.ringBytes; `ringSize` as the server sizes it. */
export function checkRingBytes(
  ringSize: number,
  payloadBytes: number,
  ringField: string,
  payloadField: string,
): void {
  const total = ringSize * payloadBytes
  if (total > LOAD_LIMITS.ringBytes)
    throw new PbOptionError(
      `${ringField} x ${payloadField}`,
      `${ringSize} updates x ${payloadBytes} B = ${bytes(total)} held for resume, above the limit of ${bytes(LOAD_LIMITS.ringBytes)}; shrink one of them (${ringField} 0 sizes the ring from the payload)`,
    )
}

function bytes(n: number): string {
  for (const [unit, size] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const)
    if (n >= size) return `${Number((n / size).toPrecision(3))} ${unit}`
  return `${Number(n.toPrecision(3))} B`
}
