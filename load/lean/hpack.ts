/**
 * HPACK (RFC 7541) as far as the suite needs it: the Huffman code's lengths (the byte model) and the code
 * itself, built from those lengths (the code is canonical: codes of one length are consecutive in symbol order,
 * each length starting where the shorter ones end), a request encoder that writes what node:http2's client
 * writes for the suite's requests, and a decoder that keeps a session's dynamic table and hands over the
 * few headers a lean client reads. Only printable ASCII is coded (every header the suite sends or reads);
 * any other byte in a Huffman string is an error.
 */

/**
 * Bits of each printable ASCII character's Huffman code (RFC 7541 Appendix B), from ' ' (32) to '~' (126).
 * Every other symbol's code is 13 bits or longer.
 */
// biome-ignore format: one row per character class
export const HUFFMAN_BITS: readonly number[] = [
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // ' ' .. '/'
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, // '0' .. '9'
  7, 8, 15, 6, 12, 10, 13, // ':' .. '@'
  6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, // 'A' .. 'Z'
  13, 19, 13, 14, 6, 15, // '[' .. '`'
  5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, // 'a' .. 'z'
  15, 11, 14, 13, // '{' .. '~'
]

/** Bits of `s` Huffman-coded (RFC 7541 5.2), before the padding to a whole byte; other bytes at 5 bits (a floor). */
export function huffmanBits(s: string): number {
  let bits = 0
  for (let i = 0; i < s.length; i++) bits += HUFFMAN_BITS[s.charCodeAt(i) - 32] ?? 5
  return bits
}

/** Bytes of an HPACK integer with an N-bit prefix (RFC 7541 5.1), the prefix byte included. */
export function hpackIntLength(value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1
  if (value < max) return 1
  let n = 2
  for (let v = value - max; v >= 128; v >>= 7) n++
  return n
}

/**
 * The codes of the symbols whose codes are 12 bits or shorter (all printable: the longer ones include the
 * non-printable symbols, whose lengths are not listed here, so they are left out rather than guessed).
 */
const CODES = new Map<number, { code: number; bits: number }>()
/** (bits << 16 | code) -> symbol, for decoding */
const SYMBOLS = new Map<number, number>()
{
  const syms = HUFFMAN_BITS.map((bits, i) => ({ sym: i + 32, bits }))
    .filter((s) => s.bits <= 12)
    .sort((a, b) => a.bits - b.bits || a.sym - b.sym)
  let code = 0
  let bits = syms[0]?.bits ?? 5
  for (const s of syms) {
    code <<= s.bits - bits
    bits = s.bits
    CODES.set(s.sym, { code, bits })
    SYMBOLS.set((bits << 16) | code, s.sym)
    code++
  }
}

/** `s` Huffman-coded, padded with the EOS prefix (1 bits); undefined when a character has no short code. */
export function huffmanEncode(s: string): Buffer | undefined {
  const out: number[] = []
  let acc = 0
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = CODES.get(s.charCodeAt(i))
    if (c === undefined) return undefined
    acc = (acc << c.bits) | c.code
    n += c.bits
    while (n >= 8) {
      n -= 8
      out.push((acc >> n) & 0xff)
    }
    acc &= (1 << n) - 1
  }
  if (n > 0) out.push(((acc << (8 - n)) | ((1 << (8 - n)) - 1)) & 0xff)
  return Buffer.from(out)
}

/** Decodes a Huffman string; throws on a code it does not know (a symbol longer than 12 bits). */
export function huffmanDecode(buf: Buffer, start: number, end: number): string {
  let out = ''
  let code = 0
  let bits = 0
  for (let i = start; i < end; i++) {
    const byte = buf[i] as number
    for (let b = 7; b >= 0; b--) {
      code = (code << 1) | ((byte >> b) & 1)
      bits++
      const sym = SYMBOLS.get((bits << 16) | code)
      if (sym !== undefined) {
        out += String.fromCharCode(sym)
        code = 0
        bits = 0
      } else if (bits > 12) throw new Error('HPACK: a Huffman code this decoder does not know')
    }
  }
  // what is left must be the EOS prefix (all 1 bits, under 8 of them)
  if (bits >= 8 || code !== (1 << bits) - 1) throw new Error('HPACK: bad Huffman padding')
  return out
}

/** An HPACK integer with an N-bit prefix at buf[at] (RFC 7541 5.1): its value and the offset past it. */
function readInt(buf: Buffer, at: number, prefixBits: number): [number, number] {
  const max = (1 << prefixBits) - 1
  let v = (buf[at] as number) & max
  at++
  if (v < max) return [v, at]
  let m = 0
  for (;;) {
    const b = buf[at++]
    if (b === undefined) throw new Error('HPACK: truncated integer')
    v += (b & 0x7f) * 2 ** m
    m += 7
    if ((b & 0x80) === 0) return [v, at]
  }
}

function writeInt(out: number[], value: number, prefixBits: number, flags: number): void {
  const max = (1 << prefixBits) - 1
  if (value < max) {
    out.push(flags | value)
    return
  }
  out.push(flags | max)
  let v = value - max
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80)
    v >>= 7
  }
  out.push(v)
}

