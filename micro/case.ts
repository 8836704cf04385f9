/** What a micro case is: one op, timed by tinybench, and the check its output must pass before it is timed. */
import { PbError } from '../lib/errors.ts'

export const GROUPS = ['serialise', 'ws-frame', 'sse-event', 'poll-response', 'parse', 'measure'] as const
export type Group = (typeof GROUPS)[number]

/** connections one update is fanned out to */
export const RECIPIENTS = [1, 100, 1000] as const
/** updates in one poll answer */
export const POLL_BATCH_UPDATES = [1, 10, 100] as const

export interface MicroCaseDef {
  readonly group: Group
  /** the variant, with its fan-out or batch size; payloadBytes is a separate field */
  readonly name: string
  readonly payloadBytes?: number
  readonly recipients?: number
  readonly updatesPerOp?: number
  /** one op; its result is kept so the work cannot be optimised away */
  readonly fn: () => unknown
  /** runs `fn` once and checks its output; throws MicroAssertionError when the bytes are wrong */
  readonly verify: () => void
}

/** Pairs an op with the check of its output, keeping the output's type between the two. */
export function defineCase<T>(
  c: Omit<MicroCaseDef, 'fn' | 'verify'> & {
    fn: () => T
    check: (out: T) => void
    /** puts stateful cases (a histogram, a parser) back to a known state before the checked call */
    before?: () => void
  },
): MicroCaseDef {
  const { check, before, ...rest } = c
  return {
    ...rest,
    verify: () => {
      before?.()
      check(c.fn())
    },
  }
}

/** The full label of a case, unique in a run: `group / name @ size`. */
export function caseLabel(c: Pick<MicroCaseDef, 'group' | 'name' | 'payloadBytes'>): string {
  return c.payloadBytes === undefined
    ? `${c.group} / ${c.name}`
    : `${c.group} / ${c.name} @ ${c.payloadBytes} B`
}

export class MicroAssertionError extends PbError {
  constructor(message: string) {
    super('PB_ERR_MICRO_ASSERT', message)
    this.name = 'MicroAssertionError'
  }
}

/** Throws a MicroAssertionError naming what was expected; used once per case, never in the timed loop. */
export function expect(ok: boolean, what: string, got?: unknown, want?: unknown): asserts ok {
  if (ok) return
  const detail = got === undefined && want === undefined ? '' : `: got ${show(got)}, want ${show(want)}`
  throw new MicroAssertionError(`${what}${detail}`)
}

export function expectBytes(got: Uint8Array, want: Uint8Array, what: string): void {
  if (Buffer.compare(got, want) === 0) return
  let i = 0
  while (i < got.length && i < want.length && got[i] === want[i]) i++
  throw new MicroAssertionError(
    `${what}: bytes differ at offset ${i} (got ${got.length} bytes, want ${want.length}): ` +
      `got ${show(Buffer.from(got.subarray(i, i + 24)).toString('latin1'))}, want ${show(Buffer.from(want.subarray(i, i + 24)).toString('latin1'))}`,
  )
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v)
  return s.length > 120 ? `${s.slice(0, 117)}...` : s
}
