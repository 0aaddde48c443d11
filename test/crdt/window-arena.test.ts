/**
 * The typed-array storage of a window (crdt/window-arena.ts): slots and
 * sorted cell lists against a plain Map-of-arrays model, through growth,
 * freeing and reuse, and the cached window sums.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NO_CELL, WindowArena } from '../../crdt/window-arena.js';
import { fcParams } from '../helpers/fc.js';

interface ModelCell {
  bucket: number;
  replica: number;
  floor: number;
  count: number;
}

/** The slot's cells in list order. */
function cellsOf(a: WindowArena, slot: number): ModelCell[] {
  const out: ModelCell[] = [];
  for (let e = a.firstCell(slot); e !== NO_CELL; e = a.nextCell(e)) {
    out.push({ bucket: a.cellBucket(e), replica: a.cellReplica(e), floor: a.cellFloor(e), count: a.cellCount(e) });
  }
  return out;
}

const B = 5;

type Op =
  | { kind: 'add'; key: number; bucket: number; replica: number; count: number }
  | { kind: 'free'; key: number }
  | { kind: 'prune'; key: number; minBucket: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('add' as const), key: fc.nat(40), bucket: fc.integer({ min: 90, max: 110 }), replica: fc.nat(3), count: fc.integer({ min: 1, max: 9 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('free' as const), key: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('prune' as const), key: fc.nat(40), minBucket: fc.integer({ min: 90, max: 110 }) }) },
);

