/**
 * Reference clients, one per transport, that keep every update's raw JSON bytes by seq:
 * poll clients follow `since`, the SSE client parses the chunked event stream, the WebSocket client reads frames.
 */
import { type ByteReader, connect } from './byte-reader.ts'
import { HttpConnection, type ResponseHead, readChunk, readHead, requestBytes } from './raw-http.ts'
import { waitFor } from './wait.ts'
import { clientFrame, OP, readFrame, wsOpen } from './ws-frames.ts'

/** Reads inside a client's loop may wait as long as a held poll or a quiet stream lasts. */
const LOOP_READ_TIMEOUT_MS = 120_000

/** Every update a client received, in arrival order, with the raw JSON of each seq. */
export class UpdateLog {
  /** seqs in the order they arrived (duplicates kept) */
  readonly seqs: number[] = []
  readonly json = new Map<number, Buffer>()

  add(json: Buffer): void {
    const seq = (JSON.parse(json.toString('latin1')) as { seq: number }).seq
    this.seqs.push(seq)
    if (!this.json.has(seq)) this.json.set(seq, Buffer.from(json))
  }

  /** Highest seq seen; 0 before any. */
  get last(): number {
    return this.seqs.reduce((a, b) => Math.max(a, b), 0)
  }
}

/** [from, from + 1, ..., to] */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)
}

/** The objects of a JSON array of update objects, as the raw bytes the server sent. */
export function splitJsonArray(body: Buffer): Buffer[] {
  const out: Buffer[] = []
  let depth = 0
  let start = -1
  let inString = false
  for (let i = 0; i < body.length; i++) {
    const c = body[i]
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x7b && depth++ === 0) start = i
    else if (c === 0x7d && --depth === 0) out.push(body.subarray(start, i + 1))
  }
  return out
}

/** Short polling: one keep-alive connection, `GET /poll?since=<last seen>` on demand. */
export class ShortPollClient {
  readonly log = new UpdateLog()
  private constructor(
    readonly conn: HttpConnection,
    public last: number,
  ) {}

  static async open(port: number, since = 0): Promise<ShortPollClient> {
    return new ShortPollClient(await HttpConnection.open(port), since)
  }

  /** One poll; returns how many updates it brought (0 for a 204). */
  async poll(): Promise<number> {
    const res = await this.conn.get(`/poll?since=${this.last}`)
    if (res.status === 204) return 0
    if (res.status !== 200) throw new Error(`poll answered ${res.status}: ${res.body.toString()}`)
    const updates = splitJsonArray(res.body)
    for (const u of updates) this.log.add(u)
    this.last = this.log.last
    return updates.length
  }

  /** Polls until it has seen `seq`; a 204 before then is a failure (the seq was published). */
  async pollUntil(seq: number): Promise<void> {
    while (this.last < seq) {
      if ((await this.poll()) === 0)
        throw new Error(`poll got 204 at since=${this.last}, wanted up to ${seq}`)
    }
  }

  close(): void {
    this.conn.close()
  }
}

/** Long polling: asks again at once after every answer, from the last seq seen. */
export class LongPollClient {
  readonly log = new UpdateLog()
  error: Error | undefined
  noContent = 0
  private stopped = false
  private loop: Promise<void> = Promise.resolve()
  private constructor(
    readonly conn: HttpConnection,
    public last: number,
  ) {}

  static async open(port: number, since = 0): Promise<LongPollClient> {
    const c = new LongPollClient(await HttpConnection.open(port), since)
    c.loop = c.run()
    return c
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        const res = await this.conn.get(`/long-poll?since=${this.last}`, {}, LOOP_READ_TIMEOUT_MS)
        if (res.status === 204) {
          this.noContent++
          continue
        }
        if (res.status !== 200) throw new Error(`long poll answered ${res.status}: ${res.body.toString()}`)
        for (const u of splitJsonArray(res.body)) this.log.add(u)
        this.last = this.log.last
      }
    } catch (err) {
      if (!this.stopped) this.error = err as Error
    }
  }

  async waitForSeq(seq: number): Promise<void> {
    await waitFor(() => {
      if (this.error) throw this.error
      return this.last >= seq
    }, `long poll to reach seq ${seq}`)
  }

  /** Drops the connection (a held request included). */
  async close(): Promise<void> {
    this.stopped = true
    this.conn.close()
    await this.loop
  }
}

export interface SseOpenOptions {
  lastEventId?: number
  /** resume with the `Last-Event-ID` header (default) or the `?lastEventId=` query */
  via?: 'header' | 'query'
}

/** SSE: parses `id:`/`data:` events (and `retry:` fields) out of the chunked stream. */
export class SseClient {
  readonly log = new UpdateLog()
  readonly ids: number[] = []
  heartbeats = 0
  /** `retry:` values the server sent (its browser reconnect delay), ms */
  readonly retries: number[] = []
  /** the server sent the last chunk (`0\r\n\r\n`): the stream ended cleanly */
  finished = false
  error: Error | undefined
  private stopped = false
  private text = Buffer.alloc(0)
  private loop: Promise<void> = Promise.resolve()
  private constructor(
    readonly reader: ByteReader,
    readonly head: ResponseHead,
  ) {}

