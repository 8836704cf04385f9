/**
 * `seq` and `ts` out of update JSON by walking its bytes: no string, no JSON.parse. An update is a flat
 * object, `{"seq":N,"sym":"AAPL","px":123.45,"ts":1764050000000.123,"pad":"..."}`, whose strings hold no
 * quote; a poll answer is a JSON array of them.
 */

const QUOTE = 0x22
const COMMA = 0x2c
const MINUS = 0x2d
const DOT = 0x2e
const COLON = 0x3a
const LBRACKET = 0x5b
const RBRACKET = 0x5d
const LBRACE = 0x7b
const RBRACE = 0x7d

/** Where a scan puts what it found: pass one object, reused, so that a scan allocates nothing. */
export interface ScannedUpdate {
  seq: number
  ts: number
}

/** Called per update of a batch; `buf[objStart, objEnd)` is the update's JSON. */
export type OnUpdate = (seq: number, ts: number, objStart: number, objEnd: number) => void

// exact powers of ten (up to 1e22) divide the digits of a number with a fraction
const POW10: readonly number[] = Array.from({ length: 23 }, (_, k) => 10 ** k)

// what scanObject found (NaN: absent); module state rather than a returned object, so nothing is allocated
let foundSeq = Number.NaN
let foundTs = Number.NaN

function skipWs(buf: Buffer, i: number, end: number): number {
  while (i < end && (buf[i] as number) <= 0x20) i++
  return i
}

/** Not the common form (exponent, too many digits): the engine's own parser, on a short string. */
function slowNumber(buf: Buffer, s: number, e: number): number {
  return s === e ? Number.NaN : Number(buf.toString('latin1', s, e))
}

/**
 * A JSON number from its bytes. All its digits make an integer m (exact below 2^53) divided by 10^k for k
 * fraction digits: one correctly rounded division, so the same double as JSON.parse.
 */
function parseNumber(buf: Buffer, s: number, e: number): number {
  let i = s
  const neg = buf[i] === MINUS
  if (neg) i++
  let m = 0
  let digits = 0
  let frac = -1
  for (; i < e; i++) {
    const d = (buf[i] as number) - 0x30
    if (d >= 0 && d <= 9) {
      m = m * 10 + d
      digits++
      if (frac >= 0) frac++
    } else if (d === DOT - 0x30 && frac < 0) {
      frac = 0
    } else {
      return slowNumber(buf, s, e)
    }
  }
  if (digits === 0 || frac === 0) return Number.NaN
  if (m > Number.MAX_SAFE_INTEGER || frac > 22) return slowNumber(buf, s, e)
  const v = frac > 0 ? m / (POW10[frac] as number) : m
  return neg ? -v : v
}

/**
 * Walks one flat object from its `{` at i: sets foundSeq and foundTs; the index after its `}`, or -1.
 * With `early`, it returns (the index reached) as soon as both are found: the rest of the object (the
 * pad) is not walked, and the sampled full parse is what checks it.
 */
function scanObject(buf: Buffer, i: number, end: number, early = false): number {
  foundSeq = Number.NaN
  foundTs = Number.NaN
  if (i >= end || buf[i] !== LBRACE) return -1
  i = skipWs(buf, i + 1, end)
  if (i < end && buf[i] === RBRACE) return i + 1
  for (;;) {
    if (i >= end || buf[i] !== QUOTE) return -1
    const ks = i + 1
    let ke = ks
    while (ke < end && buf[ke] !== QUOTE) ke++
    if (ke >= end) return -1
    i = skipWs(buf, ke + 1, end)
    if (i >= end || buf[i] !== COLON) return -1
    i = skipWs(buf, i + 1, end)
    if (i >= end) return -1
    if (buf[i] === QUOTE) {
      // a string value: a native search, as `pad` may run for kilobytes
      const q = buf.indexOf(QUOTE, i + 1)
      if (q < 0 || q >= end) return -1
      i = q + 1
    } else {
      const vs = i
      while (i < end) {
        const c = buf[i] as number
        if (c === COMMA || c === RBRACE || c <= 0x20) break
        i++
      }
      const kl = ke - ks
      if (kl === 3 && buf[ks] === 0x73 && buf[ks + 1] === 0x65 && buf[ks + 2] === 0x71) {
        foundSeq = parseNumber(buf, vs, i)
      } else if (kl === 2 && buf[ks] === 0x74 && buf[ks + 1] === 0x73) {
        foundTs = parseNumber(buf, vs, i)
      }
      // (i < end: the number ended on its delimiter, so it is whole)
      if (early && i < end && !Number.isNaN(foundSeq) && !Number.isNaN(foundTs)) return i
    }
    i = skipWs(buf, i, end)
    if (i >= end) return -1
    if (buf[i] === RBRACE) return i + 1
    if (buf[i] !== COMMA) return -1
    i = skipWs(buf, i + 1, end)
  }
}

/** `{"seq":` */
const SEQ_PREFIX = [LBRACE, QUOTE, 0x73, 0x65, 0x71, QUOTE, COLON] as const

