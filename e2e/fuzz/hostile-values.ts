import fc from 'fast-check';

/** Strings that broke or may break servers: NUL, lone surrogates, RTL marks, emoji, huge, path tricks. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff',
    '\u202e',
    '💥',
    '../../etc/passwd',
    '%00',
    '%',
    ' ',
    'null',
    'undefined',
    '__proto__',
    'constructor',
    '1e309',
    '2026-13-45T99:99:99Z',
    '<script>alert(1)</script>',
    "' OR 1=1 --",
  ),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer({ min: 1_000, max: 300_000 }).map((n) => 'x'.repeat(n)),
);

/** Numbers at and past the edges of what JSON, JavaScript and databases hold. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, -(2 ** 63), 2 ** 64, 5e-324, 2 ** 31, 1e21),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, hostile leaves included. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    hostileNumber,
    hostileString,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(
      fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'prototype')),
      tie('value'),
      {
        maxKeys: 5,
      },
    ),
  ),
})).value;

/** A JSON text nested `depth` levels deep, as arrays or objects. */
export function deeplyNested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}1${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Prototype-pollution keys spliced into a JSON object text (JSON.stringify cannot write `__proto__`). */
export function withPollutionKeys(json: string): string {
  const keys = '"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},';
  return json.startsWith('{') && json.length > 2 ? `{${keys}${json.slice(1)}` : `{${keys.slice(0, -1)}}`;
}

/** Flips, cuts, extends or replaces bytes of a valid binary body. */
export function byteMutation(valid: Buffer): fc.Arbitrary<Buffer> {
  const flips = fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), {
    minLength: 1,
    maxLength: 8,
  });
  return fc.oneof(
    // Flipped bytes inside a valid body reach deepest into a decoder: most mutations are those.
    {
      weight: 6,
      arbitrary: flips.map((changes) => {
        const copy = Buffer.from(valid);
        for (const [at, byte] of changes) copy[at] = byte;
        return copy;
      }),
    },
    fc.nat({ max: valid.length }).map((end) => Buffer.from(valid.subarray(0, end))),
    fc.uint8Array({ maxLength: 64 }).map((extra) => Buffer.concat([valid, extra])),
    fc.uint8Array({ maxLength: 256 }).map((bytes) => Buffer.from(bytes)),
    fc.constant(valid),
  );
}
