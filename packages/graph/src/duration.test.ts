import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.ts';

describe('parseDuration', () => {
  it.each([
    ['0s', 0],
    ['200ms', 0.2],
    ['10m', 600],
    ['1h 30m', 5400],
    ['1d', 86400],
    ['2w', 1209600],
    ['1h30m', 5400],
  ])('%s is %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it('treats infinity as forever', () => {
    expect(parseDuration('infinity')).toBeNull();
  });

  it.each(['', 'ten minutes', '10', '5x', '1h junk'])('rejects %j with INVALID_DURATION', (text) => {
    expect(() => parseDuration(text)).toThrow(expect.objectContaining({ code: 'INVALID_DURATION' }));
  });
});