/** A string literal as nghttp2 writes it: Huffman-coded when that is shorter, else raw. */
function writeString(out: number[], s: string): void {
  const h = huffmanEncode(s)
  if (h !== undefined && h.length < s.length) {
    writeInt(out, h.length, 7, 0x80)
    for (const b of h) out.push(b)
  } else {
    writeInt(out, s.length, 7, 0)
    for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0xff)
  }
}

/** RFC 7541 Appendix A: the static table's names (and values, where they are one). */
// biome-ignore format: one entry a line would be 61 lines
const STATIC: readonly (readonly [string, string])[] = [
  ['', ''], [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''],
  ['etag', ''], ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''],
  ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''],
  ['last-modified', ''], ['link', ''], ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
  ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''], ['retry-after', ''],
  ['server', ''], ['set-cookie', ''], ['strict-transport-security', ''], ['transfer-encoding', ''],
  ['user-agent', ''], ['vary', ''], ['via', ''], ['www-authenticate', ''],
]
const STATIC_INDEX = new Map<string, number>()
for (let i = STATIC.length - 1; i > 0; i--) STATIC_INDEX.set((STATIC[i] as readonly [string, string])[0], i)

/** A dynamic table (RFC 7541 2.3.2): newest first, 4,096 bytes unless a size update says otherwise. */
class DynamicTable {
  readonly entries: [string, string][] = []
  private size = 0
  constructor(private max = 4096) {}
  add(name: string, value: string): void {
    this.entries.unshift([name, value])
    this.size += name.length + value.length + 32
    this.evict()
  }
  resize(max: number): void {
    this.max = max
    this.evict()
  }
  private evict(): void {
    while (this.size > this.max) {
      const [n, v] = this.entries.pop() as [string, string]
      this.size -= n.length + v.length + 32
    }
  }
  get(index: number): readonly [string, string] {
    const e = index < STATIC.length ? STATIC[index] : this.entries[index - STATIC.length]
    if (e === undefined || index === 0) throw new Error(`HPACK: no table entry ${index}`)
    return e
  }
  find(name: string, value: string): number {
    const i = this.entries.findIndex(([n, v]) => n === name && v === value)
    return i < 0 ? -1 : i + STATIC.length
  }
}

/**
 * A session's request encoder, as node:http2's client (nghttp2) encodes the suite's requests: the fixed
 * pseudo-headers from the static table, `:authority` and other headers indexed once seen (literal with
 * incremental indexing the first time), `:path` never indexed.
 */
export class HpackEncoder {
  private readonly table = new DynamicTable()
  constructor(
    private readonly authority: string,
    private readonly https: boolean,
  ) {}

  /** The header block of a request: `:path`, `:method`, `:authority`, `:scheme`, then `headers` in order. */
  request(
    method: 'GET' | 'POST',
    path: string,
    headers: readonly (readonly [string, string])[] = [],
  ): Buffer {
    const out: number[] = []
    writeInt(out, 4, 4, 0) // :path, literal without indexing, name from the static table
    writeString(out, path)
    out.push(method === 'GET' ? 0x82 : 0x83)
    this.field(out, ':authority', this.authority)
    out.push(this.https ? 0x87 : 0x86)
    for (const [n, v] of headers) this.field(out, n, v)
    return Buffer.from(out)
  }

  private field(out: number[], name: string, value: string): void {
    const i = this.table.find(name, value)
    if (i > 0) {
      writeInt(out, i, 7, 0x80)
      return
    }
    const nameIndex = STATIC_INDEX.get(name)
    writeInt(out, nameIndex ?? 0, 6, 0x40)
    if (nameIndex === undefined) writeString(out, name)
    writeString(out, value)
    this.table.add(name, value)
  }
}

/** A session's response decoder: keeps the dynamic table, hands over every header. */
export class HpackDecoder {
  private readonly table = new DynamicTable()

  decode(buf: Buffer, start: number, end: number, onHeader: (name: string, value: string) => void): void {
    let at = start
    while (at < end) {
      const b = buf[at] as number
      if (b & 0x80) {
        const [i, next] = readInt(buf, at, 7)
        at = next
        const [n, v] = this.table.get(i)
        onHeader(n, v)
        continue
      }
      if ((b & 0xe0) === 0x20) {
        const [size, next] = readInt(buf, at, 5)
        at = next
        this.table.resize(size)
        continue
      }
      const indexing = (b & 0xc0) === 0x40
      const [nameIndex, next] = readInt(buf, at, indexing ? 6 : 4)
      at = next
      let name: string
      if (nameIndex === 0) [name, at] = this.string(buf, at)
      else name = this.table.get(nameIndex)[0]
      let value: string
      ;[value, at] = this.string(buf, at)
      if (indexing) this.table.add(name, value)
      onHeader(name, value)
    }
  }

  private string(buf: Buffer, at: number): [string, number] {
    const huff = ((buf[at] as number) & 0x80) !== 0
    const [len, start] = readInt(buf, at, 7)
    const end = start + len
    if (end > buf.length) throw new Error('HPACK: truncated string')
    return [huff ? huffmanDecode(buf, start, end) : buf.toString('latin1', start, end), end]
  }
}
