#!/usr/bin/env node
/**
 * pushbench <subcommand> [flags]: one CLI over the entry points in scripts/.
 *
 * Plain JS so that it runs with a bare `node`: it registers tsx in this process (tsx/esm/api, on
 * node:module's register(), Node >= 20.6) and imports scripts/<subcommand>.ts, after taking the
 * subcommand out of process.argv and putting the script's path in argv[1], so that the script sees
 * exactly the argv it sees when run as `node --import tsx scripts/<subcommand>.ts [flags]` and parses
 * its own flags (and prints its own --help). One process: signals (Ctrl-C) reach the script directly.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const ROOT = new URL('../', import.meta.url)

/** name: what it does, one line (`pushbench <name> --help` has the rest) */
const SUBCOMMANDS = {
  bench: 'run a profile or a config file of scenarios: results file, PNG charts, HTML report, summary',
  run: 'one transport, one scenario, one results file (the single-run contract)',
  serve: 'one server in the foreground: prints a JSON ready line, serves until SIGINT/SIGTERM',
  compare: 'per-metric deltas between two results files; exit 1 on a regression',
  merge: "shards' results files (run --shard i/n) into one results file, latency histograms merged exactly",
  charts: 'PNG charts (and the HTML report) from a results file alone',
  micro: 'per-message costs in-process with tinybench',
  advise: 'which transport for a load (clients, rate, payload): the pick and the evidence from results files',
  pages: 'the four servers and their live browser pages side by side, for a person to watch',
}
const NAMES = Object.keys(SUBCOMMANDS)
const EXIT_USAGE = 2

function help() {
  const width = Math.max(...NAMES.map((n) => n.length))
  return [
    'Usage: pushbench <subcommand> [flags]',
    '',
    'Short polling, long polling, SSE and WebSocket measured on the same live ticker.',
    '',
    'Subcommands:',
    ...NAMES.map((n) => `  ${n.padEnd(width)}  ${SUBCOMMANDS[n]}`),
    '',
    'Options:',
    '  -h, --help     this list',
    '  -V, --version  the version of pushbench',
    '',
    'Run `pushbench <subcommand> --help` for its flags.',
    'Exit codes: 0 done, 1 a run failed (compare: a regression), 2 a bad flag or config value, 130 interrupted.',
    '',
  ].join('\n')
}

const [, , sub, ...rest] = process.argv
if (sub === '--help' || sub === '-h') {
  process.stdout.write(help())
  process.exit(0)
}
if (sub === '--version' || sub === '-V') {
  const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8'))
  process.stdout.write(`${pkg.version}\n`)
  process.exit(0)
}
if (sub === undefined) {
  process.stderr.write(`pushbench: error: a subcommand is required\n\n${help()}`)
  process.exit(EXIT_USAGE)
}
if (!Object.hasOwn(SUBCOMMANDS, sub)) {
  const what = sub.startsWith('-') ? 'unknown option' : 'unknown subcommand'
  process.stderr.write(
    `pushbench: error: ${what} '${sub}' (allowed: ${NAMES.join(', ')}; run pushbench --help)\n`,
  )
  process.exit(EXIT_USAGE)
}

// the repo's tsconfig whatever the working directory (relative paths in flags stay the user's)
const { register } = await import('tsx/esm/api')
register({ tsconfig: fileURLToPath(new URL('tsconfig.json', ROOT)) })
// plugin transports (PUSHBENCH_PLUGINS, lib/plugins.ts) register before any script reads the registry
const { loadPlugins } = await import(new URL('lib/plugins.ts', ROOT).href)
try {
  await loadPlugins()
} catch (err) {
  process.stderr.write(`pushbench: error: ${err.message}\n`)
  process.exit(EXIT_USAGE)
}
const script = new URL(`scripts/${sub}.ts`, ROOT)
process.argv = [process.argv[0], fileURLToPath(script), ...rest]
await import(script.href)
