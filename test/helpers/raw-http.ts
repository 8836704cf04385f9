/** A hand-written HTTP/1.1 client over a raw socket: what the server sends, byte for byte. */
import { type ByteReader, connect } from './byte-reader.ts'

export interface ResponseHead {
  status: number
  /** header names lower-cased; a repeated header keeps its last value */
  headers: Record<string, string>
  raw: Buffer
}

export interface RawResponse extends ResponseHead {
  body: Buffer
}

/** `GET path HTTP/1.1` with a Host header and `headers`, as the bytes a client writes. */
export function requestBytes(path: string, headers: Record<string, string> = {}, method = 'GET'): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1']
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`)
  return `${lines.join('\r\n')}\r\n\r\n`
}

export function parseHead(raw: Buffer): ResponseHead {
  const lines = raw.toString('latin1').split('\r\n')
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(lines[0] ?? '')
  if (!m) throw new Error(`not an HTTP/1.1 status line: ${JSON.stringify(lines[0])}`)
  const headers: Record<string, string> = {}
  for (const line of lines.slice(1)) {
    if (line === '') continue
    const i = line.indexOf(':')
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
  }
  return { status: Number(m[1]), headers, raw }
}

export async function readHead(r: ByteReader, timeoutMs?: number): Promise<ResponseHead> {
  return parseHead(await r.until('\r\n\r\n', 'a response head', timeoutMs))
}

/** One chunk of a chunked body: `raw` is the chunk with its framing, `data` without; size 0 ends the body. */
export async function readChunk(
  r: ByteReader,
  timeoutMs?: number,
): Promise<{ raw: Buffer; data: Buffer; size: number }> {
  const line = await r.until('\r\n', 'a chunk size line', timeoutMs)
  const size = Number.parseInt(line.toString('latin1'), 16)
  if (!Number.isInteger(size)) throw new Error(`bad chunk size line ${JSON.stringify(line.toString())}`)
  const rest = await r.exactly(size + 2, `a chunk of ${size} bytes`, timeoutMs)
  if (rest.subarray(size).toString('latin1') !== '\r\n') throw new Error('chunk not followed by CRLF')
  return { raw: Buffer.concat([line, rest]), data: rest.subarray(0, size), size }
}

/** Reads a whole response (Content-Length, chunked, or no body) after its head. */
export async function readResponse(r: ByteReader, timeoutMs?: number): Promise<RawResponse> {
  const head = await readHead(r, timeoutMs)
  if (head.status === 204 || head.status === 304 || head.status < 200) {
    return { ...head, body: Buffer.alloc(0) }
  }
  const length = head.headers['content-length']
  if (length !== undefined) {
    return { ...head, body: await r.exactly(Number(length), 'a response body', timeoutMs) }
  }
  if (head.headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = []
    for (;;) {
      const c = await readChunk(r, timeoutMs)
      if (c.size === 0) break
      parts.push(c.data)
    }
    return { ...head, body: Buffer.concat(parts) }
  }
  return { ...head, body: await r.end('a body ended by close', timeoutMs) }
}

/** One keep-alive connection; requests are sent one at a time. */
export class HttpConnection {
  private constructor(readonly reader: ByteReader) {}

  static async open(port: number): Promise<HttpConnection> {
    return new HttpConnection(await connect(port))
  }

  get socket() {
    return this.reader.socket
  }

  /** Sends the request; the answer is awaited separately (a held long poll). */
  send(path: string, headers: Record<string, string> = {}): void {
    this.reader.socket.write(requestBytes(path, headers))
  }

  async get(path: string, headers: Record<string, string> = {}, timeoutMs?: number): Promise<RawResponse> {
    this.send(path, headers)
    return readResponse(this.reader, timeoutMs)
  }

  close(): void {
    this.reader.socket.destroy()
  }
}

/** One request on a fresh connection, which is then closed. */
export async function httpGet(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const c = await HttpConnection.open(port)
  try {
    return await c.get(path, headers)
  } finally {
    c.close()
  }
}

/** The body as JSON (the error answers). */
export function jsonBody(res: RawResponse): Record<string, unknown> {
  return JSON.parse(res.body.toString('utf8')) as Record<string, unknown>
}
