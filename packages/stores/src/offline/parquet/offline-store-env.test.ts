import { describe, expect, it } from 'vitest';
import { offlineStoreTuningFromEnv } from './offline-store-env.ts';

describe('offlineStoreTuningFromEnv', () => {
  it('keeps the defaults when unset or empty', () => {
    expect(offlineStoreTuningFromEnv({})).toEqual({});
    expect(offlineStoreTuningFromEnv({ SLATE_OFFLINE_MEMORY_LIMIT: '', SLATE_OFFLINE_THREADS: '' })).toEqual(
      {},
    );
  });

  it('reads a memory limit and a thread count', () => {
    expect(
      offlineStoreTuningFromEnv({ SLATE_OFFLINE_MEMORY_LIMIT: '2GB', SLATE_OFFLINE_THREADS: '4' }),
    ).toEqual({
      memoryLimit: '2GB',
      threads: 4,
    });
  });

  it('refuses values DuckDB would not take (or that would inject SQL options)', () => {
    for (const bad of ['lots', '512', "1GB'; DROP", '-1GB'])
      expect(() => offlineStoreTuningFromEnv({ SLATE_OFFLINE_MEMORY_LIMIT: bad })).toThrow();
    for (const bad of ['0', '1.5', 'two', '1000'])
      expect(() => offlineStoreTuningFromEnv({ SLATE_OFFLINE_THREADS: bad })).toThrow();
  });
});
