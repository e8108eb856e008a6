import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeStoredBuffers, decodeStoredValue, encodeStoredValue } from './online-value-codec.ts';

/** A stored text: one `encodeStoredValue` wrote, or a foreign / damaged one another writer left. */
const storedText = fc.oneof(
  fc.tuple(fc.jsonValue(), fc.integer({ min: 0, max: 2 ** 45 })).map(([v, t]) => encodeStoredValue(v, t)),
  fc.constantFrom(
    '',
    'null',
    '42',
    '"text"',
    '[1,2]',
    '{"v":1}',
    '{"t":1}',
    '{"v":1,"t":"x"}',
    ']',
    '{',
    ',1',
  ),
  fc.string(),
);

describe('decodeStoredBuffers', () => {
  it('decodes each value as decodeStoredValue decodes it alone, missing keys as null', () => {
    fc.assert(
      fc.property(fc.array(fc.option(storedText, { nil: null }), { maxLength: 40 }), (texts) => {
        // Values arrive as slices of one reply buffer, as a Redis client hands them over.
        const reply = Buffer.from(texts.map((text) => text ?? '').join(''));
        let at = 0;
        const buffers = texts.map((text) => {
          if (text === null) return null;
          const length = Buffer.byteLength(text);
          const slice = reply.subarray(at, at + length);
          at += length;
          return slice;
        });
        const expected = texts.map((text) => (text === null ? null : decodeStoredValue(text)));
        expect(decodeStoredBuffers(buffers)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('reads values written by encodeStoredValue back, strings with multi-byte characters included', () => {
    const texts = [encodeStoredValue('naïve — 日本', 5), null, encodeStoredValue(1.5, 7)];
    expect(decodeStoredBuffers(texts.map((text) => (text === null ? null : Buffer.from(text))))).toEqual([
      { value: 'naïve — 日本', observedAt: 5 },
      null,
      { value: 1.5, observedAt: 7 },
    ]);
  });
});
