/**
 * Services a test owns beside the machine's shared ones: a PostgreSQL database of its own, and an S3 server
 * (s3rver) with the buckets a plane expects.
 */
import { BUCKETS, type BucketName } from '@slate/stores';
import { freePort } from '@slate/testing';
import pg from 'pg';
import S3rver from 's3rver';

/** Runs one statement on `serverUrl`'s default database (creating and dropping databases). */
export async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A database created for one test on a PostgreSQL server. */
export interface OwnDatabase {
  readonly name: string;
  /** `serverUrl` with this database's name as its path. */
  readonly url: string;
  /** Drops the database, closing whatever connections are still open on it. */
  drop(): Promise<void>;
}

/**
 * Creates a database called `name` (letters, digits and `_`: make it unique per run) on `serverUrl`.
 *
 * @example
 * const db = await createDatabase(testServices.postgresUrl, `test_x_${process.pid}`);
 * … DATABASE_URL: db.url … finally: await db.drop();
 */
export async function createDatabase(serverUrl: string, name: string): Promise<OwnDatabase> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  await adminQuery(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => adminQuery(serverUrl, `drop database if exists ${name} with (force)`),
  };
}

/** The credentials s3rver accepts. */
export const s3Credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** An S3 server on a free port with one bucket per Slate bucket, named `<bucketPrefix>-<bucket>`. */
export interface OwnS3Server {
  readonly endpoint: string;
  /** What a plane's environment needs to use it (`SLATE_S3_*` and the AWS credentials). */
  readonly env: Record<string, string>;
  /** The bucket names by Slate bucket, for `createS3ObjectStore`. */
  readonly buckets: Record<BucketName, string>;
  close(): Promise<void>;
}

/**
 * Starts s3rver in this process, storing under `directory`, with the buckets of `bucketPrefix` (lower
 * case letters, digits and dashes).
 */
export async function startS3Server(directory: string, bucketPrefix: string): Promise<OwnS3Server> {
  const port = await freePort();
  const buckets = Object.fromEntries(BUCKETS.map((b) => [b, `${bucketPrefix}-${b}`])) as Record<
    BucketName,
    string
  >;
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    directory,
    silent: true,
    configureBuckets: Object.values(buckets).map((name) => ({ name, configs: [] })),
  });
  await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    buckets,
    env: {
      SLATE_S3_BUCKET_PREFIX: bucketPrefix,
      SLATE_S3_ENDPOINT: endpoint,
      SLATE_S3_FORCE_PATH_STYLE: 'true',
      SLATE_S3_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: s3Credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3Credentials.secretAccessKey,
    },
    close: () => server.close(),
  };
}
