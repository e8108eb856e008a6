import { describe, expect, it } from 'vitest';
import { TRUNCATION_MARK, truncatedText } from './truncated-text.ts';

describe('truncatedText', () => {
  it('cuts long text to the limit with a mark and leaves short text alone', () => {
    const cut = truncatedText(4_000).parse('e'.repeat(10_000));
    expect(cut).toHaveLength(4_000);
    expect(cut.endsWith(TRUNCATION_MARK)).toBe(true);
    expect(cut.startsWith('e'.repeat(4_000 - TRUNCATION_MARK.length))).toBe(true);
    expect(truncatedText(4_000).parse('short')).toBe('short');
  });
});
