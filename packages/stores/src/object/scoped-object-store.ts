import { checkObjectKey, checkObjectPrefix } from './object-key.ts';
import type { BucketName, ObjectInfo, ObjectStore, PutOptions } from './object-store.ts';

/**
 * A view of `store` in which every key lives under `prefix/`, e.g. `scopeObjectStore(store, 'env/' + id)`
 * gives each environment its own namespace in the shared buckets. Keys passed in and returned (by `put`,
 * `head`, `list`) are relative to the scope; `prefix` itself must be a valid key, so `env/e1` never sees
 * `env/e10/…`. Views nest.
 *
 * The view does not own `store`: its `init()` and `close()` do nothing; initialise and close the underlying
 * store once, yourself. Throws `SlateError('input', 'INVALID_OBJECT_KEY')` for an invalid `prefix` (and, on
 * use, for invalid keys).
 *
 * @example
 * const shared = createLocalObjectStore({ root: '/var/lib/slate/objects' });
 * const prod = scopeObjectStore(shared, 'env/prod');
 * await prod.put('data', 'offline/part-0.parquet', bytes); // stored as env/prod/offline/part-0.parquet
 */
export function scopeObjectStore(store: ObjectStore, prefix: string): ObjectStore {
  checkObjectKey(prefix);
  const base = `${prefix}/`;
  const inner = (key: string) => {
    checkObjectKey(key);
    return base + key;
  };
  const relative = (info: ObjectInfo, key: string): ObjectInfo => ({ ...info, key });

  return {
    capabilities: store.capabilities,
    async init() {},
    async close() {},
    async put(bucket: BucketName, key: string, body: Uint8Array | string, options?: PutOptions) {
      return relative(await store.put(bucket, inner(key), body, options), key);
    },
    async get(bucket: BucketName, key: string, signal?: AbortSignal) {
      return store.get(bucket, inner(key), signal);
    },
    async head(bucket: BucketName, key: string, signal?: AbortSignal) {
      const info = await store.head(bucket, inner(key), signal);
      return info && relative(info, key);
    },
    async *list(bucket: BucketName, listPrefix: string, signal?: AbortSignal) {
      checkObjectPrefix(listPrefix);
      for await (const info of store.list(bucket, base + listPrefix, signal)) {
        yield relative(info, info.key.slice(base.length));
      }
    },
    async delete(bucket: BucketName, key: string) {
      return store.delete(bucket, inner(key));
    },
  };
}
