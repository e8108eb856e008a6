import { describe, expect, it } from 'vitest';
import { createSerialTicker } from './serial-ticker.ts';

describe('createSerialTicker', () => {
  it('never overlaps passes, and a failed timer pass is reported while the next ones go on', async () => {
    let running = 0;
    let overlapped = false;
    let passes = 0;
    const errors: unknown[] = [];
    const ticker = createSerialTicker(
      async () => {
        overlapped ||= running > 0;
        running++;
        passes++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        if (passes === 3) throw new Error('pass 3 failed');
        return passes;
      },
      { intervalMs: 1, onError: (error) => errors.push(error) },
    );
    // Two manual ticks at once run one after the other.
    expect(await Promise.all([ticker.tick(), ticker.tick()])).toEqual([1, 2]);
    ticker.start();
    while (passes < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    await ticker.stop();
    const stoppedAt = passes;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(passes).toBe(stoppedAt);
    expect(overlapped).toBe(false);
    expect(errors).toEqual([new Error('pass 3 failed')]);
  });
});
