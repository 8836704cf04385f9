/**
 * Wire mode (`--wire`): two network namespaces joined by a veth pair, made and removed by the suite, so
 * that the server and the generator talk over a link whose interface counters see every packet (TCP/IP/
 * Ethernet headers, ACKs, handshakes, teardowns), not over loopback.
 *
 * Layout of one wire made by process PID (the Nth of that process):
 *   namespace pb-PID-N-s: veth pbsPID, 10.201.0.1/30 (the server)
 *   namespace pb-PID-N-c: veth pbcPID, 10.201.0.2/30 (the generator)
 * Each veth end lives only in its own namespace (the pair is created there directly), so the names need
 * to be unique only per namespace and fit IFNAMSIZ (15 characters: `pbs` + a pid of at most 7 digits).
 * Segmentation and receive offloads are off on both ends (`ethtool -K DEV tso off gso off gro off`), so a
 * large write is counted as the MTU-sized packets a real link carries, not as one huge packet. IPv6 is off
 * and each end knows the other's MAC (a permanent neighbour entry): no router solicitation, duplicate
 * address detection or ARP packet lands in the counters, only the TCP traffic of the run.
 *
 * No wire outlives its owner on any exit path it can see:
 * - every live wire is in a module registry; `remove()` deletes it, and `removeAllWiresSync()` (execFileSync,
 *   best effort) is hooked to process 'exit' when the first wire is made (normal exit, process.exit, an
 *   uncaught exception);
 * - SIGINT and SIGTERM end a process without 'exit' when nothing else listens for them: then a listener
 *   made here removes every wire and re-raises the signal (so the process still dies of it). When the
 *   program has its own listener (the CLIs' `abortOnInterrupt`), that one decides, and 'exit' cleans up;
 * - a SIGKILLed owner leaves its namespaces behind: `createWire` first sweeps `pb-PID-*` namespaces whose
 *   PID is dead.
 */
