import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SlateError } from '@slate/graph';
import { checkObjectKey, checkObjectPrefix } from '../object-key.ts';
import {
  BUCKETS,
  type BucketName,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from '../object-store.ts';

/** Options for `createLocalObjectStore`. */
export interface LocalObjectStoreOptions {
  /** The folder holding one sub-folder per bucket; created by `init()` if missing. */
  readonly root: string;
}

/** Names of in-flight temporary files; keys with a segment starting with it are refused. */
const TEMP_PREFIX = '.slate-tmp-';

/**
 * An `ObjectStore` on the local file system: bucket `b`, key `a/b/c` is the file `<root>/b/a/b/c`.
 *
 * - `put` writes and fsyncs a temporary file in the destination folder, then renames it over the key, so
 *   readers see the old or the new body, never a part, even across a crash. `contentType` is not kept.
 * - `etag` is the SHA-256 hex digest of the body. `put` computes it from the body and `head` by reading
 *   the file; `list` leaves it out, since it would read every object.
 * - `list` walks folders lazily and yields keys in UTF-8 byte order, as S3 does (`a-b` before `a/b`).
 * - `delete` removes folders it leaves empty.
 * - Unlike S3, a key cannot be both an object and the folder of other objects (`a` and `a/b`): such a
 *   `put` throws `SlateError('conflict', 'OBJECT_KEY_CONFLICT')`. Keys with a segment starting with
 *   `.slate-tmp-` are refused as `INVALID_OBJECT_KEY` (temporary files use that name).
 * - Other file-system failures throw `SlateError('unavailable', 'OBJECT_STORE_UNAVAILABLE')`.
 *
 * @example
 * const store = createLocalObjectStore({ root: '.slate/objects' });
 * await store.init();
 * await store.put('model', 'churn/v3.onnx', bytes);
 * for await (const info of store.list('model', 'churn/')) console.log(info.key, info.size);
 */
export function createLocalObjectStore(options: LocalObjectStoreOptions): ObjectStore {
  const { root } = options;
  const bucketDir = (bucket: BucketName) => {
    if (!BUCKETS.includes(bucket)) {
      throw new SlateError('input', 'UNKNOWN_BUCKET', `unknown bucket ${JSON.stringify(bucket)}`);
    }
    return join(root, bucket);
  };
  const pathOf = (bucket: BucketName, key: string) => {
    checkObjectKey(key);
    if (key.split('/').some((segment) => segment.startsWith(TEMP_PREFIX))) {
      throw new SlateError(
        'input',
        'INVALID_OBJECT_KEY',
        `invalid object key ${JSON.stringify(key)}: segments starting with ${TEMP_PREFIX} are reserved`,
        { key },
      );
    }
    return join(bucketDir(bucket), ...key.split('/'));
  };

  async function writeAtomically(path: string, bytes: Uint8Array): Promise<Date> {
    const temp = join(dirname(path), `${TEMP_PREFIX}${randomUUID()}`);
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
      const { mtime } = await handle.stat();
      await handle.close();
      await rename(temp, path);
      return mtime;
    } catch (error) {
      await handle.close().catch(() => {}); // already closed when rename failed
      await unlink(temp).catch(() => {});
      throw error;
    }
  }

  async function* walk(
    bucket: BucketName,
    folderKey: string,
    namePrefix: string,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<ObjectInfo> {
    let entries: Dirent[];
    try {
      entries = await readdir(join(bucketDir(bucket), ...folderKey.split('/').filter(Boolean)), {
        withFileTypes: true,
      });
    } catch (error) {
      if (isMissing(error)) return;
      throw fsError(error, `list ${bucket}/${folderKey}${namePrefix}`);
    }
    // A folder sorts as `name/`, so its keys land where S3 puts them: `a-b` < `a/…` < `ab`.
    const children = entries
      .filter(
        (entry) =>
          entry.name.startsWith(namePrefix) &&
          !entry.name.startsWith(TEMP_PREFIX) &&
          (entry.isFile() || entry.isDirectory()),
      )
      .map((entry) => ({
        name: entry.name,
        folder: entry.isDirectory(),
        order: Buffer.from(entry.isDirectory() ? `${entry.name}/` : entry.name, 'utf8'),
      }))
      .sort((a, b) => Buffer.compare(a.order, b.order));
    for (const child of children) {
      signal?.throwIfAborted();
      const key = folderKey + child.name;
      if (child.folder) {
        yield* walk(bucket, `${key}/`, '', signal);
        continue;
      }
      try {
        const info = await stat(join(bucketDir(bucket), ...key.split('/')));
        yield { key, size: info.size, lastModified: info.mtime };
      } catch (error) {
        if (!isMissing(error)) throw fsError(error, `list ${bucket}/${key}`);
        // Deleted while we were listing: it is simply not there any more.
      }
    }
  }

  return {
    capabilities: { presignedUrls: false },

    async init() {
      try {
        await Promise.all(BUCKETS.map((bucket) => mkdir(join(root, bucket), { recursive: true })));
      } catch (error) {
        throw fsError(error, `create the buckets under ${root}`);
      }
    },

    async close() {},

    async put(bucket: BucketName, key: string, body: Uint8Array | string, _options?: PutOptions) {
      const path = pathOf(bucket, key);
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const etag = createHash('sha256').update(bytes).digest('hex');
      // A concurrent delete may remove the (then empty) folder between mkdir and open: try again.
      for (let attempt = 1; ; attempt += 1) {
        try {
          await mkdir(dirname(path), { recursive: true });
          const lastModified = await writeAtomically(path, bytes);
          return { key, size: bytes.byteLength, lastModified, etag };
        } catch (error) {
          const code = errorCode(error);
          if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR') {
            throw new SlateError(
              'conflict',
              'OBJECT_KEY_CONFLICT',
              `cannot put ${bucket}/${key}: the key is a folder of other objects, or nests under an object`,
              { bucket, key },
              { cause: error },
            );
          }
          if (code !== 'ENOENT' || attempt >= 3) throw fsError(error, `put ${bucket}/${key}`);
        }
      }
    },

    async get(bucket: BucketName, key: string, signal?: AbortSignal) {
      const path = pathOf(bucket, key);
      signal?.throwIfAborted();
      try {
        const buffer = await readFile(path, { signal });
        return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (isMissing(error) || errorCode(error) === 'EISDIR') return null;
        throw fsError(error, `get ${bucket}/${key}`);
      }
    },

    async head(bucket: BucketName, key: string, signal?: AbortSignal) {
      const path = pathOf(bucket, key);
      signal?.throwIfAborted();
      try {
        const info = await stat(path);
        if (!info.isFile()) return null;
        const hash = createHash('sha256');
        for await (const chunk of createReadStream(path, { signal })) hash.update(chunk as Buffer);
        return { key, size: info.size, lastModified: info.mtime, etag: hash.digest('hex') };
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (isMissing(error)) return null;
        throw fsError(error, `head ${bucket}/${key}`);
      }
    },

    async *list(bucket: BucketName, prefix: string, signal?: AbortSignal) {
      checkObjectPrefix(prefix);
      bucketDir(bucket);
      signal?.throwIfAborted();
      const slash = prefix.lastIndexOf('/');
      yield* walk(bucket, prefix.slice(0, slash + 1), prefix.slice(slash + 1), signal);
    },

    async delete(bucket: BucketName, key: string) {
      const path = pathOf(bucket, key);
      try {
        await unlink(path);
      } catch (error) {
        const code = errorCode(error);
        if (isMissing(error) || code === 'EISDIR' || code === 'EPERM') return;
        throw fsError(error, `delete ${bucket}/${key}`);
      }
      // Prune folders this delete emptied, so the key can later become an object name again.
      const top = bucketDir(bucket);
      for (let folder = dirname(path); folder.length > top.length; folder = dirname(folder)) {
        try {
          await rmdir(folder);
        } catch {
          break; // not empty (or already gone): stop pruning
        }
      }
    },
  };
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function fsError(error: unknown, action: string): SlateError {
  if (error instanceof SlateError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SlateError(
    'unavailable',
    'OBJECT_STORE_UNAVAILABLE',
    `could not ${action}: ${message}`,
    undefined,
    {
      cause: error,
    },
  );
}
