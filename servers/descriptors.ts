/**
 * Open files in a server process. Every connection is a file descriptor, and a process that has none left
 * fails every open: its own RSS read (/proc), a file, the next accept. So a server caps its connections at
 * what its open-files limit holds less a reserve for itself, turns away (and counts) connections past the
 * cap, and counts instead of dying when an EMFILE/ENFILE comes anyway (another process filled the system's
 * table, or the server opened more than it keeps in reserve).
 *
 * libuv, left alone, already survives EMFILE on accept: it keeps one descriptor open on /dev/null, and on
 * EMFILE closes it, accepts and closes every waiting connection, and opens it again (uv__emfile_trick), so
 * the peer sees its connection close and Node sees nothing. But the process stays at its limit for as long
 * as it holds its connections, and then every open of its own fails; which is why the cap leaves a reserve.
 * When that trick fails too (ENFILE, or the reserve descriptor lost) libuv reports the error to Node, which
 * emits it on the server, and calls accept again at once: `guardDescriptors` stops accepting for a moment
 * so that this cannot spin.
 */
import { readdirSync } from 'node:fs'
import type { Server } from 'node:net'
import { readNofile } from '../lib/nofile.ts'
import type { TransportStats } from './counters.ts'

/**
 * Descriptors a server keeps free for itself beyond those it has open when it starts listening: a /proc
 * read (RSS, link counters), the IPC and control replies, what Node opens lazily. A server has 26 open at
 * idle; with this reserve it needs 42 besides its connections, within lib/nofile.ts's NOFILE_MARGIN (64).
 */
export const FD_RESERVE = 16

/** How long accepting stops after EMFILE/ENFILE reached Node from accept, ms */
export const ACCEPT_PAUSE_MS = 250

/** Out of file descriptors: this process's (EMFILE) or the system's (ENFILE). */
export function isOutOfDescriptors(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === 'EMFILE' || code === 'ENFILE'
}

/** Descriptors this process has open now (Linux: /proc/self/fd, less the one reading it); undefined elsewhere. */
export function openDescriptors(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length - 1
  } catch {
    return undefined
  }
}

/** The connections a process may hold: its soft limit less what it has open and the reserve; undefined: no cap. */
export function connectionCap(soft: number, open: number, reserve = FD_RESERVE): number | undefined {
  if (!Number.isFinite(soft)) return undefined
  return Math.max(1, soft - open - reserve)
}

export interface DescriptorGuard {
  /** the connections the server holds at most (its `maxConnections`); undefined: no cap */
  readonly cap: number | undefined
  /** stops a paused listener from listening again (the server is closing) */
  stop(): void
}

type Handle = { close(): void }

/**
 * Caps `server`'s connections at what the open-files limit holds (connections past it are closed as soon as
 * accepted, and counted in `stats.acceptErrors`); an EMFILE/ENFILE from accept is counted there too, and
 * stops accepting for ACCEPT_PAUSE_MS, holding every connection already open. Call once it listens.
 */
export function guardDescriptors(
  server: Server,
  stats: TransportStats,
  o: {
    /** the listen backlog, for listening again after a pause */
    backlog?: number | undefined
    /** the open-files soft limit (default: this process's) */
    soft?: number | undefined
  } = {},
): DescriptorGuard {
  const soft = o.soft ?? softLimit()
  const open = openDescriptors()
  const cap = soft !== undefined && open !== undefined ? connectionCap(soft, open) : undefined
  if (cap !== undefined) server.maxConnections = cap
  server.on('drop', () => {
    stats.acceptErrors++
  })
  let resume: NodeJS.Timeout | undefined
  let stopped = false
  let addr: { address: string; port: number } | undefined
  const pause = () => {
    const internal = server as unknown as { _handle: Handle | null }
    if (internal._handle !== null) {
      const a = server.address()
      if (a === null || typeof a === 'string') return
      addr = { address: a.address, port: a.port }
      // libuv calls accept again as soon as this returns: closing the listening socket is the only way to
      // stop it (net.Server has no pause, and server.close() would also cut idle keep-alive connections)
      internal._handle.close()
      internal._handle = null
    }
    resume = setTimeout(() => {
      resume = undefined
      if (!stopped && addr) server.listen({ host: addr.address, port: addr.port, backlog: o.backlog })
    }, ACCEPT_PAUSE_MS)
  }
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.syscall === 'accept') {
      stats.acceptErrors++
      if (resume === undefined && !stopped) pause()
      return
    }
    // listening again after a pause failed (the port is taken meanwhile): try again a moment later
    if (err.syscall === 'listen' && addr !== undefined && !stopped) {
      if (resume === undefined) pause()
      return
    }
    // anything else is what it was before this listener: not handled here
    throw err
  })
  return {
    cap,
    stop: () => {
      stopped = true
      if (resume !== undefined) clearTimeout(resume)
    },
  }
}

function softLimit(): number | undefined {
  try {
    return readNofile().soft
  } catch {
    return undefined
  }
}
