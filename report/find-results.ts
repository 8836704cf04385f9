/**
 * Gathers results files from paths a user names: a file is read as a results file (a missing or invalid
 * one is bad input, exit 2, as every reader here treats a file named on the command line); a folder is
 * searched, subfolders included, for every `.json` that is a results file (the bench writes
 * `<out>/<runId>.json`, advise's focused runs `results/advise/<runId>.json`), and what is not one is
 * counted and left out, since folders of results also hold other JSON. A path that does not exist is no
 * evidence, said so: `advise` then decides whether to measure.
 */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { readResults } from '../lib/results-io.ts'
import type { ResultsFile } from '../lib/results-schema.ts'
import { readResultsArg } from './read-input.ts'

export interface FoundResults {
  files: { path: string; file: ResultsFile }[]
  /** what was left out and why, one line each */
  notes: string[]
}

/** `field` names the flag in errors, e.g. `--from`. */
export function findResults(paths: readonly string[], field: string): FoundResults {
  const found: FoundResults = { files: [], notes: [] }
  const seen = new Set<string>()
  const add = (path: string, file: ResultsFile) => {
    if (seen.has(file.runId)) return
    seen.add(file.runId)
    found.files.push({ path, file })
  }
  for (const path of paths) {
    let isDir: boolean
    try {
      isDir = statSync(path).isDirectory()
    } catch {
      found.notes.push(`${path}: no such file or folder`)
      continue
    }
    if (!isDir) {
      add(path, readResultsArg(path, field))
      continue
    }
    const jsons = (readdirSync(path, { recursive: true, encoding: 'utf8' }) as string[])
      .filter((name) => name.endsWith('.json'))
      .sort()
    let others = 0
    for (const name of jsons) {
      try {
        add(join(path, name), readResults(join(path, name)))
      } catch {
        others++
      }
    }
    if (jsons.length === 0) found.notes.push(`${path}: no results files`)
    if (others > 0)
      found.notes.push(
        `${path}: left out ${others} .json file${others === 1 ? '' : 's'} that are not results files`,
      )
  }
  return found
}
