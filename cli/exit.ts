/**
 * Exit codes of the `tallymesh` command line, the error that carries one
 * out of a command to `main.ts`, and flag parsers that fail with it.
 *
 * @module
 */
/** What parses durations: the package entries' `parseDuration`. */
interface DurationParser {
  parseDuration(value: string, field: string, min?: number, max?: number): number;
}

/** Every exit code the CLI uses. */
export const EXIT = {
  /** Success; `consume`: the request was allowed. */
  OK: 0,
  /** `consume`: denied. `simulate`: the run found a correctness violation. Other commands: a runtime failure. */
  FAILED: 1,
  /** Bad usage or configuration, or (client commands) the daemon could not answer. Nothing was started. */
  USAGE: 2,
} as const;

/** Thrown by a command to end the process with `code` after printing `message` on stderr. */
export class CliExit extends Error {
  override readonly name = 'CliExit';
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** A usage error: the message goes to stderr and the process exits 2. */
export function usageError(message: string): CliExit {
  return new CliExit(EXIT.USAGE, message);
}

/** Parses a command-line integer within [min, max] or throws a usage error naming the flag. */
export function intFlag(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value.replace(/_/g, ''));
    if (!/^-?\d[\d_]*$/.test(value.trim()) || !Number.isInteger(n) || n < min || n > max) {
      throw usageError(`${flag}: must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

/** Parses a command-line number within [min, max] or throws a usage error naming the flag. */
export function numberFlag(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = value.trim() === '' ? NaN : Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw usageError(`${flag}: must be a number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return n;
  };
}

/**
 * Parses a command-line duration (`500ms`, `3s`, `5m`, or ms) within
 * [min, max] with the package's own parser, or throws a usage error naming
 * the flag. Durations are converted in the action, once the entry is loaded.
 */
export function durationFlag(tm: DurationParser, flag: string, value: string, min = 0, max = 31 * 24 * 3_600_000): number {
  try {
    return tm.parseDuration(value, flag, min, max);
  } catch (err) {
    // The config error reads "Invalid configuration: <flag>: <problem>"; a flag is not a config file.
    throw usageError((err as Error).message.replace(/^Invalid configuration: /, ''));
  }
}