import { execFile, execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { PbError, PbOptionError } from './errors.ts'
import { checkNumber } from './params.ts'

const run = promisify(execFile)

/** `--link-mbit`: from 100 kbit/s to 10 Gbit/s */
export const LINK_MBIT_RANGE = { min: 0.1, max: 10_000, integer: false, unit: 'Mbit/s' }

export const WIRE_SERVER_ADDR = '10.201.0.1'
export const WIRE_CLIENT_ADDR = '10.201.0.2'
const PREFIX_LEN = 30
const NS_NAME = /^pb-(\d+)-\d+-[sc]$/

export type WireSide = 'server' | 'client'

/** Names the veth end in a server's namespace to the server process (servers/process.ts): its counter
 * snapshots then carry the link's counters, taken in the same instant as its socket counters. */
export const WIRE_DEV_ENV = 'PB_WIRE_DEV'

/** Link-level traffic on the veth, cumulative since it was made (or, from `linkDelta`, over a window). */
export interface LinkCounters {
  clientToServer: number
  serverToClient: number
  packetsClientToServer: number
  packetsServerToClient: number
}

export interface Wire {
  readonly serverNs: string
  readonly clientNs: string
  readonly serverDev: string
  readonly clientDev: string
  readonly serverAddr: string
  readonly clientAddr: string
  /** the tbf rate on both ends, Mbit/s, when capped */
  readonly linkMbit: number | undefined
  /** argv prefix that runs a command in one side's namespace: `ip netns exec NS` */
  nsPrefix(side: WireSide): string[]
  /** bytes and packets each way, from the client end's counters (its tx is client to server) */
  counters(): Promise<LinkCounters>
  /** TCP sockets (v4 and v6) in TIME_WAIT in each namespace now */
  timeWait(): Promise<{ server: number; client: number }>
  /** deletes the veth pair and both namespaces (idempotent) */
  remove(): Promise<void>
  readonly removed: boolean
}

function onPath(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Why wire mode cannot run here, or undefined when it can: it needs root (namespaces, veth), `ip`
 * (iproute2), `ethtool` (offloads off) and, for a bandwidth cap, `tc`.
 */
export function wireUnsupported(opts: { linkMbit?: number | undefined } = {}): string | undefined {
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return 'needs root (it creates network namespaces and a veth pair)'
  if (!onPath('ip', ['-V'])) return 'needs `ip` (iproute2) on the PATH'
  if (!onPath('ethtool', ['--version']))
    return 'needs `ethtool` on the PATH (to turn segmentation offloads off)'
  if (opts.linkMbit !== undefined && !onPath('tc', ['-V'])) return 'needs `tc` (iproute2) for --link-mbit'
  return undefined
}

/**
 * tc arguments for a token bucket of `mbit` Mbit/s on DEV's root. The burst is 4 ms of the rate but at
 * least two full-sized frames (2 x 1514 B, MTU 1500 plus the Ethernet header): the bucket never has to
 * split a packet, and traffic leaves at the rate in 4 ms bursts at most, so the cap shapes within a tick.
 * `latency 50ms` bounds the queue in front of the bucket to 50 ms of traffic at the rate, a modest
 * router buffer: past it tbf drops, and TCP's retransmits and back-off show on a thin link as they would.
 */
export function tbfArgs(dev: string, mbit: number): string[] {
  const bytesPerS = (mbit * 1e6) / 8
  const burst = Math.max(2 * 1514, Math.ceil(bytesPerS * 0.004))
  const kbit = Math.max(1, Math.round(mbit * 1000))
  return [
    'qdisc',
    'replace',
    'dev',
    dev,
    'root',
    'tbf',
    'rate',
    `${kbit}kbit`,
    'burst',
    `${burst}`,
    'latency',
    '50ms',
  ]
}

/** Sockets in state 06 (TIME_WAIT) in a /proc/net/tcp or tcp6 text (several may be concatenated). */
export function countTimeWait(procNetTcp: string): number {
  let n = 0
  for (const line of procNetTcp.split('\n')) {
    // sl local_address rem_address st ...
    const st = line.trim().split(/\s+/)[3]
    if (st === '06') n++
  }
  return n
}

/** b - a, each field. */
export function linkDelta(a: LinkCounters, b: LinkCounters): LinkCounters {
  return {
    clientToServer: b.clientToServer - a.clientToServer,
    serverToClient: b.serverToClient - a.serverToClient,
    packetsClientToServer: b.packetsClientToServer - a.packetsClientToServer,
    packetsServerToClient: b.packetsServerToClient - a.packetsServerToClient,
  }
}

/**
 * One veth end's counters from a /proc/net/dev text, as link directions: the server end receives what
 * goes client to server, the client end sends it. Undefined when `dev` is not in the text.
 */
export function parseNetDev(text: string, dev: string, side: WireSide): LinkCounters | undefined {
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':')
    if (colon < 0 || line.slice(0, colon).trim() !== dev) continue
    // receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes packets ...
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number)
    const [rxBytes = 0, rxPackets = 0] = f
    const txBytes = f[8] ?? 0
    const txPackets = f[9] ?? 0
    return side === 'server'
      ? {
          clientToServer: rxBytes,
          serverToClient: txBytes,
          packetsClientToServer: rxPackets,
          packetsServerToClient: txPackets,
        }
      : {
          clientToServer: txBytes,
          serverToClient: rxBytes,
          packetsClientToServer: txPackets,
          packetsServerToClient: rxPackets,
        }
  }
  return undefined
}

/**
 * The counters of `dev` in the calling process's own namespace, read synchronously (/proc/net/dev, about
 * as cheap as a syscall): a server in the wire's server namespace takes them in the same instant as its
 * socket counters, so link and application bytes share their window edges exactly.
 */
export function readOwnLinkCounters(dev: string, side: WireSide): LinkCounters | undefined {
  try {
    return parseNetDev(readFileSync('/proc/net/dev', 'utf8'), dev, side)
  } catch {
    return undefined
  }
}

interface IpLinkStats {
  stats64?: { rx?: { bytes?: number; packets?: number }; tx?: { bytes?: number; packets?: number } }
}

/** The client end's counters from `ip -s -j link show`: its tx is client to server, its rx the other way. */
export function parseLinkStats(json: string): LinkCounters {
  const [dev] = JSON.parse(json) as IpLinkStats[]
  const s = dev?.stats64
  const num = (v: number | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN)
  const c = {
    clientToServer: num(s?.tx?.bytes),
    serverToClient: num(s?.rx?.bytes),
    packetsClientToServer: num(s?.tx?.packets),
    packetsServerToClient: num(s?.rx?.packets),
  }
  if (Object.values(c).some(Number.isNaN))
    throw new PbError('PB_ERR_WIRE', `no stats64 in ip -s -j link output: ${json.slice(0, 200)}`)
  return c
}

const live = new Set<WireImpl>()
let seq = 0
let hooked = false

function stderrOf(err: unknown): string {
  const e = err as { stderr?: string | Buffer; message?: string }
  return String(e?.stderr ?? '').trim() || (e?.message ?? String(err))
}

