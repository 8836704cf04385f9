/** Shared CLI plumbing: commander with exit 2 on bad input, the flag named, and one error printer. */
import { Command, CommanderError, InvalidArgumentError } from 'commander'
import { EXIT_USAGE, PbError, PbOptionError } from './errors.ts'

export function newCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
}

/** Parses argv; help and version exit 0, any other commander error exits 2 (commander has printed it). */
export function parseArgs(cmd: Command, argv = process.argv): Command {
  try {
    cmd.parse(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exit(
        err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : EXIT_USAGE,
      )
    }
    throw err
  }
  return cmd
}

/** Prints a failure the way every CLI here does: exit 2 for bad input, 1 for anything else. */
export function fail(err: unknown, prog: string): never {
  if (err instanceof PbOptionError) {
    process.stderr.write(`${prog}: error: ${err.message}\n`)
    process.exit(EXIT_USAGE)
  }
  if (err instanceof PbError) {
    process.stderr.write(`${prog}: error [${err.code}]: ${err.message}\n`)
    process.exit(1)
  }
  process.stderr.write(`${prog}: ${(err as Error)?.stack ?? String(err)}\n`)
  process.exit(1)
}

/** commander argParser for a number; range checks happen once, later, with the flag's name. */
export function numberArg(value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('not a number.')
  return n
}
