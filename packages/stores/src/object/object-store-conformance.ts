import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SlateError } from '@slate/graph';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BucketName, ObjectInfo, ObjectStore } from './object-store.ts';
import { scopeObjectStore } from './scoped-object-store.ts';

/** How `runObjectStoreConformance` gets a store, and what a test double standing in for a service lacks. */
export interface ObjectStoreConformanceOptions {
  /** A fresh, initialised store; the suite closes it after each test. */
  readonly create: () => Promise<ObjectStore>;
  /**
   * Shortcomings of a test double (such as s3rver standing in for S3) that the real service does not
   * have. A backend that serves production declares none: the suite then checks everything.
   */
  readonly testDoubleLimits?: {
    /**
     * `list` walks folders depth-first (`a/b` before `a-c`) instead of S3's UTF-8 byte order; the order
     * checks expect that order instead.
     */
    readonly listsDepthFirst?: boolean;
    /** A read racing an overwrite of the same key can fail; the atomic-overwrite check is skipped. */
    readonly failsReadsDuringOverwrite?: boolean;
  };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const utf8 = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const all: ObjectInfo[] = [];
  for await (const info of iterable) all.push(info);
  return all;
}

async function keysOf(store: ObjectStore, bucket: BucketName, prefix: string): Promise<string[]> {
  return (await collect(store.list(bucket, prefix))).map((info) => info.key);
}

/** Resolves to 'input error' when the call rejects with `SlateError` of kind input and `code`. */
async function outcome(attempt: () => Promise<unknown>, code: string): Promise<unknown> {
  return attempt().then(
    () => 'resolved',
    (error: unknown) =>
      error instanceof SlateError && error.kind === 'input' && error.code === code ? 'input error' : error,
  );
}

/**
 * Registers the vitest suite every `ObjectStore` backend must pass. Each test writes under its own random
 * folder, so a backend may share buckets across tests and runs.
 *
 * @example
 * runObjectStoreConformance('local', {
 *   create: async () => {
 *     const store = createLocalObjectStore({ root: await mkdtemp(join(tmpdir(), 'objects-')) });
 *     await store.init();
 *     return store;
 *   },
 * });
 */
