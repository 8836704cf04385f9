/** Every error the suite raises on purpose has a stable code and says how to fix it. */
export class PbError extends Error {
  constructor(
    readonly code: `PB_ERR_${string}`,
    message: string,
    opts?: ErrorOptions,
  ) {
    super(message, opts)
    this.name = 'PbError'
  }
}

/** Bad user input (flag, config value): the CLIs exit with this status. */
export const EXIT_USAGE = 2

/** Thrown for an invalid option; `field` is the flag or config key as the user wrote it. */
export class PbOptionError extends PbError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('PB_ERR_OPTION', `${field}: ${message}`)
    this.name = 'PbOptionError'
  }
}