async function ip(args: string[]): Promise<string> {
  try {
    return (await run('ip', args, { encoding: 'utf8' })).stdout
  } catch (err) {
    throw new PbError('PB_ERR_WIRE', `ip ${args.join(' ')}: ${stderrOf(err)}`, { cause: err })
  }
}

function ipSync(args: string[]): boolean {
  try {
    execFileSync('ip', args, { stdio: 'ignore', timeout: 5000 })
    return true
  } catch {
    return false
  }
}

class WireImpl implements Wire {
  readonly serverAddr = WIRE_SERVER_ADDR
  readonly clientAddr = WIRE_CLIENT_ADDR
  removed = false
  constructor(
    readonly serverNs: string,
    readonly clientNs: string,
    readonly serverDev: string,
    readonly clientDev: string,
    readonly linkMbit: number | undefined,
  ) {}

  nsPrefix(side: WireSide): string[] {
    return ['ip', 'netns', 'exec', side === 'server' ? this.serverNs : this.clientNs]
  }

  async counters(): Promise<LinkCounters> {
    return parseLinkStats(await ip(['-n', this.clientNs, '-s', '-j', 'link', 'show', 'dev', this.clientDev]))
  }

  async timeWait(): Promise<{ server: number; client: number }> {
    const read = async (ns: string) =>
      countTimeWait(
        await ip([
          'netns',
          'exec',
          ns,
          'sh',
          '-c',
          'cat /proc/net/tcp; cat /proc/net/tcp6 2>/dev/null; exit 0',
        ]),
      )
    const [server, client] = await Promise.all([read(this.serverNs), read(this.clientNs)])
    return { server, client }
  }

  async remove(): Promise<void> {
    if (this.removed) return
    // deleting one end deletes the pair, even if a process still holds a namespace open
    await ip(['-n', this.serverNs, 'link', 'del', 'dev', this.serverDev]).catch(() => {})
    const left: string[] = []
    for (const ns of [this.serverNs, this.clientNs]) {
      await ip(['netns', 'del', ns]).catch((err: Error) => left.push(err.message))
    }
    const still = await namespaces()
    if (still.includes(this.serverNs) || still.includes(this.clientNs))
      throw new PbError('PB_ERR_WIRE', `could not remove the wire's namespaces: ${left.join('; ')}`)
    this.removed = true
    live.delete(this)
  }

  /** best effort, for an 'exit' handler or a signal */
  removeSync(): void {
    if (this.removed) return
    ipSync(['-n', this.serverNs, 'link', 'del', 'dev', this.serverDev])
    ipSync(['netns', 'del', this.serverNs])
    ipSync(['netns', 'del', this.clientNs])
    this.removed = true
    live.delete(this)
  }
}

/** The named network namespaces (`ip netns list`). */
export async function namespaces(): Promise<string[]> {
  const out = await ip(['netns', 'list'])
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '')
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Deletes `pb-PID-*` namespaces whose PID is dead (an owner that was SIGKILLed); returns their names. */
export async function sweepStaleWires(): Promise<string[]> {
  const swept: string[] = []
  for (const ns of await namespaces()) {
    const owner = NS_NAME.exec(ns)?.[1]
    if (owner === undefined || pidAlive(Number(owner))) continue
    await ip(['netns', 'del', ns]).then(
      () => swept.push(ns),
      () => {},
    )
  }
  return swept
}

/** Best-effort sync removal of every live wire (hooked to process 'exit' when the first wire is made). */
export function removeAllWiresSync(): void {
  for (const w of [...live]) w.removeSync()
}

/** Async removal of every live wire. */
export async function removeAllWires(): Promise<void> {
  await Promise.all([...live].map((w) => w.remove()))
}

function onSignal(signal: NodeJS.Signals): void {
  // another listener (a CLI's interrupt handling) decides what the signal does; 'exit' cleans up then
  if (process.listenerCount(signal) > 1) return
  removeAllWiresSync()
  process.removeListener('SIGINT', onSignal)
  process.removeListener('SIGTERM', onSignal)
  process.kill(process.pid, signal)
}