export function runObjectStoreConformance(name: string, options: ObjectStoreConformanceOptions): void {
  const depthFirst = options.testDoubleLimits?.listsDepthFirst ?? false;
  const failsReadsDuringOverwrite = options.testDoubleLimits?.failsReadsDuringOverwrite ?? false;

  describe(`ObjectStore conformance: ${name}`, () => {
    let store: ObjectStore;
    let run: string;

    beforeEach(async () => {
      store = await options.create();
      run = `run-${randomUUID()}`;
    });
    afterEach(async () => {
      await store.close();
    });

    it('puts, gets and heads a text object', async () => {
      const before = Date.now();
      const info = await store.put('data', `${run}/hello.txt`, 'héllo, wörld', { contentType: 'text/plain' });
      const after = Date.now();
      expect(info.key).toBe(`${run}/hello.txt`);
      expect(info.size).toBe(14); // é and ö are two bytes each in UTF-8
      expect(info.lastModified.getTime()).toBeGreaterThanOrEqual(before - 2_000);
      expect(info.lastModified.getTime()).toBeLessThanOrEqual(after + 2_000);

      expect(await store.get('data', `${run}/hello.txt`)).toEqual(utf8('héllo, wörld'));
      const head = await store.head('data', `${run}/hello.txt`);
      expect(head).toMatchObject({ key: `${run}/hello.txt`, size: 14 });
      expect(head?.lastModified).toBeInstanceOf(Date);
      expect(Math.abs((head?.lastModified.getTime() ?? 0) - info.lastModified.getTime())).toBeLessThan(2_000);
      if (info.etag !== undefined || head?.etag !== undefined) expect(head?.etag).toBe(info.etag);
    });

    it('round-trips binary bodies byte for byte, including an empty one', async () => {
      const body = new Uint8Array(randomBytes(3 * 1024 * 1024 + 17));
      body.set(Array.from({ length: 256 }, (_, i) => i));
      const expected = sha256(body);
      const info = await store.put('model', `${run}/weights.bin`, body);
      expect(info.size).toBe(3 * 1024 * 1024 + 17);
      const got = await store.get('model', `${run}/weights.bin`);
      expect(got).toBeInstanceOf(Uint8Array);
      expect(got?.byteLength).toBe(body.byteLength);
      expect(sha256(got ?? new Uint8Array())).toBe(expected);

      await store.put('model', `${run}/empty`, new Uint8Array());
      expect(await store.get('model', `${run}/empty`)).toEqual(new Uint8Array());
      expect(await store.head('model', `${run}/empty`)).toMatchObject({ size: 0 });
    });

    it('answers null for a missing object, and for a folder that only holds objects', async () => {
      await store.put('data', `${run}/folder/inside`, 'x');
      expect(await store.get('data', `${run}/missing`)).toBeNull();
      expect(await store.head('data', `${run}/missing`)).toBeNull();
      expect(await store.get('data', `${run}/folder`)).toBeNull();
      expect(await store.head('data', `${run}/folder`)).toBeNull();
      await store.delete('data', `${run}/missing`);
    });

    it('overwrites an object with the new body, size and etag', async () => {
      const first = await store.put('data', `${run}/o`, 'first');
      const second = await store.put('data', `${run}/o`, 'second body');
      expect(await store.get('data', `${run}/o`)).toEqual(utf8('second body'));
      const head = await store.head('data', `${run}/o`);
      expect(head?.size).toBe(11);
      if (first.etag !== undefined) expect(second.etag).not.toBe(first.etag);
      expect(await keysOf(store, 'data', `${run}/`)).toEqual([`${run}/o`]);
    });

    it('lists by prefix, recursively, in key order', async () => {
      const keys = ['x/a-c', 'x/a/b', 'x/a/c/d', 'x/ab', 'x/Z', 'x/é', 'x/a.txt', 'y/a'];
      for (const key of keys) await store.put('dataset', `${run}/${key}`, key);
      const listed = await collect(store.list('dataset', `${run}/x/`));
      const bytewise = ['x/Z', 'x/a-c', 'x/a.txt', 'x/a/b', 'x/a/c/d', 'x/ab', 'x/é'];
      const folderFirst = ['x/Z', 'x/a/b', 'x/a/c/d', 'x/a-c', 'x/a.txt', 'x/ab', 'x/é'];
      expect(listed.map((info) => info.key)).toEqual(
        (depthFirst ? folderFirst : bytewise).map((k) => `${run}/${k}`),
      );
      expect(listed.map((info) => info.size)).toEqual(
        (depthFirst ? folderFirst : bytewise).map((k) => Buffer.byteLength(k)),
      );
      expect(listed.every((info) => info.lastModified instanceof Date)).toBe(true);

      // A prefix that ends inside a segment matches names starting with it, in and beside the folder.
      expect(await keysOf(store, 'dataset', `${run}/x/a`)).toEqual(
        (depthFirst
          ? ['x/a/b', 'x/a/c/d', 'x/a-c', 'x/a.txt', 'x/ab']
          : ['x/a-c', 'x/a.txt', 'x/a/b', 'x/a/c/d', 'x/ab']
        ).map((k) => `${run}/${k}`),
      );
      expect(await keysOf(store, 'dataset', `${run}/x/a/`)).toEqual([`${run}/x/a/b`, `${run}/x/a/c/d`]);
      expect(await keysOf(store, 'dataset', `${run}/y`)).toEqual([`${run}/y/a`]);
      expect(await keysOf(store, 'dataset', `${run}/nothing/`)).toEqual([]);
      expect(await keysOf(store, 'dataset', `${run}/x/a/c/d/`)).toEqual([]);
      expect(await keysOf(store, 'dataset', `${run}/`)).toHaveLength(8);
    });

    it('lists more than one page of keys', async () => {
      const keys = Array.from({ length: 1_050 }, (_, i) => `${run}/many/k${String(i).padStart(4, '0')}`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((key) => store.put('stages', key, key.slice(-5))));
      }
      const listed = await collect(store.list('stages', `${run}/many/`));
      expect(listed.map((info) => info.key)).toEqual(keys);
      expect(new Set(listed.map((info) => info.size))).toEqual(new Set([5]));
    });

    it('deletes an object: gone from get, head and list; its key can then become a folder', async () => {
      await store.put('source', `${run}/a/b/c`, 'deep');
      await store.put('source', `${run}/keep`, 'kept');
      await store.delete('source', `${run}/a/b/c`);
      expect(await store.get('source', `${run}/a/b/c`)).toBeNull();
      expect(await store.head('source', `${run}/a/b/c`)).toBeNull();
      expect(await keysOf(store, 'source', `${run}/`)).toEqual([`${run}/keep`]);
      await store.put('source', `${run}/a/b`, 'now an object');
      expect(await keysOf(store, 'source', `${run}/`)).toEqual([`${run}/a/b`, `${run}/keep`]);
      expect(await store.get('source', `${run}/keep`)).toEqual(utf8('kept'));
    });

    it('keeps buckets apart', async () => {
      await store.put('data', `${run}/same`, 'in data');
      expect(await store.get('model', `${run}/same`)).toBeNull();
      expect(await keysOf(store, 'model', `${run}/`)).toEqual([]);
      await store.put('model', `${run}/same`, 'in model');
      expect(await store.get('data', `${run}/same`)).toEqual(utf8('in data'));
    });

    it('rejects invalid keys and prefixes with SlateError input', async () => {
      const badKeys = [
        '',
        '/abs',
        'a//b',
        'a/',
        'a/../b',
        '..',
        './a',
        'a/.',
        'a\\b',
        'nul\u0000',
        'x'.repeat(1_025),
      ];
      for (const key of badKeys) {
        expect(await outcome(() => store.put('data', key, 'x'), 'INVALID_OBJECT_KEY')).toBe('input error');
        expect(await outcome(() => store.get('data', key), 'INVALID_OBJECT_KEY')).toBe('input error');
        expect(await outcome(() => store.head('data', key), 'INVALID_OBJECT_KEY')).toBe('input error');
        expect(await outcome(() => store.delete('data', key), 'INVALID_OBJECT_KEY')).toBe('input error');
      }
      for (const prefix of ['/abs', 'a/../', '../', 'a//', 'a\\']) {
        expect(await outcome(() => collect(store.list('data', prefix)), 'INVALID_OBJECT_PREFIX')).toBe(
          'input error',
        );
      }
      // Unusual but valid: dots inside names, spaces, unicode.
      await store.put('data', `${run}/.hidden/..x/a b/ünï`, 'ok');
      expect(await store.get('data', `${run}/.hidden/..x/a b/ünï`)).toEqual(utf8('ok'));
    });

    it('isolates scoped stores from each other, listing keys relative to the scope', async () => {
      const e1 = scopeObjectStore(store, `${run}/env/e1`);
      const e10 = scopeObjectStore(store, `${run}/env/e10`);
      await e1.put('data', 'k', 'one');
      const put10 = await e10.put('data', 'k', 'ten');
      await e10.put('data', 'sub/x', 'ten-x');
      expect(put10.key).toBe('k');
      expect(await e1.get('data', 'k')).toEqual(utf8('one'));
      expect(await e10.get('data', 'k')).toEqual(utf8('ten'));
      expect(await e1.get('data', 'sub/x')).toBeNull();
      expect(await keysOf(e1, 'data', '')).toEqual(['k']);
      expect(await keysOf(e10, 'data', '')).toEqual(['k', 'sub/x']);
      expect(await keysOf(e10, 'data', 's')).toEqual(['sub/x']);
      expect(await e10.head('data', 'sub/x')).toMatchObject({ key: 'sub/x', size: 5 });
      expect(await keysOf(store, 'data', `${run}/env/`)).toEqual([
        `${run}/env/e1/k`,
        `${run}/env/e10/k`,
        `${run}/env/e10/sub/x`,
      ]);
      await e1.delete('data', 'k');
      expect(await e10.get('data', 'k')).toEqual(utf8('ten'));
      expect(await outcome(() => e1.get('data', '../e10/k'), 'INVALID_OBJECT_KEY')).toBe('input error');
      expect(() => scopeObjectStore(store, 'env/')).toThrow(
        expect.objectContaining({ code: 'INVALID_OBJECT_KEY' }),
      );
    });

    it.skipIf(failsReadsDuringOverwrite)(
      'never lets a reader see part of a body while it is overwritten',
      async () => {
        const a = new Uint8Array(512 * 1024).fill(0xaa);
        const b = new Uint8Array(768 * 1024).fill(0xbb);
        const allowed = new Set([sha256(a), sha256(b)]);
        await store.put('data', `${run}/atomic`, a);
        const writes = Array.from({ length: 10 }, (_, i) =>
          store.put('data', `${run}/atomic`, i % 2 ? a : b),
        );
        const reads = Array.from({ length: 30 }, () => store.get('data', `${run}/atomic`));
        await Promise.all(writes);
        for (const body of await Promise.all(reads)) {
          expect(body).not.toBeNull();
          expect(allowed.has(sha256(body ?? new Uint8Array()))).toBe(true);
        }
      },
    );

    it('rejects with the abort reason when the signal is already aborted', async () => {
      await store.put('data', `${run}/abort`, 'x');
      const controller = new AbortController();
      const reason = new Error('caller gave up');
      controller.abort(reason);
      await expect(store.get('data', `${run}/abort`, controller.signal)).rejects.toBe(reason);
      await expect(store.head('data', `${run}/abort`, controller.signal)).rejects.toBe(reason);
      await expect(collect(store.list('data', `${run}/`, controller.signal))).rejects.toBe(reason);
    });
  });
}
