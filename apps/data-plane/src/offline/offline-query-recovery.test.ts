import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  createLocalObjectStore,
  createParquetOfflineStore,
  type ObjectStore,
  type Observation,
  type OfflineStore,
} from '@slate/stores';
import { pointInTimeOracle } from '@slate/stores/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatchStatusReport, createBatchStatusReporter } from '../control-plane/batch-status-reporter.ts';
import { createTestPlane, type TestPlane } from '../http/fixtures/test-plane.ts';
import { OfflineQueryRequestSchema } from './offline-query-request.ts';
import {
  createOfflineQueryService,
  type OfflineQueryServiceOptions,
  type RevisionRecord,
} from './offline-query-service.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-offline-recovery-'));
const T = Date.UTC(2025, 3, 1);
let plane: TestPlane;
let objectStore: ObjectStore;
let offline: OfflineStore;
const observations: Observation[] = [];

beforeAll(async () => {
  objectStore = createLocalObjectStore({ root: join(root, 'objects') });
  await objectStore.init();
  offline = createParquetOfflineStore({ objectStore, threads: 1 });
  await offline.init();
  plane = await createTestPlane();
  for (let i = 0; i < 30; i++)
    observations.push({
      feature: i % 2 ? 'user.name' : 'user.total_spend',
      pkey: String(1 + (i % 4)),
      value: i % 2 ? `r${i}` : i * 1.5,
      observedAt: T + (i % 7) * 60_000,
      insertedAt: T + i,
    });
  await offline.write('dev', [{ id: 'recovery', observations }]);
});

afterAll(async () => {
  await plane.app.close();
  await offline.close();
  await rm(root, { recursive: true, force: true });
});

/** The real offline store, whose `sample` waits until `release` (a data plane stuck mid-job). */
function stalledOfflineStore() {
  let release!: () => void;
  let entered!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const inside = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const store: OfflineStore = {
    capabilities: offline.capabilities,
    init: () => offline.init(),
    close: async () => {},
    write: (...args) => offline.write(...args),
    appendRecords: (...args) => offline.appendRecords(...args),
    readRecords: (...args) => offline.readRecords(...args),
    scan: (...args) => offline.scan(...args),
    compact: (...args) => offline.compact(...args),
    dropFeatures: (...args) => offline.dropFeatures(...args),
    sample: async (...args) => {
      entered();
      await released;
      return offline.sample(...args);
    },
  };
  return { store, release, inside };
}

const service = (options: Partial<OfflineQueryServiceOptions> & { skewMs?: number } = {}) =>
  createOfflineQueryService({
    served: plane.served,
    offlineStore: offline,
    objectStore,
    now: () => Date.now() + (options.skewMs ?? 0),
    ...options,
  });

const ids = [1, 2, 3, 4, 5, 2];
const times = ids.map((_, i) => T + i * 70_000);
const request = OfflineQueryRequestSchema.parse({
  input: { columns: ['user.id'], values: [ids] },
  input_times: times.map((t) => new Date(t).toISOString()),
  output: ['user.name', 'user.total_spend'],
});

