/**
 * The daemon benchmark's row table: the rows issue 12 asks for, like for like
 * (every tallymesh shape has a Redis row of the same shape, with both
 * scripts), and the daemon flags the rows need gathered once.
 */
import { describe, expect, it } from 'vitest';
import { daemonNeeds, THROUGHPUT_ROWS, type ThroughputRow } from '../../../bench/daemon/throughput-rows.js';

const names = (shape: 'single' | 'batched', server: 'tallymesh' | 'redis'): string[] =>
  THROUGHPUT_ROWS.filter((r) => r.shape === shape && r.server === server).map((r) => r.name);

describe('THROUGHPUT_ROWS', () => {
  it('has the one-per-call and many-per-message rows of both sides, each name once', () => {
    expect(names('single', 'tallymesh')).toEqual(['http-single', 'resp-single', 'stream-single', 'grpc-single']);
    expect(names('batched', 'tallymesh')).toEqual(['http-batch', 'resp-pipeline', 'stream']);
    expect(names('single', 'redis')).toEqual(['redis-sliding-window', 'redis-bucketed-counter']);
    expect(names('batched', 'redis')).toEqual(['redis-sliding-window-pipeline', 'redis-bucketed-counter-pipeline']);
    expect(new Set(THROUGHPUT_ROWS.map((r) => r.name)).size).toBe(THROUGHPUT_ROWS.length);
  });

  it('starts the daemon with its RESP port once for both RESP rows, and its gRPC port with the rate limit file', () => {
    const needs = daemonNeeds(THROUGHPUT_ROWS, 'some-dir');
    expect(needs.startArgs).toEqual(['--resp-port', '0', '--rls-port', '0', '--rls-config', 'some-dir/rls.yaml']);
    expect(needs.ports).toEqual(['resp', 'rls']);
    expect(Object.keys(needs.files)).toEqual(['rls.yaml']);
  });
});

describe('daemonNeeds', () => {
  const row = (name: string, daemon: ThroughputRow['daemon']): ThroughputRow => ({ ...THROUGHPUT_ROWS[0], name, daemon });

  it('gathers each port\'s flags and files once, naming the folder where a row says {dir}', () => {
    const rows = [
      row('a', { startArgs: ['--resp-port', '0'], ports: ['resp'] }),
      row('b', { files: { 'rls.yaml': 'domain: x\n' }, startArgs: ['--rls-port', '0', '--rls-config', '{dir}/rls.yaml'], ports: ['rls'] }),
      row('c', { startArgs: ['--resp-port', '0'], ports: ['resp'] }),
      row('d', undefined),
    ];
    expect(daemonNeeds(rows, 'some-dir')).toEqual({
      startArgs: ['--resp-port', '0', '--rls-port', '0', '--rls-config', 'some-dir/rls.yaml'],
      ports: ['resp', 'rls'],
      files: { 'rls.yaml': 'domain: x\n' },
    });
  });
});
