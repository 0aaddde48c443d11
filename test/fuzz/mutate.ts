/**
 * Seeded mutators for the fuzzers: byte-level (AFL-style flips, interesting
 * values, inserts, deletes, splices, MessagePack length headers blown up,
 * deep nesting) and structural (decode, replace one node of the value tree
 * with a hostile value, re-encode). All randomness comes from one
 * {@link Prng}, so a failing input is reproducible from the seed.
 */
import { Packr, Unpackr, type Options } from 'msgpackr';
import type { Prng } from '../../transport/sim/prng.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, int64AsType: 'bigint' } as Options);

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd3, 0xd9, 0xdc, 0xdd, 0xde, 0xdf, 0x90, 0x9f, 0xa0, 0xbf, 0xe0];

/** Huge or odd values for length headers and integers. */
const INTERESTING_U32 = [0, 1, 0x7f, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0xffffffff];

function pick<T>(rng: Prng, items: readonly T[]): T {
  return items[rng.int(items.length)];
}

function randomBytes(rng: Prng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(256);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One byte-level mutation of `input` (a copy; the input is untouched). */
function mutateOnce(input: Uint8Array, rng: Prng, corpus: readonly Uint8Array[]): Uint8Array {
  const b = new Uint8Array(input);
  const at = b.length === 0 ? 0 : rng.int(b.length);
  switch (rng.int(12)) {
    case 0: // flip 1-8 bits
      if (b.length > 0) for (let i = 1 + rng.int(8); i > 0; i--) b[rng.int(b.length)] ^= 1 << rng.int(8);
      return b;
    case 1: // an interesting byte
      if (b.length > 0) b[at] = pick(rng, INTERESTING_BYTES);
      return b;
    case 2: // a random byte
      if (b.length > 0) b[at] = rng.int(256);
      return b;
    case 3: // insert random bytes
      return concat(b.subarray(0, at), randomBytes(rng, 1 + rng.int(16)), b.subarray(at));
    case 4: // delete a range
      return concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(16))));
    case 5: // truncate
      return b.subarray(0, at);
    case 6: // duplicate a slice in place
      return concat(b.subarray(0, at), b.subarray(at, at + 1 + rng.int(32)), b.subarray(at));
    case 7: { // splice with another frame
      const other = pick(rng, corpus);
      return concat(b.subarray(0, at), other.subarray(rng.int(Math.max(1, other.length))));
    }
    case 8: { // blow up a MessagePack length header (array16/32, map16/32, bin/str 8/16/32)
      const headers: number[] = [];
      for (let i = 0; i < b.length; i++) if ([0xdc, 0xdd, 0xde, 0xdf, 0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb].includes(b[i])) headers.push(i);
      if (headers.length === 0) return b;
      const h = pick(rng, headers);
      const v = pick(rng, INTERESTING_U32);
      const view = new DataView(b.buffer, b.byteOffset, b.length);
      const width = [0xdd, 0xdf, 0xc6, 0xdb].includes(b[h]) ? 4 : [0xc4, 0xd9].includes(b[h]) ? 1 : 2;
      if (h + width < b.length) {
        if (width === 4) view.setUint32(h + 1, v);
        else if (width === 2) view.setUint16(h + 1, v & 0xffff);
        else view.setUint8(h + 1, v & 0xff);
      }
      return b;
    }
    case 9: // fixarray count changed
      for (let i = 0; i < b.length; i++) {
        if ((b[i] & 0xf0) === 0x90 && rng.next() < 0.3) {
          b[i] = 0x90 | rng.int(16);
          break;
        }
      }
      return b;
    case 10: // append garbage
      return concat(b, randomBytes(rng, 1 + rng.int(64)));
    default: // a 32-bit big-endian interesting value
      if (at + 4 <= b.length) new DataView(b.buffer, b.byteOffset, b.length).setUint32(at, pick(rng, INTERESTING_U32));
      return b;
  }
}

/** 1–4 stacked byte-level mutations. */
export function mutateBytes(input: Uint8Array, rng: Prng, corpus: readonly Uint8Array[]): Uint8Array {
  let out = input;
  for (let i = 1 + rng.int(4); i > 0; i--) out = mutateOnce(out, rng, corpus);
  return out;
}

