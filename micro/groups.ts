/** Builds the cases of one group (the poll group first captures the real server's response head). */
import type { Group, MicroCaseDef } from './case.ts'
import { sseEventCases, wsFrameCases } from './cases-framing.ts'
import { measureCases } from './cases-measure.ts'
import { parseCases } from './cases-parse.ts'
import { pollResponseCases } from './cases-poll.ts'
import { serialiseCases } from './cases-serialise.ts'
import { capturePollHead } from './poll-head.ts'

export async function buildCases(group: Group): Promise<MicroCaseDef[]> {
  switch (group) {
    case 'serialise':
      return serialiseCases()
    case 'ws-frame':
      return wsFrameCases()
    case 'sse-event':
      return sseEventCases()
    case 'poll-response':
      return pollResponseCases(await capturePollHead())
    case 'parse':
      return parseCases()
    case 'measure':
      return measureCases()
  }
}

/** What each group's chart and table say the figures are. */
export const GROUP_TITLES: Readonly<Record<Group, string>> = Object.freeze({
  serialise: 'Serialising an update for R recipients',
  'ws-frame': 'Building WebSocket frames',
  'sse-event': 'Building an SSE event and its chunk framing',
  'poll-response': 'Building a poll answer (head + JSON array of k updates)',
  parse: 'Client-side parsing',
  measure: "The load generator's own recording cost per update",
})
