#!/usr/bin/env node
/**
 * The `tallymesh` command line: commander wiring and exit codes only; each
 * command lives in its own file.
 *
 * Exit codes: 0 success, 1 a runtime failure (or `consume`: denied,
 * `simulate`: a violated guarantee), 2 bad usage or configuration (nothing
 * was started).
 *
 * @module
 */
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { registerConsume } from './consume.js';
import { registerDemo } from './demo.js';
import { CliExit, EXIT } from './exit.js';
import { ClientError } from './http-client.js';
import { registerSimulate } from './simulate.js';
import { registerStart } from './start.js';
import { registerStatus } from './status.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

// `tallymesh status --json | head`: a reader that stops early is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.OK);
  throw err;
});

const program = new Command()
  .name('tallymesh')
  .description('A distributed sliding-window rate limiter that needs no Redis.')
  .version(version)
  // Set before the commands are added so every command inherits them.
  .exitOverride()
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText(
    'after',
    `
Examples:
  $ tallymesh demo                                   # a local 3-node cluster under load
  $ tallymesh start --limiter name=api,limit=100,window=60s
  $ tallymesh consume --limiter api --key user:42
  $ tallymesh status
  $ tallymesh simulate --partition 2:3 --loss 0.01 --skew 100ms

Run "tallymesh <command> --help" for each command's flags.`,
  );

registerStart(program);
registerDemo(program);
registerConsume(program);
registerStatus(program);
registerSimulate(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = exitCodeOf(err);
}

/** Prints what went wrong (commander already printed its own errors) and picks the exit code. */
function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version end with exit code 0; anything else commander rejects is a usage error.
    return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (err instanceof CliExit) {
    if (err.message !== '') console.error(`tallymesh: ${err.message}`);
    return err.exitCode;
  }
  // Matched by code, not class: the package entry is loaded lazily and may not be loaded at all.
  if (err instanceof ClientError || (err as { code?: unknown })?.code === 'TALLYMESH_ERR_CONFIG_INVALID') {
    console.error(`tallymesh: ${(err as Error).message}`);
    return EXIT.USAGE;
  }
  console.error('tallymesh: unexpected error:', err);
  return EXIT.FAILED;
}
