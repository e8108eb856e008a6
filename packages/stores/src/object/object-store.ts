/** The five buckets every data plane has, as in the installation guide. */
export const BUCKETS = ['data', 'source', 'dataset', 'model', 'stages'] as const;
export type BucketName = (typeof BUCKETS)[number];

/**
 * Object storage: local folders when embedded, S3 in production. Keys are `/`-separated paths; callers
 * scope keys to an environment with `scopeObjectStore`.
 */
export interface ObjectStore {
  readonly capabilities: ObjectStoreCapabilities;
  init(): Promise<void>;
  close(): Promise<void>;
  /** Writes an object atomically: a reader sees the whole new body or the old one, never a part. */
  put(bucket: BucketName, key: string, body: Uint8Array | string, options?: PutOptions): Promise<ObjectInfo>;
  /** Reads an object; `null` when it does not exist. */
  get(bucket: BucketName, key: string, signal?: AbortSignal): Promise<Uint8Array | null>;
  head(bucket: BucketName, key: string, signal?: AbortSignal): Promise<ObjectInfo | null>;
  /** Lists objects whose key starts with `prefix`, in key order. */
  list(bucket: BucketName, prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo>;
  /** Deletes an object; deleting a missing object is not an error. */
  delete(bucket: BucketName, key: string): Promise<void>;
}

export interface ObjectStoreCapabilities {
  /** Objects can be fetched by URL by other processes (S3 presigned links); false for local folders. */
  readonly presignedUrls: boolean;
}

export interface PutOptions {
  readonly contentType?: string;
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date;
  /** A content hash when the backend provides one. */
  readonly etag?: string;
}
