/**
 * Fuzzes the frame decoder with real captured frames, mutated. Properties:
 * decodeFrame throws nothing but a FrameError with a registered code; what
 * it accepts re-encodes and decodes to the same frame; the heap does not
 * grow with the number of inputs.
 *
 * Iterations: TALLYMESH_FUZZ_ITERATIONS, else 120,000 (2,000,000 with
 * TALLYMESH_FUZZ_LONG=1). Seed: TALLYMESH_FUZZ_SEED (printed on failure).
 */
import { isDeepStrictEqual } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FRAME_ERROR_CODES, FrameError, frameTypeName } from '../../transport/codec/codec.js';
import { createPrng } from '../../transport/sim/prng.js';
import { captureCorpus, typeOf } from './corpus.js';
import { heapAfterGc, ITERATIONS, SEED, summary } from './fuzz-env.js';
import { mutateBytes, mutateStructure, pathological } from './mutate.js';

const MAX_FRAME_BYTES = 1024 * 1024;
const CODES = new Set<string>(Object.values(FRAME_ERROR_CODES));

describe(`frame decoder fuzz (seed ${SEED})`, () => {
  let corpus: Uint8Array[] = [];

  beforeAll(async () => {
    corpus = await captureCorpus(SEED);
  });

  it('captures real frames of every replication type', () => {
    const types = new Set(corpus.map(typeOf).map(frameTypeName));
    for (const t of ['HELLO', 'AUTH', 'DELTA', 'SNAPSHOT', 'DIGEST', 'REPAIR', 'PEERS', 'PING', 'BYE']) expect(types).toContain(t);
    // Every captured frame decodes and round-trips unchanged.
    for (const bytes of corpus) expect(Buffer.from(encodeFrame(decodeFrame(bytes))).equals(Buffer.from(bytes))).toBe(true);
  });

  it(`throws only FrameError on ${ITERATIONS.toLocaleString('en-US')} mutated and random frames, and round-trips whatever it accepts`, () => {
    const rng = createPrng(SEED);
    const outcomes: Record<string, number> = {};
    const failures: string[] = [];
    let accepted = 0;
    let heapStart = 0;
    const t0 = Date.now();
    for (let i = 0; i < ITERATIONS; i++) {
      if (i === Math.floor(ITERATIONS / 10)) heapStart = heapAfterGc();
      const base = corpus[rng.int(corpus.length)];
      const r = rng.next();
      const input = r < 0.55 ? mutateBytes(base, rng, corpus) : r < 0.95 ? (mutateStructure(base, rng) ?? mutateBytes(base, rng, corpus)) : pathological(rng);
      let frame;
      try {
        frame = decodeFrame(input, MAX_FRAME_BYTES);
      } catch (err) {
        if (!(err instanceof FrameError) || !CODES.has(err.code)) {
          if (failures.length < 10) failures.push(`input #${i} (${Buffer.from(input.subarray(0, 64)).toString('hex')}…) threw ${String(err)}`);
        } else outcomes[err.reason] = (outcomes[err.reason] ?? 0) + 1;
        continue;
      }
      accepted++;
      outcomes[`accepted ${frameTypeName(frame.type)}`] = (outcomes[`accepted ${frameTypeName(frame.type)}`] ?? 0) + 1;
      try {
        const again = decodeFrame(encodeFrame(frame, 16 * MAX_FRAME_BYTES), 16 * MAX_FRAME_BYTES);
        if (!isDeepStrictEqual(again, frame) && failures.length < 10) failures.push(`input #${i}: accepted frame does not round-trip`);
      } catch (err) {
        if (failures.length < 10) failures.push(`input #${i}: accepted frame fails to re-encode: ${String(err)}`);
      }
    }
    const growth = heapAfterGc() - heapStart;
    summary('codec', { iterations: ITERATIONS, accepted, seconds: (Date.now() - t0) / 1000, heapGrowthMb: growth / 2 ** 20, outcomes });
    expect(failures, `seed ${SEED}:\n${failures.join('\n')}`).toEqual([]);
    // Everything a decode allocates is garbage afterwards.
    expect(growth).toBeLessThan(32 * 2 ** 20);
    // The mutators must reach both sides of the decoder.
    expect(accepted).toBeGreaterThan(ITERATIONS / 100);
    expect(outcomes.malformed ?? 0).toBeGreaterThan(ITERATIONS / 10);
  });
});
