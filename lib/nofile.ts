/**
 * Open files (`ulimit -n`): every connection is a file descriptor on both ends, so 20,000 clients need more
 * than 20,000 in the server and in the generator that holds them. Checked before anything starts; a child
 * that needs more than the soft limit is started under `prlimit --nofile` (util-linux), which a process
 * may do up to its hard limit, and root (CAP_SYS_RESOURCE) past it.
 */
import { readFileSync } from 'node:fs'
import { PbOptionError } from './errors.ts'

/**
 * Descriptors a process needs beside its connections: stdio, IPC, the event loop's epoll and eventfds,
 * libuv's pipes, the listening socket, a /proc read now and then. A server counted 26 at idle.
 */
export const NOFILE_MARGIN = 64

/** The kernel's ceiling for any process (fs.nr_open). */
const NR_OPEN_DEFAULT = 1_048_576

export interface NofileLimits {
  soft: number
  hard: number
  /** the process may raise its hard limit (root with CAP_SYS_RESOURCE) up to `ceiling` */
  canRaiseHard: boolean
  ceiling: number
}

const asLimit = (s: string | undefined): number =>
  s === undefined || s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s)

/** This process's limits, from /proc (Linux). */
export function readNofile(): NofileLimits {
  const limits = readFileSync('/proc/self/limits', 'utf8')
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits)
  const status = readFileSync('/proc/self/status', 'utf8')
  const capEff = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0'
  let ceiling = NR_OPEN_DEFAULT
  try {
    ceiling = Number(readFileSync('/proc/sys/fs/nr_open', 'utf8').trim()) || NR_OPEN_DEFAULT
  } catch {}
  return {
    soft: asLimit(m?.[1]),
    hard: asLimit(m?.[2]),
    // CAP_SYS_RESOURCE is capability 24
    canRaiseHard: ((BigInt(`0x${capEff}`) >> 24n) & 1n) === 1n,
    ceiling,
  }
}

/** One process's need: `connections` sockets plus the margin. */
export const nofileFor = (connections: number): number => connections + NOFILE_MARGIN

/**
 * The soft limit to start a child with so that it can hold `needed` descriptors: undefined when the
 * current soft limit already does. Throws (exit 2) when neither the hard limit nor the privilege to raise
 * it allows it, naming `field` (the flag or config key that asked for the connections) and how to fix it.
 */
export function planNofile(
  needed: number,
  limits: NofileLimits,
  field: string,
  who: string,
): number | undefined {
  if (needed <= limits.soft) return undefined
  if (needed <= limits.hard || (limits.canRaiseHard && needed <= limits.ceiling)) return needed
  const hard = Number.isFinite(limits.hard) ? String(limits.hard) : 'unlimited'
  throw new PbOptionError(
    field,
    `needs ${needed} open files in the ${who} (its connections plus ${NOFILE_MARGIN}), but ulimit -n is ${limits.soft} ` +
      `(hard limit ${hard}) and this process may not raise it: run \`ulimit -n ${needed}\` first ` +
      '(past the hard limit: as root, or in /etc/security/limits.conf), or ask for fewer clients' +
      (who === 'generator' ? ' per generator process (--generators)' : ''),
  )
}