async function rowsOf(record: RevisionRecord) {
  const bytes = await objectStore.get('dataset', record.output_keys[0]!);
  const file = join(root, `${record.revision_id}.parquet`);
  await writeFile(file, bytes!);
  const duck = await DuckDBInstance.create(':memory:');
  const connection = await duck.connect();
  const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet('${file}') ORDER BY __row__`);
  const rows = reader.getRowObjectsJS();
  connection.closeSync();
  duck.closeSync();
  return rows;
}

/**
 * The real object store, whose write of a COMPLETED revision record waits until `release`: the moment
 * between a run's end and its saved record, held open so a reader can look in.
 */
function heldCompletionObjectStore() {
  let release!: () => void;
  let entered!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const inside = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const store: ObjectStore = {
    ...objectStore,
    put: async (bucket, key, body, options) => {
      if (typeof body === 'string' && body.includes('"status":"COMPLETED"')) {
        entered();
        await released;
      }
      return objectStore.put(bucket, key, body, options);
    },
  };
  return { store, release, inside };
}

describe('a finished offline query', () => {
  it('serves its revision and download while its completed record is being saved', async () => {
    const held = heldCompletionObjectStore();
    const running = service({ objectStore: held.store });
    const submitted = await running.submit('dev', 'tester', request);
    await held.inside; // the run has finished and is saving the COMPLETED record
    const seen = await running.revision('dev', submitted.revision_id);
    expect(seen).toMatchObject({ status: 'COMPLETED', num_rows: ids.length });
    const part = await running.part('dev', submitted.revision_id, 0);
    expect(part).not.toBeNull();
    held.release();
    await running.idle();
    expect(await running.part('dev', submitted.revision_id, 0)).toEqual(part);
  });
});

describe('offline queries after their data plane stopped', () => {
  it('re-runs a revision whose heartbeat went stale on a new service over the same object store', async () => {
    const stalled = stalledOfflineStore();
    const first = service({ offlineStore: stalled.store });
    const submitted = await first.submit('dev', 'tester', request);
    await stalled.inside; // the first data plane is mid-job (WORKING) and then goes silent

    // A second data plane whose clock is past the 60 s heartbeat timeout: it takes the job over.
    const seen: RevisionRecord[] = [];
    const second = service({ skewMs: 61_000, onRevision: (r) => seen.push(r) });
    expect(await second.recover()).toBe(1);
    await second.idle();
    const done = (await second.revision('dev', submitted.revision_id))!;
    expect(done).toMatchObject({ status: 'COMPLETED', attempt: 2, num_rows: ids.length, errors: [] });
    expect(seen.map((r) => r.status)).toEqual(['QUEUED', 'WORKING', 'COMPLETED']);
    const rows = await rowsOf(done);
    const expected = pointInTimeOracle(observations, { pkeys: ids.map(String), times }, [
      { fqn: 'user.name', ttlMs: null },
      { fqn: 'user.total_spend', ttlMs: null },
    ]);
    expect(rows.map((r) => r['user.id'])).toEqual(ids.map(String));
    expect(rows.map((r) => r['user.name'])).toEqual(expected[0]!.values);
    expect(rows.map((r) => r['user.total_spend'])).toEqual(expected[1]!.values);
    expect(expected[0]!.values.some((v) => v !== null)).toBe(true);

    // The first one wakes up: it lost the revision, so it writes nothing over the new run's result.
    stalled.release();
    await first.idle();
    const after = (await service().revision('dev', submitted.revision_id))!;
    expect(after).toMatchObject({ status: 'COMPLETED', attempt: 2, owner: done.owner });
    expect(await second.recover()).toBe(0); // nothing is left to recover
  });

  it('lets exactly one of three replicas take over a stale job when they race: the one granted the claim', async () => {
    const stalled = stalledOfflineStore();
    const first = service({ offlineStore: stalled.store });
    const submitted = await first.submit('dev', 'tester', request);
    await stalled.inside;
    // The claim contract the metadata plane's leases keep (tested against PostgreSQL in its replicas
    // suite): the first claimant of a key holds it until it expires.
    const holders = new Map<string, string>();
    const claims: string[] = [];
    const claimAs = (replica: string) => async (key: string) => {
      claims.push(`${replica}:${key}`);
      if (!holders.has(key)) holders.set(key, replica);
      return holders.get(key) === replica;
    };
    const replicas = ['b', 'c', 'd'].map((name) => service({ skewMs: 61_000, claim: claimAs(name) }));
    const taken = await Promise.all(replicas.map((r) => r.recover()));
    await Promise.all(replicas.map((r) => r.idle()));
    expect(taken.reduce((a, b) => a + b, 0)).toBe(1);
    expect(claims).toHaveLength(3);
    expect(new Set(claims.map((c) => c.slice(2)))).toEqual(
      new Set([`offline-query:dev/${submitted.revision_id}`]),
    );
    const done = (await service().revision('dev', submitted.revision_id))!;
    expect(done).toMatchObject({ status: 'COMPLETED', attempt: 2, num_rows: ids.length });
    stalled.release();
    await first.idle();
    expect(await service().revision('dev', submitted.revision_id)).toMatchObject({
      status: 'COMPLETED',
      attempt: 2,
    });
  });

  it('leaves a job whose heartbeat is fresh to the data plane running it', async () => {
    const stalled = stalledOfflineStore();
    const first = service({ offlineStore: stalled.store });
    const submitted = await first.submit('dev', 'tester', request);
    await stalled.inside;
    expect(await service({ skewMs: 30_000 }).recover()).toBe(0);
    expect((await service({ skewMs: 30_000 }).revision('dev', submitted.revision_id))?.status).toBe(
      'WORKING',
    );
    stalled.release();
    await first.idle();
    expect(await service().revision('dev', submitted.revision_id)).toMatchObject({
      status: 'COMPLETED',
      attempt: 1,
    });
  });

  it('fails a revision out of attempts with HEARTBEAT_LOST, and reports FAILED on batch-status', async () => {
    const stalled = stalledOfflineStore();
    const first = service({ offlineStore: stalled.store });
    const submitted = await first.submit('dev', 'tester', request);
    await stalled.inside;
    const reports: BatchStatusReport[] = [];
    const reporter = createBatchStatusReporter();
    reporter.bind(async (report) => {
      reports.push(report);
    });
    const reader = service({ skewMs: 61_000, maxAttempts: 1, onRevision: (r) => reporter.revision(r) });
    // Reading the revision notices the lost heartbeat (no recover() call needed).
    const failed = (await reader.revision('dev', submitted.revision_id))!;
    expect(failed.status).toBe('FAILED');
    expect(failed.errors).toEqual([
      expect.objectContaining({ code: 'HEARTBEAT_LOST', message: expect.stringContaining('60 s') }),
    ]);
    await reporter.flush();
    expect(reports).toEqual([
      expect.objectContaining({
        operation_id: submitted.revision_id,
        status: 'FAILED',
        kind: 'OFFLINE_QUERY',
      }),
    ]);
    expect(await reader.recover()).toBe(0);
    stalled.release();
    await first.idle();
    expect((await service().revision('dev', submitted.revision_id))?.status).toBe('FAILED');
  });
});