  static async open(port: number, opts: SseOpenOptions = {}): Promise<SseClient> {
    const reader = await connect(port)
    const { lastEventId, via = 'header' } = opts
    const query = lastEventId !== undefined && via === 'query' ? `?lastEventId=${lastEventId}` : ''
    const headers: Record<string, string> =
      lastEventId !== undefined && via === 'header' ? { 'Last-Event-ID': String(lastEventId) } : {}
    reader.socket.write(requestBytes(`/sse${query}`, headers))
    const head = await readHead(reader)
    if (head.status !== 200) throw new Error(`SSE answered ${head.status}`)
    const c = new SseClient(reader, head)
    c.loop = c.run()
    return c
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        const chunk = await readChunk(this.reader, LOOP_READ_TIMEOUT_MS)
        if (chunk.size === 0) {
          this.finished = true
          return
        }
        this.text = Buffer.concat([this.text, chunk.data])
        for (let end = this.text.indexOf('\n\n'); end >= 0; end = this.text.indexOf('\n\n')) {
          this.onEvent(this.text.subarray(0, end))
          this.text = this.text.subarray(end + 2)
        }
      }
    } catch (err) {
      if (!this.stopped) this.error = err as Error
    }
  }

  private onEvent(block: Buffer): void {
    let data: Buffer | undefined
    for (let start = 0; start <= block.length; ) {
      let nl = block.indexOf(0x0a, start)
      if (nl < 0) nl = block.length
      const line = block.subarray(start, nl)
      start = nl + 1
      if (line[0] === 0x3a) this.heartbeats++
      else if (line.toString('latin1').startsWith('id: ')) this.ids.push(Number(line.subarray(4).toString()))
      else if (line.toString('latin1').startsWith('data: ')) data = line.subarray(6)
      else if (line.toString('latin1').startsWith('retry: '))
        this.retries.push(Number(line.subarray(7).toString()))
      else throw new Error(`unexpected SSE line ${JSON.stringify(line.toString())}`)
    }
    if (data) this.log.add(data)
  }

  async waitForSeq(seq: number): Promise<void> {
    await waitFor(() => {
      if (this.error) throw this.error
      return this.log.last >= seq
    }, `SSE to reach seq ${seq}`)
  }

  /** Waits for the server to end the stream. */
  async ended(): Promise<void> {
    await this.loop
    if (this.error) throw this.error
  }

  async close(): Promise<void> {
    this.stopped = true
    this.reader.socket.destroy()
    await this.loop
  }
}

/** WebSocket: reads text frames; answers pings; remembers the close code. */
export class WsClient {
  readonly log = new UpdateLog()
  /** pings the server sent (each answered with a pong) */
  pings = 0
  closeCode: number | undefined
  error: Error | undefined
  private stopped = false
  private loop: Promise<void> = Promise.resolve()
  private constructor(readonly reader: ByteReader) {}

  static async open(port: number, since?: number): Promise<WsClient> {
    const c = new WsClient(await wsOpen(port, since === undefined ? '/ws' : `/ws?since=${since}`))
    c.loop = c.run()
    return c
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        const f = await readFrame(this.reader, LOOP_READ_TIMEOUT_MS)
        if (f.masked) throw new Error('server frame is masked')
        if (f.opcode === OP.text) this.log.add(f.payload)
        else if (f.opcode === OP.ping) {
          this.pings++
          this.reader.socket.write(clientFrame(OP.pong, f.payload))
        } else if (f.opcode === OP.close) {
          this.closeCode = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005
          this.reader.socket.write(clientFrame(OP.close, f.payload.subarray(0, 2)))
          return
        } else throw new Error(`unexpected opcode ${f.opcode}`)
      }
    } catch (err) {
      if (!this.stopped) this.error = err as Error
    }
  }

  /** `{"resume":SEQ}`: fill in what this connection has not had after SEQ. */
  resume(seq: number): void {
    this.reader.socket.write(clientFrame(OP.text, JSON.stringify({ resume: seq })))
  }

  async waitForSeq(seq: number): Promise<void> {
    await waitFor(() => {
      if (this.error) throw this.error
      return this.log.last >= seq
    }, `WebSocket to reach seq ${seq}`)
  }

  /** Waits for the server's close frame (answered) and the end of the TCP connection. */
  async closedByServer(): Promise<number | undefined> {
    await this.loop
    if (this.error) throw this.error
    await this.reader.end('the TCP connection to end after the close handshake')
    return this.closeCode
  }

  async close(): Promise<void> {
    this.stopped = true
    this.reader.socket.destroy()
    await this.loop
  }
}
