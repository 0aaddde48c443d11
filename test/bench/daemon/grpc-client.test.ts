/**
 * The benchmark's `grpc-single` client against a running daemon: each
 * decide() is one ShouldRateLimit with two descriptors that the daemon counts,
 * and a refusal (a wrong token) fails the call rather than count as a decision.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GRPC_BENCH_RLS_CONFIG, grpcSingleClient } from '../../../bench/daemon/grpc-client.js';
import { KeyPicker } from '../../../bench/daemon/daemon-clients.js';
import { parseRlsDocuments } from '../../../src/rls/rls-config.js';
import { closeAll, startTestDaemon } from '../../helpers/daemon.js';

afterAll(closeAll);

describe('grpcSingleClient', () => {
  it('issues one ShouldRateLimit with two descriptors per decide(), each counted by the daemon', async () => {
    const token = 'bench-grpc-token-0123456789';
    const d = await startTestDaemon('bench-grpc', { apiToken: token, rlsPort: 0, rlsConfig: { domains: parseRlsDocuments(GRPC_BENCH_RLS_CONFIG, 'bench.yaml'), files: [] } });
    const c = grpcSingleClient(d.rlsPort as number, token, { keys: new KeyPicker(1), addresses: new KeyPicker(1, '10.0.0.') });
    const decided = await Promise.all(Array.from({ length: 20 }, () => c.decide()));
    expect(decided).toEqual(Array.from({ length: 20 }, () => 2));
    const metrics = await (await fetch(`${d.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    expect(metrics).toMatch(/^tallymesh_rls_descriptors_total\{result="ok"\} 40$/m);
    await c.close();
    const wrong = grpcSingleClient(d.rlsPort as number, 'not-the-token-at-all');
    await expect(wrong.decide()).rejects.toThrow(/grpc-single: ShouldRateLimit failed: 16 /);
    await wrong.close();
  });
});
