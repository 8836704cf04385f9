/**
 * Where client sockets come from. A TCP connection is named by (source address, source port, server
 * address, server port), so one source address reaches one server port from at most as many sockets as the
 * ephemeral port range holds (32768-60999 here: 28,232). Past a share of that, clients are spread over
 * several loopback source addresses (127.N.0.2, 127.N.0.3, ...; all of 127/8 is the loopback interface),
 * each socket bound to its address before it connects.
 */
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { PbOptionError } from '../lib/errors.ts'

/**
 * The share of the ephemeral range one address is given. Bound sockets (bind to an address with port 0)
 * take ports the kernel picks without knowing the destination, and ports in TIME_WAIT from earlier runs
 * still hold their number: half the range leaves room for both.
 */
export const PORT_SHARE = 0.5

/** The ephemeral port range, from /proc (Linux); the kernel's default where it cannot be read. */
export function ephemeralPortRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)
    const lo = Number(low)
    const hi = Number(high)
    if (Number.isInteger(lo) && Number.isInteger(hi) && hi >= lo) return { low: lo, high: hi }
  } catch {}
  return { low: 32768, high: 60999 }
}

export interface SourcePlan {
  /** the addresses client sockets bind to, in order; empty: none is bound (the kernel picks, as usual) */
  addresses: string[]
  /** clients per address: client k binds addresses[floor((k - first) / perAddress)] */
  perAddress: number
  /** the first client index the plan is for (a shard's slice starts past 0) */
  first: number
}

/** The most addresses a plan uses: 127.N.0.2 to 127.N.0.254. */
const MAX_ADDRESSES = 253

/**
 * Spreads `clients` over source addresses when one address's share of the port range cannot hold them.
 * Only toward a loopback server (anything else has one source address of ours: the error names `field`).
 */
export function planSourceAddresses(
  clients: number,
  serverHost: string,
  range: { low: number; high: number } = ephemeralPortRange(),
  field = '--clients',
  first = 0,
  subnet = 1 + Math.floor(Math.random() * 254),
): SourcePlan {
  const perAddress = Math.max(1, Math.floor((range.high - range.low + 1) * PORT_SHARE))
  if (clients <= perAddress) return { addresses: [], perAddress, first }
  const needed = Math.ceil(clients / perAddress)
  if (!isLoopbackV4(serverHost))
    throw new PbOptionError(
      field,
      `${clients} clients need ${needed} source addresses (${perAddress} each, half of the ephemeral port range ${range.low}-${range.high}), which only a server on 127.0.0.1 gives; ask for at most ${perAddress}`,
    )
  if (needed > MAX_ADDRESSES)
    throw new PbOptionError(
      field,
      `${clients} clients need more than ${MAX_ADDRESSES} loopback source addresses`,
    )
  // spread evenly, so that no address holds far more than another
  const per = Math.ceil(clients / needed)
  // a /24 of 127/8 picked per run: the TIME_WAIT sockets a run leaves on its addresses hold their ports for
  // 60 s, and binding among them was slow (19,900 WebSocket clients took 28 s to connect after an SSE
  // run on the same two addresses, 9 s on fresh ones)
  const addresses = Array.from({ length: needed }, (_, i) => `127.${subnet}.0.${i + 2}`)
  return { addresses, perAddress: per, first }
}

/** The address client `k` binds, or undefined (no bind). */
export function sourceAddressOf(plan: SourcePlan, k: number): string | undefined {
  if (plan.addresses.length === 0) return undefined
  const i = Math.floor((k - plan.first) / plan.perAddress)
  return plan.addresses[Math.max(0, Math.min(plan.addresses.length - 1, i))]
}

function isLoopbackV4(host: string): boolean {
  if (host === 'localhost') return true
  return net.isIPv4(host) && host.startsWith('127.')
}
