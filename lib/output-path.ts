/**
 * Output paths checked before any load: a results file, or a folder of them, that cannot be written is
 * bad input (exit 2, the flag named), found in milliseconds instead of after the run. Only stat, access and
 * statfs are used, never a write or a mkdir: `fs.mkdir` under /proc never returns in Node (its recursive
 * mkdir loops on the ENOENT procfs answers, ignoring SIGTERM; DESIGN.md, "Facts").
 * A folder missing on a normal filesystem is fine: the writer creates it (mkdir -p), as it always did.
 */
import {
  accessSync,
  constants,
  lstatSync,
  readlinkSync,
  realpathSync,
  type Stats,
  statfsSync,
  statSync,
} from 'node:fs'
import { basename, dirname, join, resolve, sep } from 'node:path'
import { PbOptionError } from './errors.ts'

/**
 * statfs f_type of the kernel's pseudo-filesystems (linux/magic.h): files there are the kernel's
 * interface, not storage; a results file has no business there, and mkdir may hang.
 */
const PSEUDO_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x1cd1, 'devpts'],
  [0x62656570, 'configfs'],
  [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0x65735543, 'fusectl'],
  [0x19800202, 'mqueue'],
  [0x42494e4d, 'binfmt_misc'],
  [0xf97cff8c, 'selinuxfs'],
])
/**
 * The same by where they are mounted, for what statfs cannot tell apart: devtmpfs reports tmpfs's magic,
 * and /dev holds device nodes (an atomic write there would rename over one). /dev/shm is a plain tmpfs.
 */
const PSEUDO_DIRS = ['/proc', '/sys', '/dev']
const PLAIN_UNDER_PSEUDO = ['/dev/shm']

/** At most this many links followed (Linux's own limit is 40). */
const MAX_LINKS = 40

/**
 * Where a write to `path` lands: `path` with every symbolic link at its end followed (a dangling link
 * gives its target). A results file written "to" a link replaces the link's target, atomically, and
 * leaves the link a link (lib/write-atomic.ts). A loop throws ELOOP.
 */
export function writeTarget(path: string): string {
  let p = resolve(path)
  for (let i = 0; i < MAX_LINKS; i++) {
    let st: Stats
    try {
      st = lstatSync(p)
    } catch {
      return p
    }
    if (!st.isSymbolicLink()) return p
    p = resolve(dirname(p), readlinkSync(p))
  }
  throw Object.assign(new Error(`too many symbolic links at ${path}`), { code: 'ELOOP' })
}

/**
 * A results (or other) file to be written at `path`: a regular file or nothing there yet, in a folder that
 * is there or can be made, writable, on a real filesystem. Returns the path as given. `field` is the flag.
 */
export function checkOutputFile(field: string, path: string, example = 'results.json'): string {
  const bad = (why: string) => new PbOptionError(field, `cannot write ${JSON.stringify(path)}: ${why}`)
  if (typeof path !== 'string' || path.trim() === '') throw bad(`empty path; name a file, e.g. ${example}`)
  if (path.includes('\0')) throw bad('the path holds a NUL byte')
  if (/[\\/]$/.test(path)) throw bad(`ends in a slash, a folder; name a file, e.g. ${join(path, example)}`)
  let target: string
  try {
    target = writeTarget(path)
  } catch (err) {
    throw bad((err as Error).message)
  }
  const st = statOf(target)
  if (st?.isDirectory()) throw bad(`it is a folder; name a file in it, e.g. ${join(path, example)}`)
  if (st && !st.isFile()) throw bad(`it is ${kindOf(st)}, not a regular file`)
  checkFolder(dirname(target), bad)
  return path
}

/** A folder that files will be written into: there (and a folder), or creatable; writable; on a real filesystem. */
export function checkOutputDir(field: string, path: string): string {
  const bad = (why: string) => new PbOptionError(field, `cannot write into ${JSON.stringify(path)}: ${why}`)
  if (typeof path !== 'string' || path.trim() === '') throw bad('empty path; name a folder, e.g. results')
  if (path.includes('\0')) throw bad('the path holds a NUL byte')
  checkFolder(resolve(path), bad)
  return path
}

/**
 * `dir` must be a writable folder, or missing with its nearest existing ancestor one (mkdir -p makes the
 * rest); no part of it may be a pseudo-filesystem. `stat` follows links, as the writer will.
 */
function checkFolder(dir: string, bad: (why: string) => PbOptionError): void {
  let existing = dir
  let st = statOf(existing)
  const missing: string[] = []
  while (!st && dirname(existing) !== existing) {
    missing.unshift(basename(existing))
    existing = dirname(existing)
    st = statOf(existing)
  }
  if (!st) throw bad(`no part of ${dir} exists`)
  if (!st.isDirectory())
    throw bad(
      `${existing} is not a folder but ${kindOf(st)}${missing.length > 0 ? ', so no folder can be made under it' : ''}`,
    )
  let real: string
  try {
    real = join(realpathSync(existing), ...missing)
  } catch (err) {
    throw bad(`${existing}: ${(err as Error).message}`)
  }
  const pseudo = pseudoFs(existing, real)
  if (pseudo) throw bad(`${real} is under ${pseudo}, a pseudo-filesystem of the kernel, not storage`)
  try {
    accessSync(existing, constants.W_OK | constants.X_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw bad(
      code === 'EROFS'
        ? `${existing} is on a read-only filesystem`
        : `${existing} is not writable (${code ?? (err as Error).message})`,
    )
  }
}

/** The pseudo-filesystem `real` (an existing folder `existing`, plus parts to make) is on, if any. */
function pseudoFs(existing: string, real: string): string | undefined {
  const under = (root: string) => real === root || real.startsWith(`${root}${sep}`)
  if (!PLAIN_UNDER_PSEUDO.some(under)) {
    const root = PSEUDO_DIRS.find(under)
    if (root) return root
  }
  try {
    const name = PSEUDO_FS.get(Number(statfsSync(existing).type))
    if (name) return `${name} (mounted at or above ${existing})`
  } catch {
    // no statfs (not Linux): the paths above are the check
  }
  return undefined
}

/** stat (links followed), or undefined for a path that is not there (ENOENT, or ENOTDIR under a file). */
function statOf(path: string): Stats | undefined {
  try {
    return statSync(path)
  } catch {
    return undefined
  }
}

function kindOf(st: Stats): string {
  if (st.isFile()) return 'a file'
  if (st.isDirectory()) return 'a folder'
  if (st.isCharacterDevice()) return 'a character device'
  if (st.isBlockDevice()) return 'a block device'
  if (st.isFIFO()) return 'a FIFO'
  if (st.isSocket()) return 'a socket'
  return 'not a file'
}
