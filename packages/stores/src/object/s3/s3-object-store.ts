import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { SlateError } from '@slate/graph';
import { checkObjectKey, checkObjectPrefix } from '../object-key.ts';
import {
  BUCKETS,
  type BucketName,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from '../object-store.ts';

/** Options for `createS3ObjectStore`. */
export interface S3ObjectStoreOptions {
  /** The AWS region, e.g. `us-east-1` (S3-compatible servers usually accept any). */
  readonly region: string;
  /** An S3-compatible endpoint URL (MinIO, R2, a test double); default: AWS S3 for `region`. */
  readonly endpoint?: string;
  /** Static credentials; default: the AWS SDK's provider chain (environment, profile, instance role). */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  /** Address buckets as `endpoint/bucket` rather than `bucket.endpoint`. Default `false`. */
  readonly forcePathStyle?: boolean;
  /** The real S3 bucket behind each logical bucket (several may share one). */
  readonly buckets: Readonly<Record<BucketName, string>>;
}

/**
 * An `ObjectStore` on S3 or an S3-compatible server, through `@aws-sdk/client-s3`. Each logical bucket maps
 * to a real bucket (`buckets`); keys are used as they are, so scope them with `scopeObjectStore`.
 *
 * - `init()` checks every mapped bucket exists (HeadBucket) and throws
 *   `SlateError('not_found', 'OBJECT_BUCKET_NOT_FOUND')` otherwise; the store never creates buckets.
 * - `put` is one PutObject, atomic by S3's own guarantee; the returned `lastModified` is this process's
 *   clock when the write finished (S3 does not return it), `etag` is S3's ETag without quotes.
 * - `list` pages through ListObjectsV2 lazily (one request per 1,000 keys), in S3's UTF-8 byte order.
 * - Errors: access denied → `not_allowed`; bad credentials → `authentication`; a missing bucket →
 *   `not_found`; SDK timeouts → `timeout`; anything else (network, 5xx) → `unavailable`. An aborted
 *   `signal` rejects with `signal.reason`.
 *
 * @example
 * const store = createS3ObjectStore({
 *   region: 'us-east-1',
 *   buckets: { data: 'acme-data', source: 'acme-source', dataset: 'acme-datasets', model: 'acme-models', stages: 'acme-stages' },
 * });
 * await store.init();
 * const body = await store.get('model', 'churn/v3.onnx');
 */
export function createS3ObjectStore(options: S3ObjectStoreOptions): ObjectStore {
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
    forcePathStyle: options.forcePathStyle ?? false,
  });
  const bucketOf = (bucket: BucketName) => {
    const name = BUCKETS.includes(bucket) ? options.buckets[bucket] : undefined;
    if (!name)
      throw new SlateError('input', 'UNKNOWN_BUCKET', `no S3 bucket is mapped for ${JSON.stringify(bucket)}`);
    return name;
  };

  /** Sends one command, translating failures; `notFound` is the code a bare 404 means for this call. */
  async function send<T>(
    run: (abortSignal: AbortSignal | undefined) => Promise<T>,
    action: string,
    signal: AbortSignal | undefined,
    notFound = 'OBJECT_NOT_FOUND',
  ): Promise<T> {
    signal?.throwIfAborted();
    try {
      return await run(signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw toSlateError(error, action, notFound);
    }
  }

  return {
    capabilities: { presignedUrls: true },

    async init() {
      await Promise.all(
        [...new Set(BUCKETS.map(bucketOf))].map((Bucket) =>
          send(
            () => client.send(new HeadBucketCommand({ Bucket })),
            `find bucket ${Bucket}`,
            undefined,
            'OBJECT_BUCKET_NOT_FOUND',
          ),
        ),
      );
    },

    async close() {
      client.destroy();
    },

    async put(bucket: BucketName, key: string, body: Uint8Array | string, putOptions?: PutOptions) {
      checkObjectKey(key);
      const Bucket = bucketOf(bucket);
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const result = await send(
        () =>
          client.send(
            new PutObjectCommand({
              Bucket,
              Key: key,
              Body: bytes,
              ContentLength: bytes.byteLength,
              ...(putOptions?.contentType === undefined ? {} : { ContentType: putOptions.contentType }),
            }),
          ),
        `put ${bucket}/${key}`,
        undefined,
      );
      return { key, size: bytes.byteLength, lastModified: new Date(), ...etagOf(result.ETag) };
    },

    async get(bucket: BucketName, key: string, signal?: AbortSignal) {
      checkObjectKey(key);
      const Bucket = bucketOf(bucket);
      try {
        return await send(
          async (abortSignal) => {
            const result = await client.send(new GetObjectCommand({ Bucket, Key: key }), { abortSignal });
            return result.Body ? await result.Body.transformToByteArray() : new Uint8Array();
          },
          `get ${bucket}/${key}`,
          signal,
        );
      } catch (error) {
        if (error instanceof SlateError && error.code === 'OBJECT_NOT_FOUND') return null;
        throw error;
      }
    },

    async head(bucket: BucketName, key: string, signal?: AbortSignal) {
      checkObjectKey(key);
      const Bucket = bucketOf(bucket);
      try {
        const result = await send(
          (abortSignal) => client.send(new HeadObjectCommand({ Bucket, Key: key }), { abortSignal }),
          `head ${bucket}/${key}`,
          signal,
        );
        return {
          key,
          size: result.ContentLength ?? 0,
          lastModified: result.LastModified ?? new Date(0),
          ...etagOf(result.ETag),
        };
      } catch (error) {
        if (error instanceof SlateError && error.code === 'OBJECT_NOT_FOUND') return null;
        throw error;
      }
    },

    async *list(bucket: BucketName, prefix: string, signal?: AbortSignal): AsyncGenerator<ObjectInfo> {
      checkObjectPrefix(prefix);
      const Bucket = bucketOf(bucket);
      let ContinuationToken: string | undefined;
      do {
        const page = await send(
          (abortSignal) =>
            client.send(
              new ListObjectsV2Command({
                Bucket,
                ...(prefix === '' ? {} : { Prefix: prefix }),
                ...(ContinuationToken === undefined ? {} : { ContinuationToken }),
              }),
              { abortSignal },
            ),
          `list ${bucket}/${prefix}`,
          signal,
        );
        for (const object of page.Contents ?? []) {
          if (object.Key === undefined) continue;
          yield {
            key: object.Key,
            size: object.Size ?? 0,
            lastModified: object.LastModified ?? new Date(0),
            ...etagOf(object.ETag),
          };
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken !== undefined);
    },

    async delete(bucket: BucketName, key: string) {
      checkObjectKey(key);
      const Bucket = bucketOf(bucket);
      try {
        await send(
          () => client.send(new DeleteObjectCommand({ Bucket, Key: key })),
          `delete ${bucket}/${key}`,
          undefined,
        );
      } catch (error) {
        if (error instanceof SlateError && error.code === 'OBJECT_NOT_FOUND') return;
        throw error;
      }
    },
  };
}

/** S3 quotes ETags (`"abc…"`); callers compare bare hashes. */
function etagOf(etag: string | undefined): { etag?: string } {
  return etag === undefined ? {} : { etag: etag.replace(/^"|"$/g, '') };
}

const AUTHENTICATION_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'CredentialsProviderError',
]);

function toSlateError(error: unknown, action: string, notFound: string): SlateError {
  if (error instanceof SlateError) return error;
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  const status =
    typeof error === 'object' && error !== null && '$metadata' in error
      ? (error.$metadata as { httpStatusCode?: number }).httpStatusCode
      : undefined;
  const make = (kind: SlateError['kind'], code: string) =>
    new SlateError(kind, code, `could not ${action}: ${name ? `${name}: ` : ''}${message}`, undefined, {
      cause: error,
    });
  if (name === 'NoSuchBucket') return make('not_found', 'OBJECT_BUCKET_NOT_FOUND');
  if (name === 'NoSuchKey' || status === 404) return make('not_found', notFound);
  if (AUTHENTICATION_CODES.has(name)) return make('authentication', 'OBJECT_STORE_AUTHENTICATION');
  if (name === 'AccessDenied' || status === 403) return make('not_allowed', 'OBJECT_ACCESS_DENIED');
  if (name === 'TimeoutError' || name === 'RequestTimeout') return make('timeout', 'OBJECT_STORE_TIMEOUT');
  return make('unavailable', 'OBJECT_STORE_UNAVAILABLE');
}
