import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fcParams } from '../../helpers/fc.js';
import { RespHttpError, RespParser, RespProtocolError, type RespCommand } from '../../../src/resp/resp-parser.js';
import { encodeDecision, encodeError, encodeReply } from '../../../src/resp/resp-encoder.js';

const BOUNDS = { maxArgs: 8, maxArgBytes: 16, maxLineBytes: 32 };

function parseAll(parser: RespParser): RespCommand[] {
  const out: RespCommand[] = [];
  for (let c = parser.next(); c !== undefined; c = parser.next()) out.push(c);
  return out;
}

describe('RespParser', () => {
  const input = '*3\r\n$10\r\nTM.CONSUME\r\n$3\r\napi\r\n$4\r\nk é\r\n*1\r\n$4\r\nPING\r\nPING  hi\r\n*0\r\n';
  const expected = [
    { args: ['TM.CONSUME', 'api', 'k é'], notUtf8: false },
    { args: ['PING'], notUtf8: false },
    { args: ['PING', 'hi'], notUtf8: false },
  ];

  it('parses multibulk and inline commands whole', () => {
    const p = new RespParser(BOUNDS);
    p.push(Buffer.from(input));
    expect(parseAll(p)).toEqual(expected);
    expect(p.pendingBytes).toBe(0);
  });

  it('parses the same commands when the bytes arrive one at a time', () => {
    const p = new RespParser(BOUNDS);
    const out: RespCommand[] = [];
    for (const byte of Buffer.from(input)) {
      p.push(Buffer.from([byte]));
      out.push(...parseAll(p));
    }
    expect(out).toEqual(expected);
  });

  it('flags an argument that is not valid UTF-8, and not one that holds U+FFFD as sent', () => {
    const p = new RespParser(BOUNDS);
    p.push(Buffer.concat([Buffer.from('*2\r\n$1\r\nx\r\n$1\r\n'), Buffer.from([0xff]), Buffer.from('\r\n*1\r\n$3\r\n\uFFFD\r\n')]));
    expect(parseAll(p).map((c) => c.notUtf8)).toEqual([true, false]);
  });

  it.each([
    ['too many arguments', '*9\r\n', /too many arguments \(at most 8, got 9\)/],
    ['an argument over the bound', '*1\r\n$17\r\n', /argument too long \(at most 16 bytes, got 17\)/],
    ['a bulk without its CRLF', '*1\r\n$2\r\nabcd', /not followed by CRLF/],
    ['a bulk header that is not $', '*1\r\n+PING\r\n', /expected '\$'/],
    ['a length that is not a number', '*x\r\n', /invalid multibulk length/],
    ['a negative bulk length', '*1\r\n$-1\r\n', /invalid bulk length/],
    ['a length line that never ends', `*${'1'.repeat(40)}`, /invalid multibulk length/],
    ['an inline line over the bound', 'PING '.repeat(10), /inline command too long/],
  ])('refuses %s', (_what, bytes, message) => {
    const p = new RespParser(BOUNDS);
    p.push(Buffer.from(bytes));
    let thrown: unknown;
    try {
      parseAll(p);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(RespProtocolError);
    expect((thrown as Error).message).toMatch(message);
  });

  it('reads a length line as the grammar says (an optional minus and 1 to 18 digits), whatever bytes it holds', () => {
    // The grammar as a regular expression: the parser reads the bytes itself, so the two must agree.
    const grammar = /^-?\d{1,18}$/;
    const wide = { maxArgs: 1_000_000, maxArgBytes: 1_000_000, maxLineBytes: 64 };
    fc.assert(
      fc.property(fc.oneof(fc.stringMatching(/^-?\d{0,20}$/), fc.string({ maxLength: 20 }), fc.integer({ min: -1e6, max: 1e6 }).map(String)), (header) => {
        const p = new RespParser(wide);
        p.push(Buffer.from(`*${header}\r\n`, 'latin1'));
        let result: number | undefined | 'refused';
        try {
          // A positive count opens a multibulk and waits for its arguments; 0 or less is skipped.
          p.next();
          result = p.pendingBytes === 0 ? Number(header) : undefined;
        } catch (err) {
          expect(err).toBeInstanceOf(RespProtocolError);
          result = 'refused';
        }
        const valid = grammar.test(header) && Number(header) <= wide.maxArgs;
        expect(result, JSON.stringify(header)).toBe(valid ? Number(header) : 'refused');
      }),
      fcParams(500),
    );
  });

  it('reads a pipelined bulk length exactly, one digit more or less would misframe the next command', () => {
    const p = new RespParser({ maxArgs: 8, maxArgBytes: 4096, maxLineBytes: 64 });
    const key = 'k'.repeat(1234);
    p.push(Buffer.from(`*2\r\n$4\r\nECHO\r\n$${key.length}\r\n${key}\r\n*1\r\n$4\r\nPING\r\n`));
    expect(parseAll(p).map((c) => c.args.map((a) => a.length))).toEqual([[4, 1234], [4]]);
  });

  it.each(['GET / HTTP/1.1\r\n', 'POST /v1/consume HTTP/1.1\r\n', 'POST /v1', 'PING\r\nHost: example.com\r\n'])('reports %j as HTTP', (bytes) => {
    const p = new RespParser(BOUNDS);
    p.push(Buffer.from(bytes));
    expect(() => parseAll(p)).toThrow(RespHttpError);
  });
});

describe('reply encoding', () => {
  it('encodes a decision as an array of five integers', () => {
    expect(encodeDecision({ allowed: false, limit: 10, remaining: 0, resetMs: 1500, retryAfterMs: 1500 })).toBe('*5\r\n:0\r\n:10\r\n:0\r\n:1500\r\n:1500\r\n');
  });

  it('encodes maps, nulls and verbatim strings as RESP3 types, and their RESP2 forms before HELLO 3', () => {
    const value = { map: [['a', 1] as [string, number]] };
    expect(encodeReply(value, 3)).toBe('%1\r\n$1\r\na\r\n:1\r\n');
    expect(encodeReply(value, 2)).toBe('*2\r\n$1\r\na\r\n:1\r\n');
    expect(encodeReply(null, 3)).toBe('_\r\n');
    expect(encodeReply(null, 2)).toBe('$-1\r\n');
    expect(encodeReply({ verbatim: 'x:1' }, 3)).toBe('=7\r\ntxt:x:1\r\n');
    expect(encodeReply({ verbatim: 'x:1' }, 2)).toBe('$3\r\nx:1\r\n');
    expect(encodeReply('é', 2)).toBe('$2\r\né\r\n');
  });

  it('keeps an error on one line, prefix then code then message', () => {
    expect(encodeError('ERR', 'TALLYMESH_ERR_X', 'a\r\nb')).toBe('-ERR TALLYMESH_ERR_X a b\r\n');
  });
});
