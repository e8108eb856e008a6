import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runObjectStoreConformance } from '../object-store-conformance.ts';
import { createLocalObjectStore } from './local-object-store.ts';

const roots: string[] = [];
const newRoot = async () => {
  const root = await mkdtemp(join(tmpdir(), 'slate-objects-'));
  roots.push(root);
  return root;
};
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

runObjectStoreConformance('local', {
  create: async () => {
    const store = createLocalObjectStore({ root: await newRoot() });
    await store.init();
    return store;
  },
});

describe('createLocalObjectStore', () => {
  it('lays objects out as <root>/<bucket>/<key> with a sha256 etag, leaving no temporary files', async () => {
    const root = await newRoot();
    const store = createLocalObjectStore({ root });
    await store.init();
    expect((await readdir(root)).sort()).toEqual(['data', 'dataset', 'model', 'source', 'stages']);
    const info = await store.put('dataset', 'env/e1/part-0.csv', 'a,b\n1,2\n');
    expect(await readFile(join(root, 'dataset', 'env', 'e1', 'part-0.csv'), 'utf8')).toBe('a,b\n1,2\n');
    expect(await readdir(join(root, 'dataset', 'env', 'e1'))).toEqual(['part-0.csv']);
    const expected = createHash('sha256').update('a,b\n1,2\n').digest('hex');
    expect(info.etag).toBe(expected);
    expect((await store.head('dataset', 'env/e1/part-0.csv'))?.etag).toBe(expected);
    expect(store.capabilities).toEqual({ presignedUrls: false });
  });

  it('refuses a key that is both an object and a folder, and the reserved temporary names', async () => {
    const store = createLocalObjectStore({ root: await newRoot() });
    await store.init();
    await store.put('data', 'a/b', 'x');
    await expect(store.put('data', 'a/b/c', 'y')).rejects.toMatchObject({
      kind: 'conflict',
      code: 'OBJECT_KEY_CONFLICT',
    });
    await expect(store.put('data', 'a', 'y')).rejects.toMatchObject({
      kind: 'conflict',
      code: 'OBJECT_KEY_CONFLICT',
    });
    await expect(store.put('data', 'a/.slate-tmp-x', 'y')).rejects.toMatchObject({
      kind: 'input',
      code: 'INVALID_OBJECT_KEY',
    });
    expect(await store.get('data', 'a/b')).toEqual(new Uint8Array(Buffer.from('x')));
  });

  it('removes the folders a delete leaves empty, and only those', async () => {
    const root = await newRoot();
    const store = createLocalObjectStore({ root });
    await store.init();
    await store.put('data', 'p/q/r/s', '1');
    await store.put('data', 'p/t', '2');
    await store.delete('data', 'p/q/r/s');
    expect(await readdir(join(root, 'data', 'p'))).toEqual(['t']);
    expect(await readdir(join(root, 'data'))).toEqual(['p']);
  });
});