function hookExit(): void {
  if (hooked) return
  hooked = true
  process.on('exit', removeAllWiresSync)
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

/**
 * Makes a wire: two namespaces, a veth pair between them, addresses, offloads off, and (with `linkMbit`)
 * a token bucket on both ends. Throws PbError (PB_ERR_WIRE) naming the failing command; what was made
 * before the failure is removed.
 */
export async function createWire(opts: { linkMbit?: number | undefined } = {}): Promise<Wire> {
  const why = wireUnsupported(opts)
  if (why !== undefined) throw new PbError('PB_ERR_WIRE', `wire mode ${why}`)
  await sweepStaleWires()
  hookExit()
  const n = seq++
  const pid = process.pid
  const w = new WireImpl(`pb-${pid}-${n}-s`, `pb-${pid}-${n}-c`, `pbs${pid}`, `pbc${pid}`, opts.linkMbit)
  live.add(w)
  try {
    const sides = [
      { ns: w.serverNs, dev: w.serverDev, addr: w.serverAddr },
      { ns: w.clientNs, dev: w.clientDev, addr: w.clientAddr },
    ] as const
    for (const s of sides) {
      await ip(['netns', 'add', s.ns])
      // new devices in the namespace start with IPv6 off: no DAD, MLD or router solicitation on the link
      await ip([
        'netns',
        'exec',
        s.ns,
        'sysctl',
        '-q',
        '-w',
        'net.ipv6.conf.default.disable_ipv6=1',
        'net.ipv6.conf.all.disable_ipv6=1',
      ]).catch(() => {})
    }
    await ip([
      'link',
      'add',
      w.serverDev,
      'netns',
      w.serverNs,
      'type',
      'veth',
      'peer',
      'name',
      w.clientDev,
      'netns',
      w.clientNs,
    ])
    const macs: string[] = []
    for (const s of sides) {
      await ethtoolOff(s.ns, s.dev)
      await ip(['-n', s.ns, 'addr', 'add', `${s.addr}/${PREFIX_LEN}`, 'dev', s.dev])
      const [info] = JSON.parse(await ip(['-n', s.ns, '-j', 'link', 'show', 'dev', s.dev])) as {
        address?: string
      }[]
      if (!info?.address) throw new PbError('PB_ERR_WIRE', `no MAC address on ${s.dev}`)
      macs.push(info.address)
      if (opts.linkMbit !== undefined) await tc(s.ns, tbfArgs(s.dev, opts.linkMbit))
    }
    // each end knows the other's MAC for good: no ARP packet in the counters
    for (const [i, s] of sides.entries()) {
      const peer = sides[1 - i]
      const mac = macs[1 - i]
      if (!peer || !mac) continue
      await ip(['-n', s.ns, 'neigh', 'replace', peer.addr, 'lladdr', mac, 'dev', s.dev, 'nud', 'permanent'])
    }
    for (const s of sides) {
      await ip(['-n', s.ns, 'link', 'set', 'dev', 'lo', 'up'])
      await ip(['-n', s.ns, 'link', 'set', 'dev', s.dev, 'up'])
    }
    return w
  } catch (err) {
    await w.remove().catch(() => w.removeSync())
    throw err
  }
}

async function ethtoolOff(ns: string, dev: string): Promise<void> {
  try {
    await run('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off'])
  } catch (err) {
    throw new PbError('PB_ERR_WIRE', `ethtool -K ${dev} tso off gso off gro off: ${stderrOf(err)}`, {
      cause: err,
    })
  }
}

async function tc(ns: string, args: string[]): Promise<void> {
  try {
    await run('ip', ['netns', 'exec', ns, 'tc', ...args])
  } catch (err) {
    throw new PbError('PB_ERR_WIRE', `tc ${args.join(' ')}: ${stderrOf(err)}`, { cause: err })
  }
}

/**
 * The wire a run's flags ask for, or undefined without `--wire`. Throws PbOptionError (the CLIs exit 2)
 * naming the flag: `--link-mbit` without `--wire` or out of range, `--wire` with browser clients (their
 * pages open `localhost` names, which do not lead to the server's namespace), `--wire` where it cannot run
 * (not root, no ip or ethtool).
 */
export function checkWireFlags(
  f: { wire?: boolean | undefined; linkMbit?: number | undefined; client?: string | undefined },
  names: { wire: string; linkMbit: string } = { wire: '--wire', linkMbit: '--link-mbit' },
): { linkMbit?: number } | undefined {
  if (!f.wire) {
    if (f.linkMbit !== undefined)
      throw new PbOptionError(names.linkMbit, `caps the link of wire mode: add ${names.wire}, or drop it`)
    return undefined
  }
  const linkMbit =
    f.linkMbit === undefined ? undefined : checkNumber(names.linkMbit, f.linkMbit, LINK_MBIT_RANGE)
  if (f.client === 'browser')
    throw new PbOptionError(
      names.wire,
      'not with browser clients (their pages open localhost names, which do not reach the server namespace); use lean or library clients',
    )
  const why = wireUnsupported({ linkMbit })
  if (why !== undefined)
    throw new PbOptionError(names.wire, `wire mode ${why}; drop ${names.wire} to measure on loopback`)
  return linkMbit === undefined ? {} : { linkMbit }
}
