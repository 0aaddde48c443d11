/**
 * A structural pre-check of untrusted MessagePack, run before msgpackr sees it.
 *
 * msgpackr is a fast decoder with extensions: records, typed arrays, dates,
 * structured-clone references. A peer frame must not reach any of that, so
 * this scanner walks the bytes once and admits only the subset the tallymesh
 * protocol uses — nil, booleans, integers, floats, str, bin and arrays —
 * exactly one value, no trailing bytes, every declared length inside the
 * buffer and arrays nested at most {@link MAX_NESTING_DEPTH} deep. Maps and
 * extension types are refused outright. What passes is standard MessagePack
 * that any decoder reads the same way.
 *
 * Every `str` must be valid UTF-8, as the MessagePack spec requires: msgpackr
 * decodes invalid bytes (WTF-8 of a lone surrogate, overlong forms, stray
 * continuation bytes) to U+FFFD without a word, so a peer's key would arrive
 * as another key (issue 9, defect 5). The scan already visits every string
 * header, which makes it the cheapest place to check: an ASCII string costs a
 * byte loop; past a non-ASCII byte, a short rest is checked in place and a
 * long one by `isUtf8` (simdutf).
 *
 * @module
 */
import { isUtf8 } from 'node:buffer';

/** Deepest array nesting a frame may use (a frame needs 7: frame, body, batches, batch, keys, key, entries). */
export const MAX_NESTING_DEPTH = 8;

/** From this many bytes on, `isUtf8` (SIMD) beats a byte loop; below it, its call and subarray (~50 ns) dominate. */
const NATIVE_UTF8_MIN_BYTES = 64;

/**
 * True when `bytes[start, end)` is valid UTF-8: no surrogates, no overlong
 * forms, nothing above U+10FFFF.
 *
 * @example isUtf8Range(Uint8Array.of(0xed, 0xa0, 0x80), 0, 3) // false: "\ud800" as WTF-8
 */
export function isUtf8Range(bytes: Uint8Array, start: number, end: number): boolean {
  // Keys and names are mostly ASCII: settle those without a call.
  let i = start;
  while (i < end && bytes[i] < 0x80) i++;
  if (i === end) return true;
  return end - i >= NATIVE_UTF8_MIN_BYTES ? isUtf8(bytes.subarray(i, end)) : isUtf8Short(bytes, i, end);
}

/** The well-formed byte sequences of the Unicode Standard, table 3-7, checked byte by byte. */
function isUtf8Short(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
    } else if (b < 0xc2) {
      return false; // a continuation byte without a lead, or an overlong 2-byte lead (C0, C1)
    } else if (b < 0xe0) {
      if (i + 1 >= end || (bytes[i + 1] & 0xc0) !== 0x80) return false;
      i += 2;
    } else if (b < 0xf0) {
      if (i + 2 >= end) return false;
      const b1 = bytes[i + 1];
      // E0 needs A0..BF (else overlong); ED needs 80..9F (else a surrogate, U+D800..DFFF).
      if (b === 0xe0 ? b1 < 0xa0 || b1 > 0xbf : b === 0xed ? b1 < 0x80 || b1 > 0x9f : (b1 & 0xc0) !== 0x80) return false;
      if ((bytes[i + 2] & 0xc0) !== 0x80) return false;
      i += 3;
    } else if (b < 0xf5) {
      if (i + 3 >= end) return false;
      const b1 = bytes[i + 1];
      // F0 needs 90..BF (else overlong); F4 needs 80..8F (else above U+10FFFF).
      if (b === 0xf0 ? b1 < 0x90 || b1 > 0xbf : b === 0xf4 ? b1 < 0x80 || b1 > 0x8f : (b1 & 0xc0) !== 0x80) return false;
      if ((bytes[i + 2] & 0xc0) !== 0x80 || (bytes[i + 3] & 0xc0) !== 0x80) return false;
      i += 4;
    } else {
      return false; // F5..FF never occur in UTF-8
    }
  }
  return true;
}

