import { SlateError } from '@slate/graph';
import { describe, expect, it } from 'vitest';
import { createBoundedPool } from './bounded-pool.ts';

describe('createBoundedPool', () => {
  it('runs at most `concurrency` at once, queues `maxQueue`, refuses the next at once', async () => {
    const pool = createBoundedPool({ concurrency: 2, maxQueue: 1, busyCode: 'BUSY', busyMessage: 'busy' });
    let running = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const work = () =>
      pool.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running--;
        return 'done';
      });
    const accepted = [work(), work(), work()];
    await new Promise((resolve) => setImmediate(resolve));
    expect([pool.active, pool.queued]).toEqual([2, 1]);
    const refused = await work().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SlateError);
    expect((refused as SlateError).code).toBe('BUSY');
    expect((refused as SlateError).details).toEqual({ retryAfterSeconds: 1 });
    // Finishing the first hands its slot to the queued one, which then runs.
    for (let i = 0; i < 3; i++) {
      releases.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await Promise.all(accepted)).toEqual(['done', 'done', 'done']);
    expect(peak).toBe(2);
    expect([pool.active, pool.queued]).toEqual([0, 0]);
  });
});
