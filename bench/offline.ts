/**
 * `npm run bench -- offline`: the offline side of issue 6.
 *
 * 1. Point-in-time offline query: `INPUT_ROWS` spine rows × 10 features over `OBSERVATIONS` stored
 *    observations (Parquet in the offline store's layout), through `OfflineStore.sample` to a Parquet file,
 *    against DuckDB's own ASOF join over the same files (no tie-break, no TTL) as the baseline.
 * 2. Persistence throughput: feature values/s from the result bus (embedded log) through the persistence
 *    worker into Redis and into Parquet, against writing the same values straight into each store.
 *
 * `BENCH_SCALE` (default 1) scales both sizes, e.g. `BENCH_SCALE=0.1` for a quick run.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  createLocalObjectStore,
  createLogBus,
  createParquetOfflineStore,
  createRedisOnlineStore,
  type OnlineEntry,
} from '@slate/stores';
import { isReachable, testServices } from '@slate/testing';
import { createPersistenceWorker } from '../apps/data-plane/src/persistence/persistence-worker.ts';
import {
  RESULT_BUS_TOPIC,
  type ResultMessageInput,
} from '../apps/data-plane/src/persistence/result-message.ts';
import { createOfflineWriter } from '../apps/data-plane/src/persistence/writers/offline-writer.ts';
import { createOnlineWriter } from '../apps/data-plane/src/persistence/writers/online-writer.ts';
import { OfflineManifest } from '../packages/stores/src/offline/parquet/offline-manifest.ts';
import type { BenchFigure, BenchReport } from './report.ts';

const scale = Number(process.env.BENCH_SCALE ?? 1);
const INPUT_ROWS = Math.round(1_000_000 * scale);
const OBSERVATIONS = Math.round(10_000_000 * scale);
const FEATURES = 10;
const KEYS = Math.max(1, Math.round(OBSERVATIONS / FEATURES / 10));
const PERSIST_VALUES = Math.round(1_000_000 * scale);
const VALUES_PER_MESSAGE = 500;
const T0 = Date.UTC(2025, 0, 1);
const SPAN_MS = 30 * 86_400_000;

const rssMb = () => process.resourceUsage().maxRSS / 1024;
const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;
const time = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
};

export async function run(): Promise<BenchReport> {
  const root = await mkdtemp(join(tmpdir(), 'slate-bench-offline-'));
  try {
    const pit = await pointInTime(root);
    const persistence = await persistenceThroughput(root);
    return {
      name: 'offline',
      title: 'Offline store: point-in-time queries and background persistence',
      figures: [...pit.figures, ...persistence.figures],
      notes: [
        `Point in time: ${INPUT_ROWS.toLocaleString('en-US')} input rows × ${FEATURES} features over ${OBSERVATIONS.toLocaleString('en-US')} observations (${KEYS.toLocaleString('en-US')} keys, timestamps over 30 days, ~5% exact time ties), Parquet (ZSTD) in the offline store's layout on a local object store, one file per feature. Slate = \`OfflineStore.sample\` writing the result to Parquet: one DuckDB query with an ASOF LEFT JOIN per feature on (key, observed_at·10¹³ + inserted_at), so ties go to the latest insert, plus the offline-TTL check. Baseline = DuckDB's plain ASOF LEFT JOIN per feature on (key, observed_at) over the same files, also written to Parquet (no tie-break, no TTL). Both warm (files staged locally), DuckDB with 2 threads; best of 2 runs. Peak RSS is the process's (DuckDB's buffers included) after each step, so the second figure includes the first.`,
        `Persistence: ${PERSIST_VALUES.toLocaleString('en-US')} feature values in messages of ${VALUES_PER_MESSAGE} (one message per query or upload), published to the embedded log bus, then drained by the persistence worker's background loop (batches of 500 messages, the next batch decoded while one is written) into the store named. Baseline = the same values written straight into that store, one call after another (Redis: \`OnlineStore.set\` in calls of 5,000 values, one script run each; Parquet: \`OfflineStore.write\` of the same batches), so the ratio is the cost of the bus, JSON decoding and validation, less what overlapping decoding with the store's work wins back. The Redis server shares the 2 cores: its CPU counts. Redis is the machine's server at ${testServices.redisUrl}.`,
        pit.note,
        persistence.note,
      ]
        .filter(Boolean)
        .join('\n\n'),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function pointInTime(root: string): Promise<{ figures: BenchFigure[]; note: string }> {
  const objectStore = createLocalObjectStore({ root: join(root, 'objects') });
  await objectStore.init();
  const generated = join(root, 'generated');
  await mkdir(generated, { recursive: true });
  const duck = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await duck.connect();
  const manifest = new OfflineManifest(objectStore, 'offline/bench');
  const files: { key: string; local: string; feature: string }[] = [];
  const [, generateMs] = await time(async () => {
    await connection.run(`CREATE TABLE spine AS SELECT (hash(i) % ${KEYS})::VARCHAR AS pkey,
      make_timestamp((${T0} + (hash(i * 7 + 1) % ${SPAN_MS}))::BIGINT * 1000) AS ts
      FROM range(${INPUT_ROWS}) t(i)`);
    await connection.run(`COPY spine TO ${quote(join(root, 'spine.parquet'))} (FORMAT parquet)`);
    for (let f = 0; f < FEATURES; f++) {
      const local = join(generated, `f${f}.parquet`);
      await connection.run(`CREATE OR REPLACE TABLE obs AS SELECT 'bench.f${f}' AS feature, (i % ${KEYS})::VARCHAR AS pkey,
        (hash(i * 31 + ${f}) % 100000)::VARCHAR AS value,
        make_timestamp((${T0} + (hash(i * 13 + ${f}) % ${SPAN_MS}) // 60000 * 60000)::BIGINT * 1000) AS observed_at,
        make_timestamp((${T0} + ${SPAN_MS} + i)::BIGINT * 1000) AS inserted_at,
        'bench_resolver' AS resolver, 'dep' AS deployment_id, NULL::VARCHAR AS query_id, 'b:' || i AS observation_id
        FROM range(${Math.round(OBSERVATIONS / FEATURES)}) t(i)`);
      await connection.run(
        `COPY (SELECT * FROM obs ORDER BY pkey, observed_at) TO ${quote(local)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      files.push({
        key: `offline/bench/observations/namespace=bench/date=2025-01-01/gen-${f}.parquet`,
        local,
        feature: `bench.f${f}`,
      });
    }
    for (const file of files) {
      const bytes = await readFile(file.local);
      await objectStore.put('data', file.key, bytes);
    }
    await manifest.commit({
      ids: [],
      adds: await Promise.all(
        files.map(async (file) => ({
          key: file.key,
          namespace: 'bench',
          date: '2025-01-01',
          rows: Math.round(OBSERVATIONS / FEATURES),
          bytes: (await stat(file.local)).size,
          minObservedAt: T0,
          maxObservedAt: T0 + SPAN_MS,
          features: [file.feature],
        })),
      ),
      removes: [],
    });
  });
  const features = Array.from({ length: FEATURES }, (_, f) => `bench.f${f}`);

  // Baseline: DuckDB's ASOF join, one per feature, over the same Parquet files.
  const baselineSql = `COPY (
    WITH ${features.map((_, f) => `o${f} AS (SELECT pkey, value, observed_at FROM read_parquet(${quote(files[f]!.local)}))`).join(',\n')}
    SELECT s.pkey, s.ts${features.map((_, f) => `, o${f}.value AS v${f}, o${f}.observed_at AS t${f}`).join('')}
    FROM read_parquet(${quote(join(root, 'spine.parquet'))}) s
    ${features.map((_, f) => `ASOF LEFT JOIN o${f} ON s.pkey = o${f}.pkey AND s.ts >= o${f}.observed_at`).join('\n')}
  ) TO ${quote(join(root, 'baseline.parquet'))} (FORMAT parquet, COMPRESSION zstd)`;
  let baselineMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 2; i++)
    baselineMs = Math.min(baselineMs, (await time(() => connection.run(baselineSql)))[1]);
  const baselineRss = rssMb();
  connection.closeSync();
  duck.closeSync();

  const offline = createParquetOfflineStore({ objectStore, stagingDir: join(root, 'staging'), threads: 2 });
  await offline.init();
  const request = {
    spine: { parquet: join(root, 'spine.parquet') },
    features: features.map((fqn, f) => ({
      fqn,
      ttlMs: f % 2 === 0 ? null : 7 * 86_400_000,
      dtype: { type: 'string' as const },
    })),
    output: { parquet: join(root, 'slate.parquet') },
  };
  const [, coldMs] = await time(() => offline.sample('bench', request));
  let slateMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 2; i++)
    slateMs = Math.min(slateMs, (await time(() => offline.sample('bench', request)))[1]);
  const slateRss = rssMb();
  await offline.close();

  return {
    figures: [
      {
        name: `point-in-time query, ${INPUT_ROWS.toLocaleString('en-US')} rows × ${FEATURES} features over ${OBSERVATIONS.toLocaleString('en-US')} observations`,
        value: slateMs / 1000,
        unit: 's',
        baseline: baselineMs / 1000,
        note: 'baseline: DuckDB ASOF join on the same Parquet files; target ≤ 1.5×',
      },
      {
        name: 'point-in-time query, first run (stages files from the object store)',
        value: coldMs / 1000,
        unit: 's',
      },
      { name: 'peak RSS after the baseline', value: baselineRss, unit: 'MB' },
      { name: 'peak RSS after the Slate query', value: slateRss, unit: 'MB' },
    ],
    note: `Generating and storing the data took ${(generateMs / 1000).toFixed(1)} s (not measured).`,
  };
}

async function persistenceThroughput(root: string): Promise<{ figures: BenchFigure[]; note: string }> {
  const messages = Math.ceil(PERSIST_VALUES / VALUES_PER_MESSAGE);
  // Built afresh for each run and dropped after it, so no run's garbage collections have to walk the
  // million values another run keeps alive.
  const generate = (): ResultMessageInput[] =>
    Array.from({ length: messages }, (_, m) => ({
      version: 1,
      environment: 'bench',
      operationId: randomUUID(),
      operationKind: 'ONLINE_QUERY',
      deploymentId: 'dep',
      insertedAt: T0 + m,
      values: Array.from({ length: VALUES_PER_MESSAGE }, (_, v) => ({
        feature: `bench.f${v % FEATURES}`,
        pkey: String(m * 50 + Math.floor(v / FEATURES)),
        value: (m * VALUES_PER_MESSAGE + v) / 7,
        observedAt: T0 + m,
        resolver: 'bench_resolver',
      })),
      writeOnline: true,
      writeOffline: true,
    }));
  const figures: BenchFigure[] = [];
  const notes: string[] = [];

  const drain = async (
    name: string,
    writer: Parameters<typeof createPersistenceWorker>[0]['writers'][number],
  ) => {
    const bus = createLogBus({ root: join(root, `bus-${name}`), sync: false });
    await bus.init();
    let payloads: ResultMessageInput[] | undefined = generate();
    for (let i = 0; i < payloads.length; i += 100) {
      await bus.publish(
        RESULT_BUS_TOPIC,
        payloads
          .slice(i, i + 100)
          .map((p) => ({ key: p.environment, value: JSON.stringify(p), id: p.operationId })),
      );
    }
    // The worker as the data plane runs it (`start()`: the next batch is decoded while one is written),
    // timed until every message is written and acknowledged.
    payloads = undefined;
    let left = messages;
    let drained!: () => void;
    const done = new Promise<void>((resolve) => {
      drained = resolve;
    });
    const worker = createPersistenceWorker({
      bus,
      writers: [writer],
      lingerMs: 5,
      beforeAck: (batch) => {
        left -= batch.length;
        if (left === 0) drained();
      },
    });
    const [, ms] = await time(async () => {
      worker.start();
      await done;
      await worker.stop();
    });
    await bus.close();
    return ms;
  };

  if (await isReachable(testServices.redisUrl)) {
    const keyPrefix = `slate-bench-${randomUUID()}`;
    const redis = createRedisOnlineStore({ url: testServices.redisUrl, keyPrefix });
    await redis.init();
    let entries: OnlineEntry[] = generate().flatMap((p) =>
      p.values!.map((v) => ({ feature: v.feature, pkey: v.pkey, value: v.value, observedAt: v.observedAt })),
    );
    const features = Array.from({ length: FEATURES }, (_, f) => `bench.f${f}`);
    const [, directMs] = await time(async () => {
      for (let i = 0; i < entries.length; i += 5_000)
        await redis.set('bench-direct', entries.slice(i, i + 5_000));
    });
    entries = [];
    // Both runs start from the same Redis: without the first million keys, which would make the second
    // run pay for growing Redis' key table.
    await redis.dropFeatures('bench-direct', features);
    const busMs = await drain('redis', createOnlineWriter(redis));
    await redis.dropFeatures('bench', features);
    await redis.close();
    figures.push({
      name: 'persistence: bus → Redis online store',
      value: PERSIST_VALUES / (busMs / 1000),
      unit: 'values/s',
      baseline: PERSIST_VALUES / (directMs / 1000),
      note: 'baseline: OnlineStore.set straight into Redis; target ≥ 200,000 values/s',
    });
  } else {
    notes.push(`Redis was not reachable at ${testServices.redisUrl}: the Redis figure is missing.`);
  }

  const objectStore = createLocalObjectStore({ root: join(root, 'persist-objects') });
  await objectStore.init();
  const offline = createParquetOfflineStore({
    objectStore,
    stagingDir: join(root, 'persist-staging'),
    threads: 2,
  });
  await offline.init();
  const directMs = await (async () => {
    const batches = generate().map((p) => ({
      id: p.operationId,
      observations: p.values!.map((v) => ({
        feature: v.feature,
        pkey: v.pkey,
        value: v.value,
        observedAt: v.observedAt,
        insertedAt: p.insertedAt,
        resolver: v.resolver ?? null,
        deploymentId: p.deploymentId,
        queryId: p.operationId,
      })),
    }));
    const [, ms] = await time(async () => {
      for (let i = 0; i < batches.length; i += 500)
        await offline.write('bench-direct', batches.slice(i, i + 500));
    });
    return ms;
  })();
  const busMs = await drain('parquet', createOfflineWriter(offline));
  const stored = (
    await offline.sample('bench', {
      spine: { pkeys: ['0'], times: [T0 + 1e9] },
      features: [{ fqn: 'bench.f0', ttlMs: null }],
    })
  ).columns[0]!.values[0];
  await offline.close();
  figures.push({
    name: 'persistence: bus → Parquet offline store',
    value: PERSIST_VALUES / (busMs / 1000),
    unit: 'values/s',
    baseline: PERSIST_VALUES / (directMs / 1000),
    note: 'baseline: OfflineStore.write straight into Parquet; target ≥ 200,000 values/s',
  });
  if (stored === null) notes.push('Warning: the persisted Parquet values could not be read back.');
  return { figures, note: notes.join(' ') };
}
