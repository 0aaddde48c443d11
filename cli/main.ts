#!/usr/bin/env node
/**
 * The `tallymesh` command line: commander wiring only; each command lives in
 * its own file.
 *
 * @module
 */
import { Command } from 'commander';
import { createRequire } from 'node:module';
import { registerDemo } from './demo.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command()
  .name('tallymesh')
  .description('A distributed sliding-window rate limiter that needs no Redis.')
  .version(version);

registerDemo(program);

await program.parseAsync(process.argv);
