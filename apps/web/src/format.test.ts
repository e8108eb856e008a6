import { describe, expect, it } from 'vitest';
import { formatDType, formatRelative, formatStaleness, shortId } from './format.ts';

describe('format', () => {
  it('formats staleness: 0 is never cached, null is forever', () => {
    expect(formatStaleness(0)).toBe('none');
    expect(formatStaleness(null)).toBe('forever');
    expect(formatStaleness(5400)).toBe('1h 30m');
    expect(formatStaleness(86_400 * 2 + 7)).toBe('2d');
  });

  it('formats graph-artifact dtypes', () => {
    expect(formatDType({ type: 'list', of: { type: 'string' } })).toBe('list[string]');
    expect(formatDType({ type: 'vector', dimensions: 64 })).toBe('vector[64]');
    expect(formatDType({ type: 'enum', values: ['a', 'b'] })).toBe('enum(a | b)');
    expect(formatDType({ type: 'struct', fields: { a: { type: 'int' } } })).toBe('struct{a}');
  });

  it('formats relative times', () => {
    const now = Date.parse('2026-03-20T12:00:00Z');
    expect(formatRelative('2026-03-20T11:59:30Z', now)).toBe('just now');
    expect(formatRelative('2026-03-20T11:15:00Z', now)).toBe('45 min ago');
    expect(formatRelative('2026-03-18T12:00:00Z', now)).toBe('2 d ago');
    expect(formatRelative(null, now)).toBe('—');
  });

  it('shortens long ids but keeps their prefix', () => {
    expect(shortId('dep_0123456789abcdef')).toBe('dep_…abcdef');
    expect(shortId('env_1')).toBe('env_1');
  });
});
