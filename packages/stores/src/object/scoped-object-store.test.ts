import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalObjectStore } from './local/local-object-store.ts';
import { runObjectStoreConformance } from './object-store-conformance.ts';
import { scopeObjectStore } from './scoped-object-store.ts';

const roots: string[] = [];
const newRoot = async () => {
  const root = await mkdtemp(join(tmpdir(), 'slate-scoped-'));
  roots.push(root);
  return root;
};
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

// A scoped view must itself be a complete ObjectStore.
runObjectStoreConformance('scoped local', {
  create: async () => {
    const store = createLocalObjectStore({ root: await newRoot() });
    await store.init();
    return scopeObjectStore(scopeObjectStore(store, 'env/prod'), 'team');
  },
});

describe('scopeObjectStore', () => {
  it('stores keys under prefix/ in the underlying store, and does not close it', async () => {
    const root = await newRoot();
    const store = createLocalObjectStore({ root });
    await store.init();
    const scoped = scopeObjectStore(store, 'env/e1');
    await scoped.put('data', 'a/b.txt', 'hi');
    expect(await readFile(join(root, 'data', 'env', 'e1', 'a', 'b.txt'), 'utf8')).toBe('hi');
    await scoped.close();
    expect(await store.get('data', 'env/e1/a/b.txt')).toEqual(new Uint8Array(Buffer.from('hi')));
    expect(scoped.capabilities).toBe(store.capabilities);
  });

  it('refuses an invalid prefix', () => {
    const store = createLocalObjectStore({ root: '/nonexistent' });
    for (const prefix of ['', '/env', 'env/../x', 'env//x']) {
      expect(() => scopeObjectStore(store, prefix)).toThrow(
        expect.objectContaining({ kind: 'input', code: 'INVALID_OBJECT_KEY' }),
      );
    }
  });
});
