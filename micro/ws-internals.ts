/**
 * ws's own framer and parser. ws 8 exports them by name under ESM, but @types/ws does not declare
 * them, so they are typed here from node_modules/ws/lib/sender.js and receiver.js.
 */
import * as wsModule from 'ws'
import { PbError } from '../lib/errors.ts'

export interface FrameOptions {
  fin: boolean
  opcode: number
  mask: boolean
  readOnly: boolean
  rsv1: boolean
}

export interface SenderStatic {
  /** header + data as ws writes them: `[header, data]` unmasked (data not copied), `[header+masked data]` masked read-only */
  frame(data: Buffer, options: FrameOptions): Buffer[]
}

export interface ReceiverOptions {
  isServer?: boolean
  maxPayload?: number
  allowSynchronousEvents?: boolean
  skipUTF8Validation?: boolean
}

/** A Writable: the client's socket bytes go to `write`, whole messages come out as 'message' events. */
export interface Receiver {
  write(chunk: Buffer): boolean
  on(event: 'message', fn: (data: Buffer, isBinary: boolean) => void): this
  on(event: 'error', fn: (err: Error) => void): this
}

const mod = wsModule as unknown as {
  Sender?: SenderStatic
  Receiver?: new (options?: ReceiverOptions) => Receiver
}

if (typeof mod.Sender?.frame !== 'function' || typeof mod.Receiver !== 'function') {
  throw new PbError(
    'PB_ERR_WS_INTERNALS',
    'ws does not export Sender.frame and Receiver by name: the micro-benchmarks need ws 8 (npm ls ws)',
  )
}

export const Sender: SenderStatic = mod.Sender
export const ReceiverClass: new (options?: ReceiverOptions) => Receiver = mod.Receiver

/** What ws's client passes its Receiver by default (lib/websocket.js): client mode, 100 MiB max payload. */
export const CLIENT_RECEIVER_OPTIONS: ReceiverOptions = {
  isServer: false,
  maxPayload: 100 * 1024 * 1024,
  allowSynchronousEvents: true,
  skipUTF8Validation: false,
}
