/** What the lean parsers share to hold a message that arrives over several reads. */

export const EMPTY: Buffer = Buffer.alloc(0)

/** Room for `need` bytes in `b` (of which `len` are in use), grown by doubling. */
export function ensure(b: Buffer, len: number, need: number): Buffer {
  if (need <= b.length) return b
  const grown = Buffer.allocUnsafe(Math.max(need, b.length * 2, 1024))
  b.copy(grown, 0, 0, len)
  return grown
}