/**
 * Check that `bytes` hold exactly one MessagePack value of the protocol's
 * subset. Returns null when they do, else a short description of the first
 * problem (with its byte offset). Never throws.
 *
 * A `str` that is not valid UTF-8 is such a problem, unless `invalidStrings`
 * is given: then the scan goes on and records the string's ordinal (its
 * index among all `str` values of the frame, in document order, which is the
 * order a depth-first walk of the decoded arrays meets them), so a caller
 * can refuse just the item that holds it.
 *
 * @example
 * ```ts
 * const problem = scanMessagePack(bytes);
 * if (problem !== null) throw new FrameError('malformed', problem);
 * ```
 */
export function scanMessagePack(bytes: Uint8Array, maxDepth = MAX_NESTING_DEPTH, invalidStrings?: number[]): string | null {
  const end = bytes.length;
  let pos = 0;
  let strings = 0; // str values seen so far: the ordinal of the next one
  // remaining[d] = values still owed by the open container at depth d; depth 0 is the top level.
  const remaining = new Float64Array(maxDepth + 1);
  remaining[0] = 1;
  let depth = 0;
  const readLength = (size: number): number => {
    let length = 0;
    for (let i = 0; i < size; i++) length = length * 256 + bytes[pos + i];
    return length;
  };

  while (depth >= 0) {
    if (pos >= end) return `truncated at byte ${pos}`;
    const at = pos;
    const token = bytes[pos++];
    let count = 0; // elements, when the value is an array
    let isString = false;

    if (token <= 0x7f || token >= 0xe0 || token === 0xc0 || token === 0xc2 || token === 0xc3) {
      // fixint, negative fixint, nil, false, true: the token is the whole value (the common case)
    } else if (token >= 0x90 && token <= 0x9f) {
      count = token & 0x0f;
    } else if (token >= 0xa0 && token <= 0xbf) {
      pos += token & 0x1f;
      isString = true;
    } else {
      let skip = 0; // fixed payload size
      let lengthBytes = 0; // size of a str/bin/array length field
      let isArray = false;
      switch (token) {
        case 0xcc: case 0xd0: skip = 1; break; // uint8, int8
        case 0xcd: case 0xd1: skip = 2; break; // uint16, int16
        case 0xce: case 0xd2: case 0xca: skip = 4; break; // uint32, int32, float32
        case 0xcf: case 0xd3: case 0xcb: skip = 8; break; // uint64, int64, float64
        case 0xc4: lengthBytes = 1; break; // bin8
        case 0xc5: lengthBytes = 2; break; // bin16
        case 0xc6: lengthBytes = 4; break; // bin32
        case 0xd9: lengthBytes = 1; isString = true; break; // str8
        case 0xda: lengthBytes = 2; isString = true; break; // str16
        case 0xdb: lengthBytes = 4; isString = true; break; // str32
        case 0xdc: lengthBytes = 2; isArray = true; break; // array16
        case 0xdd: lengthBytes = 4; isArray = true; break; // array32
        default:
          // fixmap/map16/map32, ext/fixext, and 0xc1 (never used)
          return `type 0x${token.toString(16).padStart(2, '0')} at byte ${at} is not allowed in a frame`;
      }
      if (lengthBytes > 0) {
        if (pos + lengthBytes > end) return `truncated length at byte ${at}`;
        const length = readLength(lengthBytes);
        pos += lengthBytes;
        if (isArray) count = length;
        else skip = length;
      }
      if (skip > end - pos) return `value at byte ${at} runs past the end`;
      pos += skip;
    }
    if (pos > end) return `value at byte ${at} runs past the end`;
    if (isString) {
      // The payload follows the header (1, 2, 3 or 5 bytes) and ends where the value ends.
      const start = at + (token <= 0xbf ? 1 : token === 0xd9 ? 2 : token === 0xda ? 3 : 5);
      if (!isUtf8Range(bytes, start, pos)) {
        if (invalidStrings === undefined) return `string at byte ${at} is not valid UTF-8`;
        invalidStrings.push(strings);
      }
      strings++;
    }

    remaining[depth]--;
    if (count > 0) {
      // Every element takes at least one byte: a larger count is a lie, refused before anything allocates it.
      if (count > end - pos) return `array at byte ${at} declares ${count} elements, more than the bytes left`;
      if (depth >= maxDepth) return `arrays nested deeper than ${maxDepth} at byte ${at}`;
      remaining[++depth] = count;
    }
    while (depth >= 0 && remaining[depth] === 0) depth--;
  }
  return pos === end ? null : `${end - pos} trailing bytes after the frame`;
}
