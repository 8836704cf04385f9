/**
 * A raw TCP connection for a lean client, read into one buffer that every lean connection of the process
 * shares (net's `onread`): no Buffer is allocated per read and no stream machinery runs, so a read costs
 * the syscall, one callback and the parse. What a read delivers is valid only during the callback: the
 * parsers copy what they keep (a frame or a line split across reads) and the clients consume the rest
 * synchronously.
 */
import net from 'node:net'

/** Bytes one read may return: larger than a tick's batch at the rates the suite drives. */
export const READ_BUFFER_BYTES = 64 * 1024

const shared = Buffer.allocUnsafe(READ_BUFFER_BYTES)

/** `onRead(buf, end)`: the bytes `buf[0, end)` just read, valid only during the call. */
export type OnRead = (buf: Buffer, end: number) => void

export function leanConnect(host: string, port: number, onRead: OnRead): net.Socket {
  return net.connect({
    host,
    port,
    noDelay: true,
    onread: {
      buffer: shared,
      callback: (n: number, buf: Uint8Array): boolean => {
        onRead(buf as Buffer, n)
        return true
      },
    },
  })
}
