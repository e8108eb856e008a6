import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalObjectStore } from '../../object/local/local-object-store.ts';
import type { ObjectStore } from '../../object/object-store.ts';
import { OfflineManifest } from './offline-manifest.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-manifest-test-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const file = (key: string) => ({
  key,
  namespace: 'user',
  date: '2024-06-01',
  rows: 1,
  bytes: 1,
  minObservedAt: 0,
  maxObservedAt: 0,
});

/** The local object store, counting the commit files it is asked to read. */
async function counted(name: string) {
  const inner = createLocalObjectStore({ root: join(root, name) });
  await inner.init();
  const reads = { count: 0 };
  const store: ObjectStore = {
    ...inner,
    get: (bucket, key, signal) => {
      reads.count++;
      return inner.get(bucket, key, signal);
    },
  };
  return { store, reads };
}

describe('OfflineManifest', () => {
  it('remembers only the most recent dedupeIds batch ids, oldest forgotten first, across a reload', async () => {
    const { store } = await counted('ids');
    const writer = new OfflineManifest(store, 'offline/env', 3);
    for (let i = 0; i < 5; i++) await writer.commit({ ids: [`b${i}`], adds: [file(`f${i}`)], removes: [] });
    expect(['b0', 'b1', 'b2', 'b3', 'b4'].map((id) => writer.has(id))).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
    // A process starting over the same folder folds the commits in time order and keeps the same ones.
    const reader = new OfflineManifest(store, 'offline/env', 3);
    await reader.refresh();
    expect(['b0', 'b1', 'b2', 'b3', 'b4'].map((id) => reader.has(id))).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
    // Forgetting ids never hides data.
    expect(
      reader
        .visible()
        .map((f) => f.key)
        .sort(),
    ).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
  });

  it('reads each commit file once and applies another writer’s commits, removals included', async () => {
    const { store, reads } = await counted('incremental');
    const a = new OfflineManifest(store, 'offline/env');
    const b = new OfflineManifest(store, 'offline/env');
    await a.commit({ ids: ['x'], adds: [file('f1'), file('f2')], removes: [] });
    await b.refresh();
    expect(reads.count).toBe(1);
    await b.refresh();
    expect(reads.count).toBe(1);
    await a.commit({ ids: ['y'], adds: [file('f3')], removes: ['f1'] });
    await b.refresh();
    expect(reads.count).toBe(2);
    expect(b.has('x') && b.has('y')).toBe(true);
    expect(
      b
        .visible()
        .map((f) => f.key)
        .sort(),
    ).toEqual(['f2', 'f3']);
  });
});
