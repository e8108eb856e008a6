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

describe('OfflineManifest checkpoints', () => {
  const commitFiles = async (store: ObjectStore, prefix: string) => {
    const keys: string[] = [];
    for await (const info of store.list('data', `${prefix}/_commits/`)) keys.push(info.key);
    return keys;
  };

  it('keeps the commit folder bounded by checkpoints, and a new reader sees the same state', async () => {
    const { store } = await counted('checkpoints');
    const writer = new OfflineManifest(store, 'offline/env', 1_000, 8);
    for (let i = 0; i < 60; i++) {
      await writer.commit({ ids: [`b${i}`], adds: [file(`f${i}`)], removes: [] });
      // Every tenth commit is a compaction: it replaces the previous ten files by one.
      if (i % 10 === 9)
        await writer.commit({
          ids: [],
          adds: [file(`c${i}`)],
          removes: Array.from({ length: 10 }, (_, j) => `f${i - j}`),
        });
    }
    // 66 commits; without checkpoints all 66 files stay and every refresh lists them.
    const keys = await commitFiles(store, 'offline/env');
    expect(keys.length).toBeLessThanOrEqual(9);
    expect(writer.commitCount).toBeLessThanOrEqual(9);
    const expected = Array.from({ length: 6 }, (_, k) => `c${k * 10 + 9}`);
    expect(
      writer
        .visible()
        .map((f) => f.key)
        .sort(),
    ).toEqual(expected.sort());

    const reader = new OfflineManifest(store, 'offline/env', 1_000, 8);
    await reader.refresh();
    expect(
      reader
        .visible()
        .map((f) => f.key)
        .sort(),
    ).toEqual(expected.sort());
    expect(Array.from({ length: 60 }, (_, i) => reader.has(`b${i}`)).every(Boolean)).toBe(true);
    expect(reader.has('b60')).toBe(false);
  });

  it('keeps a removal from being undone by an older commit that still adds the file', async () => {
    const { store } = await counted('late');
    const writer = new OfflineManifest(store, 'offline/env', 1_000, 4);
    await writer.commit({ ids: ['a'], adds: [file('old')], removes: [] });
    // Another process that read only the first commit, then a compaction here removes 'old'.
    const stale = new OfflineManifest(store, 'offline/env', 1_000, 4);
    await stale.refresh();
    await writer.commit({ ids: [], adds: [file('merged')], removes: ['old'] });
    for (let i = 0; i < 4; i++) await writer.commit({ ids: [`b${i}`], adds: [file(`n${i}`)], removes: [] });
    // The writer has checkpointed; the stale process checkpoints its state, which still names 'old'.
    for (let i = 0; i < 4; i++) await stale.commit({ ids: [`s${i}`], adds: [file(`s${i}`)], removes: [] });
    await writer.refresh();
    expect(writer.visible().map((f) => f.key)).not.toContain('old');
    expect(writer.visible().map((f) => f.key)).toContain('s3');
  });
});

describe('OfflineManifest refresh', () => {
  it('skips the listing when the folder was listed less than maxAgeMs ago, and lists otherwise', async () => {
    const { store } = await counted('max-age');
    const writer = new OfflineManifest(store, 'offline/env');
    const reader = new OfflineManifest(store, 'offline/env');
    await reader.refresh();
    await writer.commit({ ids: ['b1'], adds: [file('f1')], removes: [] });
    await reader.refresh(undefined, 60_000);
    expect(reader.has('b1')).toBe(false);
    await reader.refresh();
    expect(reader.has('b1')).toBe(true);
  });
});