describe('WindowArena', () => {
  it('holds what a Map of sorted lists holds, through growth, freeing and reuse', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 3000 }), (ops) => {
        const a = new WindowArena(B);
        const model = new Map<string, ModelCell[]>();
        for (const op of ops) {
          const key = `k${op.key}`;
          let slot = a.slotOf(key);
          if (op.kind === 'add') {
            if (slot === undefined) {
              slot = a.newSlot(key, 0);
              model.set(key, []);
            }
            const cells = model.get(key) as ModelCell[];
            const found = cells.find((c) => c.bucket === op.bucket && c.replica === op.replica);
            const e = a.findCell(slot, op.bucket, op.replica);
            expect(e === NO_CELL).toBe(found === undefined);
            if (found !== undefined) {
              found.count += op.count;
              a.setCell(slot, e, 0, found.count);
            } else {
              // After every cell of the same or a newer bucket.
              const at = cells.findIndex((c) => c.bucket < op.bucket);
              cells.splice(at === -1 ? cells.length : at, 0, { bucket: op.bucket, replica: op.replica, floor: 0, count: op.count });
              a.insertCell(slot, op.bucket, op.replica, 0, op.count);
            }
          } else if (slot !== undefined && op.kind === 'free') {
            a.freeSlot(slot);
            model.delete(key);
          } else if (slot !== undefined && op.kind === 'prune') {
            a.freeCellsBelowBucket(slot, op.minBucket);
            model.set(key, (model.get(key) as ModelCell[]).filter((c) => c.bucket >= op.minBucket));
          }
        }
        expect(a.size).toBe(model.size);
        let cells = 0;
        for (const [key, list] of model) {
          const slot = a.slotOf(key) as number;
          expect(a.keyAt(slot)).toBe(key);
          expect(cellsOf(a, slot)).toEqual(list);
          cells += list.length;
        }
        expect(a.cells).toBe(cells);
      }),
      fcParams(60),
    );
  });

  it('keeps its contents when it grows past its initial capacity', () => {
    const a = new WindowArena(B);
    for (let k = 0; k < 5000; k++) a.insertCell(a.newSlot(`k${k}`, 0), k, 0, 0, k + 1);
    const wide = a.newSlot('wide', 0);
    for (let b = 0; b < 3000; b++) a.insertCell(wide, b, 1, 7, b + 7);
    expect(a.size).toBe(5001);
    expect(a.cells).toBe(8000);
    for (let k = 0; k < 5000; k += 499) expect(cellsOf(a, a.slotOf(`k${k}`) as number)).toEqual([{ bucket: k, replica: 0, floor: 0, count: k + 1 }]);
    const list = cellsOf(a, wide);
    expect(list).toHaveLength(3000);
    expect(list[0]).toEqual({ bucket: 2999, replica: 1, floor: 7, count: 3006 });
    expect(list[2999]).toEqual({ bucket: 0, replica: 1, floor: 7, count: 7 });
  });

  it('reuses freed slots and cells before taking new ones', () => {
    const a = new WindowArena(B);
    const s1 = a.newSlot('a', 0);
    a.insertCell(s1, 1, 0, 0, 1);
    a.insertCell(s1, 2, 0, 0, 1);
    a.newSlot('b', 0);
    a.freeSlot(s1);
    expect(a.cells).toBe(0);
    expect(a.has('a')).toBe(false);
    expect(a.keyAt(s1)).toBeUndefined();
    const s3 = a.newSlot('c', 0);
    expect(s3).toBe(s1);
    expect(a.slotTop).toBe(2);
    expect(a.firstCell(s3)).toBe(NO_CELL);
  });

  it('counts the buckets after cur − B in full and the edge bucket weighted, freeing older cells', () => {
    const a = new WindowArena(B);
    const s = a.newSlot('k', 100);
    for (const [bucket, count] of [
      [101, 1], // ahead of cur: counts in full
      [100, 2],
      [96, 4],
      [95, 8], // the edge at cur = 100
      [94, 16], // outside
    ]) {
      a.insertCell(s, bucket, 0, 0, count);
    }
    // Inserted after newSlot(…, 100): the cached sums were kept current.
    expect(a.countAt(s, 100, 0.25)).toBe(1 + 2 + 4 + 8 * 0.25);
    expect(a.cells).toBe(5);
    // Moving on recomputes and frees the cells that left every window.
    expect(a.countAt(s, 101, 0.5)).toBe(1 + 2 + 4 * 0.5);
    expect(cellsOf(a, s).map((c) => c.bucket)).toEqual([101, 100, 96]);
    expect(a.cells).toBe(3);
    expect(a.newestBucket(s)).toBe(101);
  });

  it('adds to the current cell of a replica only', () => {
    const a = new WindowArena(B);
    const s = a.newSlot('k', 50);
    a.insertCell(s, 50, 1, 0, 3);
    expect(a.addToCurrentCell(s, 0, 1)).toBe(false);
    a.insertCell(s, 49, 0, 0, 1);
    expect(a.addToCurrentCell(s, 0, 1)).toBe(false);
    a.insertCell(s, 50, 0, 0, 1);
    expect(a.addToCurrentCell(s, 0, 2)).toBe(true);
    expect(cellsOf(a, s)).toEqual([
      { bucket: 50, replica: 1, floor: 0, count: 3 },
      { bucket: 50, replica: 0, floor: 0, count: 3 },
      { bucket: 49, replica: 0, floor: 0, count: 1 },
    ]);
    expect(a.countAt(s, 50, 1)).toBe(7);
  });

  it('caches visible hits (count − floor) and hides every cell on hideAll', () => {
    const a = new WindowArena(B);
    const s = a.newSlot('k', 10);
    a.insertCell(s, 10, 0, 0, 1);
    a.insertCell(s, 10, 1, 3, 5);
    a.insertCell(s, 9, 2, 4, 4);
    expect(a.countAt(s, 10, 1)).toBe(3);
    const c = a.findCell(s, 10, 1);
    a.setCell(s, c, 4, 7); // count +2, floor +1: one more visible
    expect(a.countAt(s, 10, 1)).toBe(4);
    a.addToCurrentCell(s, 0, 2);
    expect(a.countAt(s, 10, 1)).toBe(6);
    expect(a.hideAll(s)).toBe(true);
    expect(cellsOf(a, s).map((x) => [x.floor, x.count])).toEqual([
      [3, 3],
      [7, 7],
      [4, 4],
    ]);
    expect(a.countAt(s, 10, 1)).toBe(0);
    expect(a.hideAll(s)).toBe(false);
    a.addToCurrentCell(s, 0, 1);
    expect(a.countAt(s, 10, 1)).toBe(1);
  });

  it('sums cells per bucket back from cur, folding cells ahead into cur', () => {
    const a = new WindowArena(B);
    const s = a.newSlot('k', 20);
    for (const [bucket, count] of [
      [22, 1],
      [20, 2],
      [18, 4],
      [15, 8],
      [14, 16],
    ]) {
      a.insertCell(s, bucket, 0, 0, count);
    }
    const per = new Float64Array(B + 1).fill(99);
    a.bucketSums(s, 20, per);
    expect([...per]).toEqual([3, 0, 4, 0, 0, 8]);
  });

  it('keeps flag bits across free and reuse, and reports whether raising changed them', () => {
    const a = new WindowArena(B);
    const s = a.newSlot('k', 0);
    expect(a.raiseFlags(s, 1)).toBe(true);
    expect(a.raiseFlags(s, 1)).toBe(false);
    a.freeSlot(s);
    expect(a.newSlot('again', 0)).toBe(s);
    expect(a.raiseFlags(s, 1)).toBe(false);
    a.clearFlags(s, 1);
    expect(a.raiseFlags(s, 1)).toBe(true);
  });
});
