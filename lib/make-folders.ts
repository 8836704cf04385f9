/**
 * mkdir -p one level at a time. Node's `mkdir({ recursive: true })` spins forever when a parent exists
 * but cannot hold children (under /proc, a dangling symlink): it reads ENOENT as "parent missing" and
 * retries, ignoring SIGTERM. Here each missing folder is made once, and the first failure is thrown.
 */
import { mkdir, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'

export async function makeFolders(dir: string): Promise<void> {
  const missing: string[] = []
  for (let d = resolve(dir); !(await isFolder(d)) && dirname(d) !== d; d = dirname(d)) missing.unshift(d)
  for (const d of missing)
    await mkdir(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err
      return isFolder(d).then((ok) => {
        if (!ok) throw err
      })
    })
}

const isFolder = (p: string): Promise<boolean> =>
  stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  )
