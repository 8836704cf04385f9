/**
 * How a cost grows with the number of clients (the `scale` profile): up to which client count the server's
 * CPU per delivered update stays flat, and how far it has risen by the largest count.
 *
 * Flat is judged against a reference cost, and the smallest counts do not set it: with few clients the
 * fixed costs of a run (timers, the tick loop, GC, heartbeats) are spread over few updates, so the cost per
 * update falls as clients are added. A leading point is "dominated by fixed costs" while its cost is more
 * than (1 + tolerance) times the next point's: the curve is still falling steeply. The reference is the
 * median of the first two points after those (their mean; the one point when only one is left), and the
 * cost is flat while every point from there stays within +/- tolerance of it.
 */
import { formatCount, sig3 } from './format.ts'

export interface CostPoint {
  clients: number
  /** the cost at that count: server CPU us per delivered update */
  cost: number
}

export interface CostGrowth {
  /** the largest client count up to which every point from `from` stays within +/- tolerance of `reference` */
  flatUntil: number
  /** the first count past `flatUntil` whose cost is above the band; undefined: it never rises out of it */
  firstRiseAt: number | undefined
  /** the smallest count not dominated by fixed costs: where the band starts */
  from: number
  /** leading points left out as dominated by fixed costs (their cost still falling by more than the tolerance) */
  fixedCostPoints: number
  /** the cost the band is around (median of the first two points from `from`) */
  reference: number
  tolerance: number
  /** the largest count, and its cost relative to the reference (0.8 = 80% more, -0.3 = 30% less) */
  last: { clients: number; change: number }
}

export const FLAT_TOLERANCE = 0.25

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/**
 * Where the cost stops being flat. `points` sorted by clients (they are sorted here again); points whose
 * cost is not a finite positive number are left out. Undefined when no point is left.
 */
export function flatUntil(points: readonly CostPoint[], tolerance = FLAT_TOLERANCE): CostGrowth | undefined {
  const pts = points
    .filter((p) => Number.isFinite(p.cost) && p.cost > 0 && Number.isFinite(p.clients))
    .sort((a, b) => a.clients - b.clients)
  const cost = (i: number): number => (pts[i] as CostPoint).cost
  const lastPoint = pts.at(-1)
  if (!lastPoint) return undefined
  let b = 0
  while (b < pts.length - 1 && cost(b) > (1 + tolerance) * cost(b + 1)) b++
  const reference = median(pts.slice(b, b + 2).map((p) => p.cost))
  const within = (i: number) => Math.abs(cost(i) / reference - 1) <= tolerance
  let end = b
  while (end + 1 < pts.length && within(end + 1)) end++
  const rise = pts.slice(end + 1).find((p) => p.cost > (1 + tolerance) * reference)
  return {
    flatUntil: (pts[end] as CostPoint).clients,
    firstRiseAt: rise?.clients,
    from: (pts[b] as CostPoint).clients,
    fixedCostPoints: b,
    reference,
    tolerance,
    last: { clients: lastPoint.clients, change: lastPoint.cost / reference - 1 },
  }
}

/**
 * The growth in one sentence: `cost flat to 3,000 clients (around 12 us/update); rises 80% by 20,000`,
 * or `cost flat to 20,000 clients (the largest count judged), around 12 us/update`; with where the count
 * started when the smallest counts were dominated by fixed costs.
 */
export function describeGrowth(g: CostGrowth, unit = 'us/update'): string {
  const around = `${sig3(g.reference)} ${unit}`
  const pct = `${sig3(Math.abs(g.last.change) * 100)}%`
  let text =
    g.flatUntil === g.last.clients
      ? `cost flat to ${formatCount(g.flatUntil)} clients (the largest count judged), around ${around}`
      : `cost flat to ${formatCount(g.flatUntil)} clients (around ${around}); ${g.last.change >= 0 ? 'rises' : 'falls'} ${pct} by ${formatCount(g.last.clients)}`
  if (g.firstRiseAt !== undefined && g.firstRiseAt !== g.last.clients)
    text += ` (first above +${sig3(g.tolerance * 100)}% at ${formatCount(g.firstRiseAt)})`
  if (g.fixedCostPoints > 0)
    text += `; counted from ${formatCount(g.from)} clients, below which fixed costs dominate`
  return text
}
