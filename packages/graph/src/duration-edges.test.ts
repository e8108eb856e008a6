import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.ts';

// Edge cases of the duration grammar; expected values are hand-computed seconds, not the parser's table.
describe('parseDuration edge cases', () => {
  it.each([
    ['  10m  ', 600],
    ['10M', 600],
    ['1H 1M 1S', 3661],
    ['1.5h', 5400],
    ['0.5s', 0.5],
    ['1m 200ms', 60.2],
    ['10 m', 600],
    ['1w 1d', 691200],
    ['1h 1h', 7200],
    ['0ms', 0],
  ])('%j is %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBeCloseTo(seconds, 9);
  });

  it.each(['ALL', 'Infinity', ' infinity '])('%j is forever', (text) => {
    expect(parseDuration(text)).toBeNull();
  });

  it.each(['-1s', '1', 'm', '1y', '1h,30m', '.5s', '1e3s', 'infinity 1s', '1 h x', '   '])(
    'rejects %j with INVALID_DURATION, an input error',
    (text) => {
      expect(() => parseDuration(text)).toThrow(
        expect.objectContaining({ code: 'INVALID_DURATION', kind: 'input' }),
      );
    },
  );

  it('adds the parts of any well-formed combination (property)', () => {
    const units = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800 } as const;
    const part = fc.record({
      n: fc.integer({ min: 0, max: 1_000 }),
      unit: fc.constantFrom(...(Object.keys(units) as (keyof typeof units)[])),
    });
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
        const text = parts.map(({ n, unit }) => `${n}${unit}`).join(' ');
        const expected = parts.reduce((sum, { n, unit }) => sum + n * units[unit], 0);
        expect(parseDuration(text)).toBe(expected);
      }),
    );
  });
});