/**
 * The update as the suite's servers write it, `{"seq":N,...,"ts":T,...}` with no space and no quote
 * inside a string: seq from byte 7, then a search for `"ts":`, each number read digit by digit. About a
 * third of the general walk's cost, and false (for scanObject to decide) on anything else.
 */
function fastUpdate(buf: Buffer, start: number, end: number, out: ScannedUpdate): boolean {
  if (end - start < 16) return false
  for (let k = 0; k < 7; k++) if (buf[start + k] !== SEQ_PREFIX[k]) return false
  let i = start + 7
  let seq = 0
  let digits = 0
  for (; i < end; i++) {
    const d = (buf[i] as number) - 0x30
    if (d < 0 || d > 9) break
    seq = seq * 10 + d
    digits++
  }
  if (digits === 0 || digits > 15 || buf[i] !== COMMA) return false
  // `"ts":` after the fields between (no quote can sit inside a string here, so a key cannot be faked)
  const last = end - 5
  for (; i < last; i++) {
    if (
      buf[i] === QUOTE &&
      buf[i + 1] === 0x74 &&
      buf[i + 2] === 0x73 &&
      buf[i + 3] === QUOTE &&
      buf[i + 4] === COLON
    )
      break
  }
  if (i >= last) return false
  i += 5
  let m = 0
  let frac = -1
  digits = 0
  for (; i < end; i++) {
    const d = (buf[i] as number) - 0x30
    if (d >= 0 && d <= 9) {
      m = m * 10 + d
      digits++
      if (frac >= 0) frac++
    } else if (d === DOT - 0x30 && frac < 0) frac = 0
    else break
  }
  // a whole number, ended by its delimiter, exact in a double
  if (digits === 0 || m > Number.MAX_SAFE_INTEGER || frac === 0 || frac > 22) return false
  if (i >= end || (buf[i] !== COMMA && buf[i] !== RBRACE)) return false
  out.seq = seq
  out.ts = frac > 0 ? m / (POW10[frac] as number) : m
  return true
}

/**
 * Reads `seq` and `ts` of the one update in `buf[start, end)` into `out`. False (and `out` untouched) if the
 * object is malformed or lacks either number.
 */
export function scanUpdate(buf: Buffer, start: number, end: number, out: ScannedUpdate): boolean {
  if (fastUpdate(buf, start, end, out)) return true
  const e = scanObject(buf, skipWs(buf, start, end), end, true)
  // NaN: a field absent or not a number
  if (e < 0 || Number.isNaN(foundSeq) || Number.isNaN(foundTs)) return false
  out.seq = foundSeq
  out.ts = foundTs
  return true
}

/**
 * Calls `onUpdate` for each update of the JSON array in `buf[start, end)` (a poll answer), in order.
 * Returns how many, or -1 if the array is malformed or an update lacks `seq` or `ts` (the updates before
 * that point have been called back).
 */
export function scanBatch(buf: Buffer, start: number, end: number, onUpdate: OnUpdate): number {
  let i = skipWs(buf, start, end)
  if (i >= end || buf[i] !== LBRACKET) return -1
  i = skipWs(buf, i + 1, end)
  if (i < end && buf[i] === RBRACKET) return 0
  return scanElements(buf, i, end, onUpdate)
}

/**
 * Calls `onUpdate` for each update of the comma-separated objects from `buf[start]` up to the `]` that
 * closes their array (a poll answer's elements, or the arguments of a Socket.IO event after its name).
 * Returns how many, or -1 as scanBatch does.
 */
export function scanElements(buf: Buffer, start: number, end: number, onUpdate: OnUpdate): number {
  let i = skipWs(buf, start, end)
  let n = 0
  for (;;) {
    const objStart = i
    const objEnd = scanObject(buf, i, end)
    if (objEnd < 0 || Number.isNaN(foundSeq) || Number.isNaN(foundTs)) return -1
    onUpdate(foundSeq, foundTs, objStart, objEnd)
    n++
    i = skipWs(buf, objEnd, end)
    if (i >= end) return -1
    if (buf[i] === RBRACKET) return n
    if (buf[i] !== COMMA) return -1
    i = skipWs(buf, i + 1, end)
  }
}

const FROM_KEY = Buffer.from('"from":', 'latin1')

/**
 * Chat: the `from` of one message in `buf[start, end)` (`{"seq":S,"room":R,"from":C,...}`, servers/chat.ts),
 * by a search for `"from":` from the start (it sits right after the seq and room: a few bytes in); -1
 * when absent or not a non-negative integer.
 */
export function scanFrom(buf: Buffer, start: number, end: number): number {
  const at = buf.indexOf(FROM_KEY, start)
  if (at < 0 || at >= end) return -1
  let v = 0
  let digits = 0
  for (let i = at + FROM_KEY.length; i < end; i++) {
    const d = (buf[i] as number) - 0x30
    if (d < 0 || d > 9) break
    v = v * 10 + d
    digits++
  }
  return digits > 0 && digits <= 15 ? v : -1
}
