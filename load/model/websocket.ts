/** WebSocket: one unmasked text frame per update (2, 4 or 10 bytes of header); nothing upstream. */
import { wsFrameHeaderLength } from '../../servers/frames.ts'
import { type ByteModel, modelResult } from './types.ts'

export const websocketModel: ByteModel = (p) =>
  modelResult(0, wsFrameHeaderLength(p.payloadBytes) + p.payloadBytes)
