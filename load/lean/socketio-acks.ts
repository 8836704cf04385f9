/**
 * The lean Socket.IO clients' acknowledgements (load/clients/lean/socketio-*.ts): a chat `send` goes out
 * as `42ID["send",{...}]` and is done when `43ID[...]` comes back, `[{"stream":..,"seq":..}]` or a
 * refusal `[{"error":..,"field":..}]`.
 */
export type AckDone = (err?: Error) => void

export class SocketIoAcks {
  private readonly waiting = new Map<number, AckDone>()
  private nextId = 0

  /** The packet that sends `body` (JSON) as a `send` event, its acknowledgement calling `done`. */
  sendPacket(body: Buffer, done: AckDone): string {
    const id = this.nextId++
    this.waiting.set(id, done)
    return `42${id}["send",${body.toString('utf8')}]`
  }

  /** One ack packet's text after `43`; false when it answers nothing sent (the caller counts an error). */
  onAck(text: string): boolean {
    const m = /^(\d+)(\[.*\])$/s.exec(text)
    const done = m ? this.waiting.get(Number(m[1])) : undefined
    if (!m || !done) return false
    this.waiting.delete(Number(m[1]))
    let a: { error?: string }[] = []
    try {
      a = JSON.parse(m[2] as string)
    } catch {}
    const err = a[0]?.error
    done(err === undefined ? undefined : new Error(err))
    return true
  }
}
