/**
 * Chat equivalence: for the same seed, every transport that supports chat (the default ones and any
 * registered row with an upstream), with lean and library clients, delivers the same set of
 * (room, sender, message id) to the same recipients: every member of the sender's room (the sender
 * included), none missing, none duplicated. Real servers on loopback, generators in-process; each client
 * sends a fixed number of messages (the generator's test-only chatSendLimit) so the set is the same.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resolveParams } from '../../lib/params.ts'
import { transport as transportEntry, transportNames } from '../../lib/transports.ts'
import { Generator } from '../../load/generator.ts'
import type { ClientKind, GeneratorMessage } from '../../load/generator-ipc.ts'
import { startServer } from '../../servers/server.ts'
import { waitFor } from '../helpers/wait.ts'

const CLIENTS = 12
const ROOMS = 3
const SENDS = 6
const params = resolveParams({ clients: CLIENTS, rooms: ROOMS, sendHz: 5, seed: 7, payloadBytes: 128 })

/** What every client must receive: every (room, from, id) of its room, once. */
function expected(): Map<number, string[]> {
  const out = new Map<number, string[]>()
  for (let c = 0; c < CLIENTS; c++) {
    const room = c % ROOMS
    const got: string[] = []
    for (let from = 0; from < CLIENTS; from++)
      if (from % ROOMS === room) for (let id = 1; id <= SENDS; id++) got.push(`${room}/${from}/${id}`)
    out.set(c, got.sort())
  }
  return out
}

// every registered transport (defaultTransports() and the opt-in rows other modules register): each must
// take chat, by POST /send (`upstream: post`) or on its own connection (`connection`: its client has `send`)
const transports = transportNames().filter(
  (n) => transportEntry(n).upstream === 'post' || transportEntry(n).upstream === 'connection',
)
const kinds: ClientKind[] = ['lean', 'library']

for (const transport of transports)
  for (const client of kinds) {
    test(`chat equivalence: ${transport} (${client}) delivers every (room, from, id) to every member, once`, async (t) => {
      const server = await startServer({ transport, workload: 'chat', rooms: ROOMS, port: 0, seed: 7 })
      const got = new Map<number, string[]>()
      let total = 0
      const messages: GeneratorMessage[] = []
      const gen = new Generator((m) => messages.push(m), {
        chatSendLimit: SENDS,
        chatRecord: (index, stream, from, id) => {
          total++
          const list = got.get(index) ?? []
          list.push(`${stream}/${from}/${id}`)
          got.set(index, list)
        },
      })
      // on any failure too: the generator's clients first (they would reconnect to a closing server and
      // keep this file's process alive), then the server
      t.after(async () => {
        if (!gen.finished) {
          gen.stop(undefined, 0)
          await waitFor(() => gen.finished, 'the generator to stop', 5000).catch(() => {})
        }
        await server.close()
      })
      await gen.start({
        type: 'start',
        transport,
        workload: 'chat',
        client,
        verifyEvery: 1,
        base: server.url,
        params,
        ramp: { batch: CLIENTS, pauseMs: 0 },
        clients: CLIENTS,
      })
      const connected = messages.find((m) => m.type === 'connected')
      assert.equal(connected?.type === 'connected' && connected.failed, 0)
      const want = expected()
      const wantTotal = [...want.values()].reduce((n, l) => n + l.length, 0)
      await waitFor(() => total >= wantTotal, `${wantTotal} messages received (got ${total})`, 15_000).catch(
        (e) => {
          throw new Error(
            `${e.message}: got ${total}, seqs: ${[0, 1, 2].map((r) => server.source.lastSeqOf(r))} errs: ${JSON.stringify(
              (gen as unknown as { clients: { counters: { lastError?: string } }[] }).clients
                .map((c) => c.counters.lastError)
                .filter(Boolean)
                .slice(0, 2),
            )} missing: ${JSON.stringify([...expected()].map(([c, l]) => [c, l.filter((x) => !(got.get(c) ?? []).includes(x))]))}`,
          )
        },
      )
      // a little longer: a duplicate would come now
      await new Promise((r) => setTimeout(r, 300))
      gen.stop(undefined, 0)
      await waitFor(() => gen.finished, 'the generator to stop', 5000)
      for (const [c, list] of want) assert.deepEqual((got.get(c) ?? []).sort(), list, `client ${c}`)
      assert.equal(total, wantTotal)
      const result = messages.find((m) => m.type === 'result')
      const report = result?.type === 'result' ? result.report : undefined
      assert.equal(report?.corrupt, 0)
      assert.equal(report?.errors, 0, report?.lastError)
    })
  }
