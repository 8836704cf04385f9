/** Reads a results file named on a command line: a missing, unreadable or invalid file is bad input (exit 2). */
import { readFileSync } from 'node:fs'
import * as v from 'valibot'
import { PbError, PbOptionError } from '../lib/errors.ts'
import { readResults } from '../lib/results-io.ts'
import { type ResultsFile, ResultsFileSchema } from '../lib/results-schema.ts'

/** `field` names the argument in the message, e.g. `BASE` or `results file`. */
export function readResultsArg(path: string, field: string): ResultsFile {
  try {
    return readResults(path)
  } catch (err) {
    if (err instanceof PbError && err.code === 'PB_ERR_RESULTS_READ')
      throw new PbOptionError(field, err.message)
    if (err instanceof PbError && err.code === 'PB_ERR_RESULTS_SCHEMA')
      throw new PbOptionError(
        field,
        `${path} does not match the results schema: ${schemaProblems(path) ?? err.message}`,
      )
    throw err
  }
}

/**
 * The invalid fields by full path. A run result is a union (completed | errored), and valibot reports a
 * union as one opaque issue; its branch issues say which field is wrong. The deepest path is the branch
 * the file meant (a completed result with a bad `latencyMs.p99`, not an errored one lacking `error`).
 */
function schemaProblems(path: string): string | undefined {
  let data: unknown
  try {
    data = JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    return undefined
  }
  const r = v.safeParse(ResultsFileSchema, data)
  if (r.success) return undefined
  const lines = r.issues.slice(0, 10).map((issue) => {
    const at = v.getDotPath(issue) ?? '(root)'
    const subs = issue.issues ?? []
    if (subs.length === 0) return `${at}: ${issue.message}`
    const depth = (i: v.BaseIssue<unknown>) => i.path?.length ?? 0
    const deepest = Math.max(...subs.map(depth))
    return subs
      .filter((s) => depth(s) === deepest)
      .map((s) => `${at}${s.path?.length ? `.${v.getDotPath(s)}` : ''}: ${s.message}`)
      .join('; ')
  })
  return lines.join('; ')
}
