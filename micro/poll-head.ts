/**
 * The HTTP response head of a poll answer, as the real short-poll server (fastify on node:http) sends
 * it: captured once from a live server on port 0, then used as a template with the body's length.
 */

import { connect } from 'node:net'
import { transport } from '../lib/transports.ts'
import { pollBody } from '../servers/frames.ts'
import { startServer } from '../servers/server.ts'
import { expectBytes, MicroAssertionError } from './case.ts'

const CAPTURE_TIMEOUT_MS = 5000

/** The captured head split around its content-length value (Date stays as captured: node refreshes it once a second). */
export interface PollHeadTemplate {
  readonly before: string
  readonly after: string
  /** the whole captured response, head and body */
  readonly captured: Buffer
}

/** Head + body of a poll answer: the head from the template, the body joined from the stored buffers. */
export function pollResponse(t: PollHeadTemplate, jsons: readonly Buffer[]): [Buffer, Buffer] {
  const body = pollBody(jsons)
  return [Buffer.from(`${t.before}${body.length}${t.after}`, 'latin1'), body]
}

/** Starts the short-poll server, publishes 3 updates, reads one `GET <path>?since=0` answer raw, stops. */
export async function capturePollHead(): Promise<PollHeadTemplate> {
  const server = await startServer({ transport: 'short-poll', port: 0, autoStart: false })
  try {
    for (let i = 0; i < 3; i++) server.source.publishTick()
    const jsons = server.source.since(0, 0).map((u) => u.json)
    const raw = await rawGet(server.port, `${transport('short-poll').path}?since=0`)
    const end = raw.indexOf('\r\n\r\n')
    const head = raw.subarray(0, end + 4).toString('latin1')
    const m = /\r\ncontent-length: (\d+)\r\n/i.exec(head)
    if (!head.startsWith('HTTP/1.1 200 ') || m === null) {
      throw new MicroAssertionError(`the short-poll server's answer has no 200 with content-length: ${head}`)
    }
    const at = m.index + m[0].indexOf(': ') + 2
    const t: PollHeadTemplate = {
      before: head.slice(0, at),
      after: head.slice(at + (m[1] as string).length),
      captured: raw,
    }
    // the template reproduces the server's bytes exactly, or every poll case would build the wrong thing
    expectBytes(Buffer.concat(pollResponse(t, jsons)), raw, 'poll response rebuilt from the captured head')
    return t
  } finally {
    await server.close()
  }
}

function rawGet(port: number, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    let got = 0
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no complete answer to GET ${path} within ${CAPTURE_TIMEOUT_MS} ms`))
    }, CAPTURE_TIMEOUT_MS)
    socket.on('data', (c: Buffer) => {
      chunks.push(c)
      got += c.length
      const all = Buffer.concat(chunks, got)
      const end = all.indexOf('\r\n\r\n')
      if (end < 0) return
      const m = /\r\ncontent-length: (\d+)\r\n/i.exec(all.subarray(0, end + 4).toString('latin1'))
      const total = end + 4 + Number(m?.[1] ?? 0)
      if (all.length < total) return
      clearTimeout(timer)
      socket.destroy()
      resolve(all.subarray(0, total))
    })
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
  })
}
