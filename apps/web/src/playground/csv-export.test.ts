import { describe, expect, it } from 'vitest';
import { csvCell } from './csv-export.ts';

describe('csvCell', () => {
  it('writes cells as RFC 4180 reads them back', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(42)).toBe('42');
    expect(csvCell(2n ** 63n - 1n)).toBe('9223372036854775807');
    expect(csvCell(false)).toBe('false');
    expect(csvCell(new Date(Date.UTC(2026, 0, 31, 12)))).toBe('2026-01-31T12:00:00.000Z');
    // Lists and structs as JSON, quoted because JSON has commas and quotes.
    expect(csvCell([1, 2])).toBe('"[1,2]"');
    expect(csvCell({ a: 1n })).toBe('"{""a"":""1""}"');
  });
});
