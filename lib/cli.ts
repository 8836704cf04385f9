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

/** `MIN..MAX`, as the help and the errors of a ranged flag show it. */
export function rangeText(range: { min: number; max: number }): string {
  return `${range.min}..${range.max}`
}

/**
 * commander argParser for a number flag with a known range (e.g. `PARAM_RANGES.tickHz`): what is not
 * a number is refused naming the range; numbers are range-checked once, later, with the flag's name.
 */
export function numberIn(range: { min: number; max: number }): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isFinite(n))
      throw new InvalidArgumentError(`not a number (allowed: ${rangeText(range)}).`)
    return n
  }
}
