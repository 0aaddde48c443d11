/**
 * `tallymesh demo`: a short embedded demo of a limiter admitting and denying.
 *
 * @module
 */
import type { Command } from 'commander';
import { createLimiter } from '../src/index.js';

/** Registers the `demo` command. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Show a limiter admitting and then denying requests')
    .addHelpText('after', '\nExample:\n  $ tallymesh demo')
    .action(() => {
      let now = Date.now();
      const api = createLimiter({ name: 'api', limit: 5, windowMs: 10_000, now: () => now });
      console.log('limiter "api": 5 requests per 10 s window, key "user:42"\n');
      for (let i = 1; i <= 7; i++) {
        const d = api.consume('user:42');
        console.log(`request ${i}: ${d.allowed ? 'allowed' : 'denied '}  remaining=${d.remaining}  retryAfterMs=${d.retryAfterMs}`);
      }
      now += 10_500;
      const d = api.consume('user:42');
      console.log(`\n10.5 s later (half of the first bucket has slid out): ${d.allowed ? 'allowed' : 'denied'}  remaining=${d.remaining}`);
    });
}
