/**
 * Temp file in the same folder, then rename: a reader never sees half a file. A path that is a symbolic
 * link is written through: the link's target is replaced (atomically, its temp file beside it) and the link
 * stays a link, as `>` in a shell would do; a rename over the link itself would replace the link.
 */
import { randomBytes } from 'node:crypto'
import { rename, unlink, writeFile } from 'node:fs/promises'
import { writeTarget } from './output-path.ts'

export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const target = writeTarget(path)
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(tmp, data)
    await rename(tmp, target)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
}
