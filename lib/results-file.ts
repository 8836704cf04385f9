/** Builds a results file (DESIGN.md's contract) around measured scenarios. */
import { randomBytes } from 'node:crypto'
import { collectEnv } from './env.ts'
import type { ResultsFile, Scenario } from './results-schema.ts'

export function newRunId(profile: string, at = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\..+/, '').replace('T', '-')
  return `${profile}-${stamp}-${randomBytes(2).toString('hex')}`
}

export function newResultsFile(profile: string, pinned: boolean, startedAt = new Date()): ResultsFile {
  return {
    schemaVersion: 1,
    runId: newRunId(profile, startedAt),
    startedAt: startedAt.toISOString(),
    env: collectEnv(pinned),
    profile,
    scenarios: [] as Scenario[],
  }
}
