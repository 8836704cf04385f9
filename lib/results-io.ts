import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import * as v from 'valibot'
import { PbError } from './errors.ts'
import { makeFolders } from './make-folders.ts'
import { type ResultsFile, ResultsFileSchema } from './results-schema.ts'
import { writeAtomic } from './write-atomic.ts'

/** Names every invalid field by its path, e.g. `scenarios.0.results.1.latencyMs.p99: Invalid type`. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 10)
    .map((i) =>
      i.type === 'strict_object' && i.expected === 'never'
        ? `${v.getDotPath(i) ?? '(root)'}: unknown field (a typo?)`
        : `${v.getDotPath(i) ?? '(root)'}: ${i.message}`,
    )
    .join('; ')
}

/** The results file format this suite writes and reads (DESIGN.md, "Results file"). */
export const SCHEMA_VERSION = 1

export function validateResults(data: unknown, source = 'results'): ResultsFile {
  const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion
  if (data !== null && typeof data === 'object' && version !== SCHEMA_VERSION) {
    throw new PbError(
      'PB_ERR_RESULTS_SCHEMA',
      `${source} has schemaVersion ${JSON.stringify(version)}; this pushbench reads schemaVersion ${SCHEMA_VERSION}`,
    )
  }
  const r = v.safeParse(ResultsFileSchema, data)
  if (!r.success)
    throw new PbError(
      'PB_ERR_RESULTS_SCHEMA',
      `${source} does not match the results schema: ${describeIssues(r.issues)}`,
    )
  return r.output
}

/** Validates, then writes atomically (temp file in the same folder + rename): a reader never sees half a file. */
export async function writeResults(path: string, data: ResultsFile): Promise<void> {
  const valid = validateResults(data, path)
  try {
    await makeFolders(dirname(path))
    await writeAtomic(path, `${JSON.stringify(valid, null, 2)}\n`)
  } catch (err) {
    // the path was checked before the run (lib/output-path.ts); what fails now is the disk (full, removed)
    throw new PbError('PB_ERR_RESULTS_WRITE', `cannot write ${path}: ${(err as Error).message}`, {
      cause: err,
    })
  }
}

export function readResults(path: string): ResultsFile {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new PbError('PB_ERR_RESULTS_READ', `cannot read ${path}: ${(err as Error).message}`, { cause: err })
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new PbError('PB_ERR_RESULTS_READ', `${path} is not JSON: ${(err as Error).message}`, { cause: err })
  }
  return validateResults(data, path)
}
