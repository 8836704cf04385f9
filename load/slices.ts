/** Client slices: which of a run's clients one shard, or one generator process, owns. */

export interface Slice {
  /** the first client index it owns */
  first: number
  count: number
}

/** Slice `i` of `n` of `total` clients, balanced: sizes differ by at most one, the larger first. */
export function sliceOf(total: number, n: number, i: number): Slice {
  const base = Math.floor(total / n)
  const extra = total % n
  return { first: i * base + Math.min(i, extra), count: base + (i < extra ? 1 : 0) }
}

/** `slice` split over `n` processes (fewer when it has fewer clients than n), first indexes kept global. */
export function splitSlice(slice: Slice, n: number): Slice[] {
  const parts = Math.max(1, Math.min(n, slice.count))
  return Array.from({ length: parts }, (_, i) => {
    const s = sliceOf(slice.count, parts, i)
    return { first: slice.first + s.first, count: s.count }
  })
}
