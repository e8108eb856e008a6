import type { BucketName, ObjectInfo, ObjectStore } from '@slate/stores';

/** A map-backed ObjectStore for tests (the real local/S3 stores live in @slate/stores). */
export function createMemoryObjectStore(): ObjectStore & { readonly objects: Map<string, Uint8Array> } {
  const objects = new Map<string, Uint8Array>();
  const info = (key: string, body: Uint8Array): ObjectInfo => ({
    key,
    size: body.byteLength,
    lastModified: new Date(),
  });
  return {
    objects,
    capabilities: { presignedUrls: false },
    init: async () => {},
    close: async () => {},
    put: async (bucket: BucketName, key: string, body: Uint8Array | string) => {
      const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : new Uint8Array(body);
      objects.set(`${bucket}/${key}`, bytes);
      return info(key, bytes);
    },
    get: async (bucket, key) => objects.get(`${bucket}/${key}`) ?? null,
    head: async (bucket, key) => {
      const body = objects.get(`${bucket}/${key}`);
      return body ? info(key, body) : null;
    },
    list: async function* (bucket, prefix) {
      const keys = [...objects.keys()].filter((k) => k.startsWith(`${bucket}/${prefix}`)).sort();
      for (const k of keys) yield info(k.slice(bucket.length + 1), objects.get(k)!);
    },
    delete: async (bucket, key) => {
      objects.delete(`${bucket}/${key}`);
    },
  };
}
