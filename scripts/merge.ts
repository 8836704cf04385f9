/**
 * `pushbench merge`: SHARD.json... --out MERGED.json
 * Merges the results files of one run's shards (`pushbench run --shard i/n --target URL`, one per
 * generator machine) into one results file: latency from the shards' HDR histograms exactly, client
 * counts summed, the server's counters once (report/merge-shards.ts). Exit 0: written; 2: bad input (a
 * file missing, not JSON, not a shard's results file, or shards that do not belong together).
 */

import { resolve } from 'node:path'
import { fail, newCommand, parseArgs } from '../lib/cli.ts'
import { PbOptionError } from '../lib/errors.ts'
import { checkOutputFile } from '../lib/output-path.ts'
import { writeResults } from '../lib/results-io.ts'
import { describeMerge, mergeShards } from '../report/merge-shards.ts'
import { readResultsArg } from '../report/read-input.ts'

const PROG = 'pushbench merge'

const cmd = newCommand(
  PROG,
  "Merge the results files of one run's shards into one results file (latency histograms merged exactly).",
)
  .argument('<FILE...>', "each shard's results file (any order; every shard index 0..n-1 exactly once)")
  .requiredOption('-o, --out <file>', 'the merged results file to write (its folder is created)')
  .addHelpText(
    'after',
    [
      '',
      'The shards must be of one run: the same shard count, profile, scenarios and params, the same',
      'transports, and the same measurement window. Each result must carry its HDR histogram',
      '(latencyMs.hdr). Client-side counts are summed; the server-side ones (bytes, CPU, requests) are',
      "shard 0's, divided over the updates all shards delivered.",
      '',
      'Exit status: 0 written, 1 failed, 2 bad input (a file missing, not JSON, not a shard results file,',
      'or shards that do not belong together).',
      'Example:',
      '  pushbench merge results/shard-0.json results/shard-1.json --out results/merged.json',
    ].join('\n'),
  )

async function main(): Promise<void> {
  parseArgs(cmd)
  const files = cmd.args
  const { out } = cmd.opts<{ out: string }>()
  checkOutputFile('--out', out, 'merged.json')
  if (files.some((f) => resolve(f) === resolve(out)))
    throw new PbOptionError('--out', `${out} is one of the shard files: write the merge elsewhere`)
  const inputs = files.map((file) => ({ file, results: readResultsArg(file, 'FILE') }))
  const merged = mergeShards(inputs)
  await writeResults(out, merged)
  process.stdout.write(describeMerge(merged, out))
}

main().catch((err) => fail(err, PROG))
