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
 * @module
 */

/** Deepest array nesting a frame may use (a frame needs 7: frame, body, batches, batch, keys, key, entries). */
export const MAX_NESTING_DEPTH = 8;

/**
 * Check that `bytes` hold exactly one MessagePack value of the protocol's
 * subset. Returns null when they do, else a short description of the first
 * problem (with its byte offset). Never throws.
 *
 * @example
 * ```ts
 * const problem = scanMessagePack(bytes);
 * if (problem !== null) throw new FrameError('malformed', problem);
 * ```
 */
export function scanMessagePack(bytes: Uint8Array, maxDepth = MAX_NESTING_DEPTH): string | null {
  const end = bytes.length;
  let pos = 0;
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

    if (token <= 0x7f || token >= 0xe0 || token === 0xc0 || token === 0xc2 || token === 0xc3) {
      // fixint, negative fixint, nil, false, true: the token is the whole value (the common case)
    } else if (token >= 0x90 && token <= 0x9f) {
      count = token & 0x0f;
    } else if (token >= 0xa0 && token <= 0xbf) {
      pos += token & 0x1f;
    } else {
      let skip = 0; // fixed payload size
      let lengthBytes = 0; // size of a str/bin/array length field
      let isArray = false;
      switch (token) {
        case 0xcc: case 0xd0: skip = 1; break; // uint8, int8
        case 0xcd: case 0xd1: skip = 2; break; // uint16, int16
        case 0xce: case 0xd2: case 0xca: skip = 4; break; // uint32, int32, float32
        case 0xcf: case 0xd3: case 0xcb: skip = 8; break; // uint64, int64, float64
        case 0xc4: case 0xd9: lengthBytes = 1; break; // bin8, str8
        case 0xc5: case 0xda: lengthBytes = 2; break; // bin16, str16
        case 0xc6: case 0xdb: lengthBytes = 4; break; // bin32, str32
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
