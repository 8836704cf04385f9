/** A buffered reader over a raw socket: take exact byte counts or up to a delimiter, with deadlines. */
import net, { type Socket } from 'node:net'
import { withTimeout } from './wait.ts'

export class ByteReader {
  private buf: Buffer = Buffer.alloc(0)
  private wake: (() => void) | undefined
  /** the peer sent FIN (or the socket closed) */
  ended = false
  error: Error | undefined
  /** resolves when the socket is fully closed */
  readonly closed: Promise<void>

  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d])
      this.notify()
    })
    socket.on('end', () => {
      this.ended = true
      this.notify()
    })
    socket.on('error', (err) => {
      this.error = err
      this.notify()
    })
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true
        this.notify()
        resolve()
      }),
    )
  }

  /** Bytes received and not taken yet. */
  get pending(): Buffer {
    return this.buf
  }

  private notify(): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  /**
   * Waits until `need(buffered)` returns how many bytes to take (>= 0), then takes them.
   * Fails if the connection ends first or after `timeoutMs`.
   */
  async take(need: (buf: Buffer) => number, what: string, timeoutMs = 5000): Promise<Buffer> {
    const run = async (): Promise<Buffer> => {
      for (;;) {
        const n = need(this.buf)
        if (n >= 0) {
          const out = this.buf.subarray(0, n)
          this.buf = this.buf.subarray(n)
          return out
        }
        if (this.ended || this.error) {
          throw new Error(`connection ended (${this.error?.message ?? 'EOF'}) before ${what}`)
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve
        })
      }
    }
    return withTimeout(run(), what, timeoutMs)
  }

  exactly(n: number, what = `${n} bytes`, timeoutMs?: number): Promise<Buffer> {
    return this.take((b) => (b.length >= n ? n : -1), what, timeoutMs)
  }

  /** Everything up to and including `delim`. */
  until(delim: string, what = JSON.stringify(delim), timeoutMs?: number): Promise<Buffer> {
    return this.take(
      (b) => {
        const i = b.indexOf(delim, 0, 'latin1')
        return i < 0 ? -1 : i + delim.length
      },
      what,
      timeoutMs,
    )
  }

  /** Waits for the peer to end the connection; returns whatever came before the end. */
  async end(what = 'the connection to end', timeoutMs = 5000): Promise<Buffer> {
    await withTimeout(
      (async () => {
        while (!this.ended) {
          await new Promise<void>((resolve) => {
            this.wake = resolve
          })
        }
      })(),
      what,
      timeoutMs,
    )
    const rest = this.buf
    this.buf = Buffer.alloc(0)
    return rest
  }
}

/** Opens a TCP connection to 127.0.0.1:port and wraps it in a reader. */
export async function connect(port: number): Promise<ByteReader> {
  const socket = net.connect({ host: '127.0.0.1', port })
  const reader = new ByteReader(socket)
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    }),
    `connect to port ${port}`,
  )
  return reader
}