/** Inputs no mutation of a valid frame reaches easily: nesting bombs, random noise, empty, huge declared lengths. */
export function pathological(rng: Prng): Uint8Array {
  switch (rng.int(6)) {
    case 0: { // arrays nested deeper than any stack: 0x91 0x91 … 0xc0
      const depth = 1_000 + rng.int(200_000);
      const b = new Uint8Array(depth + 1).fill(0x91);
      b[depth] = 0xc0;
      return b;
    }
    case 1: { // maps nested deeply
      const depth = 1_000 + rng.int(50_000);
      const parts: number[] = [];
      for (let i = 0; i < depth; i++) parts.push(0x81, 0xa1, 0x61);
      parts.push(0xc0);
      return new Uint8Array(parts);
    }
    case 2: // an array32 that declares 4 billion elements
      return new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]);
    case 3: // a bin32 that declares 4 GiB
      return new Uint8Array([0x95, 0x02, 0x03, 0x00, 0x00, 0xc6, 0xff, 0xff, 0xff, 0xff]); // [2, DELTA, hlc, physicalMs, bin32…]
    case 4:
      return new Uint8Array(0);
    default:
      return randomBytes(rng, 1 + rng.int(512));
  }
}

/** A hostile MessagePack value. */
export function randomValue(rng: Prng, depth = 0): unknown {
  switch (rng.int(depth > 3 ? 12 : 15)) {
    case 0: return null;
    case 1: return rng.next() < 0.5;
    case 2: return pick(rng, [0, -1, 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 0.5, -0]);
    case 3: return pick(rng, [NaN, Infinity, -Infinity]);
    case 4: return pick(rng, [2n ** 64n - 1n, -(2n ** 63n), 2n ** 53n + 1n]);
    case 5: return rng.int(1_000_000_000);
    case 6: return '';
    case 7: return 'x'.repeat(pick(rng, [1, 64, 255, 256, 257, 1024, 70_000]));
    case 8: return pick(rng, ['__proto__', 'constructor', 'api', 'k0', '\u0000', '\ud800', 'é'.repeat(200), '🙂'.repeat(65)]);
    case 9: return new Uint8Array(pick(rng, [0, 1, 31, 32, 33, 1024]));
    case 10: return rng.int(256);
    case 11: return -rng.int(1_000_000);
    case 12: return Array.from({ length: rng.int(6) }, () => randomValue(rng, depth + 1));
    case 13: return { __proto__: randomValue(rng, depth + 1), a: randomValue(rng, depth + 1) };
    default: return Array.from({ length: pick(rng, [0, 1, 3, 4, 7, 100]) }, () => rng.int(1000));
  }
}

/** Every array slot or object field of `value`, as [container, key] pairs. */
function slots(value: unknown, out: Array<[Record<string | number, unknown>, string | number]> = [], depth = 0): typeof out {
  if (depth > 12 || out.length > 5_000) return out;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      out.push([value as unknown as Record<number, unknown>, i]);
      slots(value[i], out, depth + 1);
    }
  } else if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const k of Object.keys(value)) {
      out.push([value as Record<string, unknown>, k]);
      slots((value as Record<string, unknown>)[k], out, depth + 1);
    }
  }
  return out;
}

/**
 * Structural mutation: decode `input`, then 1–3 times replace a random node
 * with a hostile value (or drop, duplicate or reorder array items), and
 * re-encode as standard MessagePack. Null when `input` does not decode.
 */
export function mutateStructure(input: Uint8Array, rng: Prng): Uint8Array | null {
  let value: unknown;
  try {
    value = unpackr.unpack(input);
  } catch {
    return null;
  }
  for (let i = 1 + rng.int(3); i > 0; i--) {
    const all = slots(value);
    if (all.length === 0) break;
    const [container, key] = pick(rng, all);
    const op = rng.int(6);
    if (op <= 2 || !Array.isArray(container)) container[key] = randomValue(rng);
    else if (op === 3) (container as unknown[]).splice(key as number, 1);
    else if (op === 4) (container as unknown[]).splice(key as number, 0, container[key]);
    else (container as unknown[]).reverse();
  }
  try {
    return new Uint8Array(packr.pack(value));
  } catch {
    return null;
  }
}
