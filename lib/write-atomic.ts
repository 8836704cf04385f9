/**
 * Temp file in the same folder, fsync, then rename: a reader never sees half a file, and after a crash
 * of the machine the file is the old one or the new one, whole. A process killed outright (SIGKILL)
 * between the write and the rename leaves its temp file, `<path>.<pid>.<hex>.tmp`, beside the destination;
 * the next write to that destination removes every such file whose process is gone. A path that is a
 * symbolic link is written through: the link's target is replaced (atomically, its temp file beside it)
 * and the link stays a link, as `>` in a shell would do; a rename over the link itself would replace it.
 */
import { randomBytes } from 'node:crypto'
import { open, readdir, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { writeTarget } from './output-path.ts'

const TEMP = /^(.*)\.(\d+)\.[0-9a-f]{8}\.tmp$/

/** True while a process with this pid exists (ours or another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes the temp files of `path` left by writers that were killed before their rename. */
export async function sweepTempFiles(path: string): Promise<string[]> {
  const dir = dirname(path)
  const name = basename(path)
  const swept: string[] = []
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return swept
  }
  for (const n of names) {
    const m = TEMP.exec(n)
    if (!m || m[1] !== name) continue
    const pid = Number(m[2])
    if (pid === process.pid || alive(pid)) continue
    await unlink(join(dir, n)).then(
      () => swept.push(n),
      () => {},
    )
  }
  return swept
}

export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const target = writeTarget(path)
  await sweepTempFiles(target)
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    const fh = await open(tmp, 'wx')
    try {
      await fh.writeFile(data)
      // on disk before the rename makes it the file: a crash never leaves a renamed, empty file
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, target)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
}
