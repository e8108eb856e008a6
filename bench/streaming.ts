/**
 * `npm run bench -- streaming`: the streaming and scheduled side of issue 7.
 *
 * 1. Streaming throughput: `MESSAGES` JSON messages on a Redis Streams topic, consumed by the data plane's
 *    stream consumer (a mapping resolver: parse, map to 2 features), results published to the result bus
 *    (Redis Streams too) and written by the persistence worker into the Redis online store. Baseline: the
 *    same messages read with raw `XREADGROUP` + `JSON.parse` + `XACK` (ioredis), nothing persisted.
 * 2. Publish-to-online lag at half the measured rate: each message carries its send time; the online store
 *    is wrapped to record, when a value's write resolves, how long ago it was sent. Baseline: the lag of a
 *    raw `XADD` → `XREADGROUP` round trip at the same rate.
 * 2b. Windowed streaming throughput: `MESSAGES` messages over `WINDOW_KEYS` entities aggregated (count and sum
 *    over 10m and 1h) by a windowed stream, bucket state and values in the Redis online store. Baseline: the
 *    mapping resolver's throughput of figure 1, so the figure is what windowing costs over mapping.
 * 3. A scheduled (triggered) SQL resolver over `SQL_ROWS` PostgreSQL rows into the Parquet offline store,
 *    through the run service, the embedded log bus and the persistence worker. Baseline: the same rows read
 *    with one plain `select` and written straight into the offline store in batches of the same size.
 *
 * `BENCH_SCALE` (default 1) scales the sizes, e.g. `BENCH_SCALE=0.1` for a quick run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, createInProcessRuntime, createSqlRuntime } from '@slate/engine';
import {
  collectGraph,
  datetime,
  features,
  float,
  int,
  sqlResolver,
  stream,
  string,
  windowed,
  windowedStream,
} from '@slate/sdk';
import {
  type Bus,
  createLocalObjectStore,
  createLogBus,
  createParquetOfflineStore,
  createRedisBus,
  createRedisOnlineStore,
  createSqlSource,
  type OfflineStore,
  type OnlineStore,
} from '@slate/stores';
import { isReachable, testServices } from '@slate/testing';
import { Redis } from 'ioredis';
import { ServedEnvironments } from '../apps/data-plane/src/deployments/served-environments.ts';
import { createPersistenceWorker } from '../apps/data-plane/src/persistence/persistence-worker.ts';
import { createPersistenceWriters } from '../apps/data-plane/src/persistence/persistence-writers.ts';
import { createResultPublisher } from '../apps/data-plane/src/persistence/result-publisher.ts';
import { createRunService } from '../apps/data-plane/src/runs/run-service.ts';
import { createObjectRunStore } from '../apps/data-plane/src/runs/run-store.ts';
import { createStreamConsumers } from '../apps/data-plane/src/streaming/stream-consumers.ts';
import { type BenchFigure, type BenchReport, machine } from './report.ts';

const scale = Number(process.env.BENCH_SCALE ?? 1);
const MESSAGES = Math.round(200_000 * scale);
const LAG_SECONDS = 5;
const SQL_ROWS = Math.round(1_000_000 * scale);
const RUN_CHUNK = 20_000;
const WINDOW_KEYS = 1_000;
const ENV = 'bench';

const Event = features('event', {
  id: int(),
  amount: float().maxStaleness('1h').etlOfflineToOnline(),
  sent_at: float().maxStaleness('1h').etlOfflineToOnline(),
});
const events = stream({
  source: { topic: 'bench-events' },
  outputs: { id: Event.id, amount: Event.amount, sent_at: Event.sent_at },
  parse: ({ value }) => JSON.parse(value) as { id: number; amount: number; sent_at: number },
});

const kept = { maxStaleness: '1h', etlOfflineToOnline: true } as const;
const Account = features('account', {
  id: int(),
  events: windowed('10m', '1h', { type: int(), default: 0, ...kept }),
  amount: windowed('10m', '1h', { type: float(), default: 0, ...kept }),
});
const account_windows = windowedStream({
  source: { topic: 'bench-events' },
  parse: ({ value }) => JSON.parse(value) as { account: number; amount: number },
  key: (event) => event.account,
  aggregate: (agg) => [agg.count(Account.events), agg.sum(Account.amount, (event) => event.amount)],
});

const percentile = (sorted: readonly number[], p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

export async function run(): Promise<BenchReport> {
  const root = await mkdtemp(join(tmpdir(), 'slate-bench-streaming-'));
  try {
    const figures: BenchFigure[] = [];
    const notes: string[] = [];
    if (await isReachable(testServices.redisUrl)) {
      const streaming = await streamingFigures();
      figures.push(...streaming.figures);
      notes.push(streaming.note);
      const windowedRun = await windowedFigures(streaming.figures[0]!.value);
      figures.push(...windowedRun.figures);
      notes.push(windowedRun.note);
    } else notes.push(`Streaming figures skipped: Redis at ${testServices.redisUrl} is not reachable.`);
    if (await isReachable(testServices.postgresUrl)) {
      const scheduled = await scheduledFigures(root);
      figures.push(...scheduled.figures);
      notes.push(scheduled.note);
    } else
      notes.push(
        `Scheduled-run figures skipped: PostgreSQL at ${testServices.postgresUrl} is not reachable.`,
      );
    return {
      name: 'streaming',
      title: 'Streaming resolvers and scheduled runs',
      figures,
      notes: notes.join('\n\n'),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** A stream consumer + persistence worker on Redis Streams, writing into the Redis online store. */
async function streamingPipeline(
  prefix: string,
  onWrite?: (values: readonly unknown[]) => void,
  graph = collectGraph({ Event, events }),
) {
  const bus = createRedisBus({ url: testServices.redisUrl, keyPrefix: prefix });
  await bus.init();
  const redisStore = createRedisOnlineStore({ url: testServices.redisUrl, keyPrefix: `${prefix}online:` });
  await redisStore.init();
  const online: OnlineStore = {
    ...redisStore,
    async set(environment, entries, signal) {
      await redisStore.set(environment, entries, signal);
      onWrite?.(entries.filter((e) => e.feature === 'event.sent_at').map((e) => e.value));
    },
  };
  const { artifact, functions } = graph;
  const served = new ServedEnvironments();
  served.upsert({ id: ENV, name: ENV, teamId: 't', projectId: 'p' });
  served.activate(ENV, {
    id: 'd',
    engine: createEngine({
      graph: artifact,
      runtime: createInProcessRuntime(functions),
      environment: ENV,
      deploymentId: 'd',
    }),
  });
  const worker = createPersistenceWorker({
    bus,
    writers: createPersistenceWriters({ onlineStore: online, offlineStore: nullOfflineStore() }),
    lingerMs: 2,
  });
  const consumers = createStreamConsumers({
    served,
    bus,
    stateStore: redisStore,
    name: 'bench',
    batchSize: 500,
    pollWaitMs: 5,
  });
  return {
    bus,
    online: redisStore,
    start() {
      worker.start();
      consumers.start();
    },
    async close() {
      await consumers.stop();
      await worker.stop();
      await served.close();
      await bus.close();
      await redisStore.close();
      const redis = new Redis(testServices.redisUrl);
      const keys = await redis.keys(`${prefix}*`);
      for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
      redis.disconnect();
    },
  };
}

/** The online writer is what the streaming figures measure: offline writes are discarded. */
function nullOfflineStore(): OfflineStore {
  const write: OfflineStore['write'] = async (_environment, batches) =>
    batches.reduce((n, b) => n + b.observations.length, 0);
  return {
    capabilities: { persistent: false },
    init: async () => {},
    close: async () => {},
    write,
    appendRecords: async () => 0,
    readRecords: async () => [],
    sample: async () => ({ rowCount: 0, columns: [] }),
    scan: async () => [],
    compact: async () => ({ merged: 0, written: 0 }),
  } as unknown as OfflineStore;
}

async function publishAll(bus: Bus, count: number, body: (i: number) => object) {
  for (let i = 0; i < count; i += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, count - i) }, (_, j) => ({
      key: String((i + j) % 64),
      value: JSON.stringify(body(i + j)),
    }));
    await bus.publish('bench-events', batch);
  }
}

async function streamingFigures(): Promise<{ figures: BenchFigure[]; note: string }> {
  // Throughput: a backlog of MESSAGES, drained.
  const prefix = `bench-stream-${randomBytes(4).toString('hex')}:`;
  let written = 0;
  const pipeline = await streamingPipeline(prefix, (values) => {
    written += values.length;
  });
  await publishAll(pipeline.bus, MESSAGES, (i) => ({ id: i, amount: i / 100, sent_at: 0 }));
  const cpu = process.cpuUsage();
  const started = performance.now();
  pipeline.start();
  while (written < MESSAGES) await sleep(5);
  const slateSeconds = (performance.now() - started) / 1000;
  const slateCpu = cpuSeconds(cpu);
  const check = await pipeline.online.get(ENV, [
    { feature: 'event.amount', pkey: 0 },
    { feature: 'event.amount', pkey: MESSAGES - 1 },
  ]);
  if (check[0]?.value !== 0 || check[1]?.value !== (MESSAGES - 1) / 100)
    throw new Error(`streamed values missing: ${JSON.stringify(check)}`);
  await pipeline.close();

  // Baseline: raw XREADGROUP + JSON.parse + XACK of the same messages.
  const redis = new Redis(testServices.redisUrl);
  const key = `bench-raw-${randomBytes(4).toString('hex')}`;
  for (let i = 0; i < MESSAGES; i += 1_000) {
    const pipe = redis.pipeline();
    for (let j = i; j < Math.min(MESSAGES, i + 1_000); j++)
      pipe.xadd(key, '*', 'v', JSON.stringify({ id: j, amount: j / 100, sent_at: 0 }));
    await pipe.exec();
  }
  await redis.xgroup('CREATE', key, 'g', '0');
  const rawCpu = process.cpuUsage();
  const rawStarted = performance.now();
  let read = 0;
  while (read < MESSAGES) {
    const reply = (await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 500, 'STREAMS', key, '>')) as
      | [string, [string, string[]][]][]
      | null;
    const entries = reply?.[0]?.[1] ?? [];
    for (const [, fields] of entries) JSON.parse(fields[1]!);
    if (entries.length > 0) await redis.xack(key, 'g', ...entries.map(([id]) => id));
    read += entries.length;
  }
  const rawSeconds = (performance.now() - rawStarted) / 1000;
  const rawCpuSeconds = cpuSeconds(rawCpu);
  await redis.del(key);

  // Lag at half the measured rate, against the raw XADD → XREADGROUP round trip at that rate.
  const rate = Math.max(100, Math.round(MESSAGES / slateSeconds / 2));
  const lags: number[] = [];
  const lagPrefix = `bench-lag-${randomBytes(4).toString('hex')}:`;
  const lagged = await streamingPipeline(lagPrefix, (values) => {
    const now = Date.now();
    for (const sent of values) lags.push(now - (sent as number));
  });
  lagged.start();
  await sleep(200);
  const total = rate * LAG_SECONDS;
  await paced(rate, total, async (from, count) => {
    const now = Date.now();
    await lagged.bus.publish(
      'bench-events',
      Array.from({ length: count }, (_, j) => ({
        key: String((from + j) % 64),
        value: JSON.stringify({ id: from + j, amount: 1, sent_at: now }),
      })),
    );
  });
  const deadline = Date.now() + 30_000;
  while (lags.length < total && Date.now() < deadline) await sleep(10);
  await lagged.close();

  const rawLags: number[] = [];
  const rawKey = `bench-rawlag-${randomBytes(4).toString('hex')}`;
  const reader = new Redis(testServices.redisUrl);
  await redis.xgroup('CREATE', rawKey, 'g', '$', 'MKSTREAM');
  let rawDone = false;
  const reading = (async () => {
    while (!rawDone || rawLags.length < total) {
      const reply = (await reader.xreadgroup(
        'GROUP',
        'g',
        'c',
        'COUNT',
        500,
        'BLOCK',
        50,
        'STREAMS',
        rawKey,
        '>',
      )) as [string, [string, string[]][]][] | null;
      const entries = reply?.[0]?.[1] ?? [];
      const now = Date.now();
      for (const [, fields] of entries)
        rawLags.push(now - (JSON.parse(fields[1]!) as { sent_at: number }).sent_at);
      if (entries.length > 0) await reader.xack(rawKey, 'g', ...entries.map(([id]) => id));
      if (rawDone && entries.length === 0) break;
    }
  })();
  await paced(rate, total, async (from, count) => {
    const now = Date.now();
    const pipe = redis.pipeline();
    for (let j = 0; j < count; j++)
      pipe.xadd(rawKey, '*', 'v', JSON.stringify({ id: from + j, sent_at: now }));
    await pipe.exec();
  });
  rawDone = true;
  await reading;
  await redis.del(rawKey);
  redis.disconnect();
  reader.disconnect();

  lags.sort((a, b) => a - b);
  rawLags.sort((a, b) => a - b);
  const slateRate = MESSAGES / slateSeconds;
  const rawRate = MESSAGES / rawSeconds;
  return {
    figures: [
      {
        name: 'streaming resolver throughput (parse → result bus → Redis online store)',
        value: slateRate,
        unit: 'msg/s',
        baseline: rawRate,
        note: `baseline: raw XREADGROUP + JSON.parse + XACK; ${MESSAGES.toLocaleString('en-US')} messages`,
      },
      {
        name: 'streaming throughput per CPU-second of this process',
        value: MESSAGES / slateCpu,
        unit: 'msg/CPU·s',
        baseline: MESSAGES / rawCpuSeconds,
        note: 'Redis server CPU not counted (same for both)',
      },
      {
        name: `publish → online p50 at ${rate.toLocaleString('en-US')} msg/s`,
        value: percentile(lags, 0.5),
        unit: 'ms',
        baseline: percentile(rawLags, 0.5),
        note: 'baseline: raw XADD → XREADGROUP at the same rate',
      },
      {
        name: `publish → online p99 at ${rate.toLocaleString('en-US')} msg/s`,
        value: percentile(lags, 0.99),
        unit: 'ms',
        baseline: percentile(rawLags, 0.99),
        note: `${lags.length.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} values seen online`,
      },
    ],
    note: `Streaming: a mapping resolver (\`JSON.parse\`, 3 outputs: the key and 2 features with \`etlOfflineToOnline\`) run by the data plane's stream consumer (batches of 500) with the resolver in process (the data plane runs it in worker threads: add a structured-clone hop per batch); every message becomes a result message on the result bus (Redis Streams, same server) drained by the persistence worker into the Redis online store (offline writes discarded here: the offline figures are the offline benchmark's). Consumer, worker and producer share this one Node process; ${machine.cores} cores shared with other work. Lag = from the producer's clock at XADD to the resolve of the online store write holding the value.`,
  };
}

async function windowedFigures(mappingRate: number): Promise<{ figures: BenchFigure[]; note: string }> {
  const prefix = `bench-windowed-${randomBytes(4).toString('hex')}:`;
  const pipeline = await streamingPipeline(prefix, undefined, collectGraph({ Account, account_windows }));
  // Amounts in cents so the expected sums are exact.
  await publishAll(pipeline.bus, MESSAGES, (i) => ({ account: i % WINDOW_KEYS, amount: (i % 100) / 100 }));
  const expectedCount = (account: number) =>
    Math.floor(MESSAGES / WINDOW_KEYS) + (account < MESSAGES % WINDOW_KEYS ? 1 : 0);
  const keys = Array.from({ length: WINDOW_KEYS }, (_, account) => ({
    feature: 'account.events__3600__',
    pkey: account,
  }));
  const cpu = process.cpuUsage();
  const started = performance.now();
  pipeline.start();
  // Drained when every entity's hour count is on the online store (values only ever grow here).
  for (;;) {
    const values = await pipeline.online.get(ENV, keys);
    if (values.every((v, account) => v?.value === expectedCount(account))) break;
    await sleep(20);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuUsed = cpuSeconds(cpu);
  const [tenMinutes] = await pipeline.online.get(ENV, [{ feature: 'account.events__600__', pkey: 0 }]);
  if (tenMinutes?.value !== expectedCount(0))
    throw new Error(`10m window wrong: ${JSON.stringify(tenMinutes)}`);
  await pipeline.close();
  return {
    figures: [
      {
        name: 'windowed streaming resolver throughput (count + sum over 10m and 1h → Redis online store)',
        value: MESSAGES / seconds,
        unit: 'msg/s',
        baseline: mappingRate,
        note: `baseline: the mapping resolver above; ${WINDOW_KEYS.toLocaleString('en-US')} entities, ${(MESSAGES / seconds / (MESSAGES / cpuUsed)).toFixed(2)} CPU-s per wall-s`,
      },
    ],
    note: `Windowed streaming: the same ${MESSAGES.toLocaleString('en-US')} messages spread over ${WINDOW_KEYS.toLocaleString('en-US')} entities, aggregated by a windowed stream (count and sum, 10m and 1h continuous windows, 1-minute buckets): per batch of 500, one multi-get of the entities' bucket state, one result message per changed entity (all four window values) on the result bus, one multi-set of the new state and the timer wheel, all in the Redis online store. Timed until every entity's hour count is online.`,
  };
}

/** Calls `send(from, count)` in 10 ms ticks so that `total` messages go out at `rate` per second. */
async function paced(rate: number, total: number, send: (from: number, count: number) => Promise<void>) {
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    if (due > sent) {
      await send(sent, due - sent);
      sent = due;
    }
    await sleep(10);
  }
}

async function scheduledFigures(root: string): Promise<{ figures: BenchFigure[]; note: string }> {
  const table = `bench_runs_${randomBytes(4).toString('hex')}`;
  const source = createSqlSource({ type: 'postgres', url: testServices.postgresUrl });
  await source.init();
  await source.query({
    text: `create table ${table} as select i as id, 'name ' || i as name, (i % 1000) / 10.0 as score, timestamptz '2026-01-01' + i * interval '1 second' as updated_at from generate_series(1, ${SQL_ROWS}) i`,
    params: [],
  });
  await source.query({ text: `alter table ${table} add primary key (id)`, params: [] });
  try {
    const Row = features('row', {
      id: int(),
      name: string(),
      score: float(),
      updated_at: datetime().featureTime(),
    });
    const rows = sqlResolver({
      source: 'pg',
      resolves: Row,
      kind: 'offline',
      query: `select id, name, score, updated_at from ${table}`,
      cron: '1d',
    });
    const { artifact, functions } = collectGraph({ Row, rows });
    const sources = new Map([['pg', source]]);

    // Baseline: one select, straight into the offline store.
    const baselineStore = await offlineStore(join(root, 'baseline'));
    const baseStarted = performance.now();
    const all = await source.query({ text: `select id, name, score, updated_at from ${table}`, params: [] });
    for (let i = 0; i < all.rows.length; i += RUN_CHUNK) {
      const observations = all.rows.slice(i, i + RUN_CHUNK).flatMap((row) => {
        const observedAt = (row.updated_at as Date).getTime();
        return [
          { feature: 'row.name', pkey: String(row.id), value: row.name, observedAt, insertedAt: Date.now() },
          {
            feature: 'row.score',
            pkey: String(row.id),
            value: row.score,
            observedAt,
            insertedAt: Date.now(),
          },
        ];
      });
      await baselineStore.write(ENV, [{ id: `b${i}`, observations }]);
    }
    const baseSeconds = (performance.now() - baseStarted) / 1000;
    await baselineStore.close();

    // Slate: a triggered run → result bus (embedded log) → persistence worker → Parquet offline store.
    const store = await offlineStore(join(root, 'slate'));
    let stored = 0;
    const counted: OfflineStore = {
      ...store,
      async write(environment, batches, signal) {
        const n = await store.write(environment, batches, signal);
        stored += batches.reduce((sum, b) => sum + b.observations.length, 0);
        return n;
      },
    };
    const bus = createLogBus({ root: join(root, 'bus'), sync: false });
    await bus.init();
    const objects = createLocalObjectStore({ root: join(root, 'run-objects') });
    await objects.init();
    const served = new ServedEnvironments();
    served.upsert({ id: ENV, name: ENV, teamId: 't', projectId: 'p' });
    served.activate(ENV, {
      id: 'd',
      engine: createEngine({
        graph: artifact,
        runtime: createSqlRuntime({
          resolvers: artifact.resolvers,
          sources,
          fallback: createInProcessRuntime(functions),
        }),
        environment: ENV,
        deploymentId: 'd',
      }),
    });
    const worker = createPersistenceWorker({
      bus,
      writers: createPersistenceWriters({ onlineStore: nullOnlineStore(), offlineStore: counted }),
      batchMessages: 4,
    });
    worker.start();
    const runs = createRunService({
      served,
      store: createObjectRunStore(objects),
      publisher: createResultPublisher(bus, { maxQueued: 4 }),
      sqlSources: () => sources,
      chunkSize: RUN_CHUNK,
    });
    const started = performance.now();
    const record = await runs.trigger({ resolver_fqn: 'rows', environment: ENV, trigger: 'API' });
    await runs.idle();
    const finished = await runs.get(ENV, record.id);
    if (finished?.status !== 'succeeded') throw new Error(`run failed: ${finished?.error}`);
    while (stored < SQL_ROWS * 2) await sleep(20);
    const slateSeconds = (performance.now() - started) / 1000;
    await worker.stop();
    await served.close();
    await bus.close();
    await store.close();
    return {
      figures: [
        {
          name: `scheduled SQL resolver, ${SQL_ROWS.toLocaleString('en-US')} PostgreSQL rows → offline store`,
          value: SQL_ROWS / slateSeconds,
          unit: 'rows/s',
          baseline: SQL_ROWS / baseSeconds,
          note: 'baseline: one plain select written straight into the offline store',
        },
      ],
      note: `Scheduled run: a SQL resolver (\`select id, name, score, updated_at\`: 2 features and the feature time per row) over ${SQL_ROWS.toLocaleString('en-US')} rows in the machine's PostgreSQL, triggered through the run service: pages of ${RUN_CHUNK.toLocaleString('en-US')} rows (ordered by the primary key), one result message per page on the embedded log bus, drained by the persistence worker into the Parquet offline store; timed from the trigger until every value is written. Baseline = the same rows read by one plain \`select\` and written to the offline store in batches of the same size (no paging, no bus, no JSON).`,
    };
  } finally {
    await source.query({ text: `drop table if exists ${table}`, params: [] });
    await source.close();
  }
}

async function offlineStore(dir: string) {
  const objectStore = createLocalObjectStore({ root: dir });
  await objectStore.init();
  const store = createParquetOfflineStore({ objectStore, stagingDir: join(dir, 'staging'), threads: 1 });
  await store.init();
  return store;
}

function nullOnlineStore(): OnlineStore {
  return {
    capabilities: {},
    init: async () => {},
    close: async () => {},
    get: async (_e: string, keys: readonly unknown[]) => keys.map(() => null),
    set: async () => {},
    delete: async () => {},
    dropFeatures: async () => {},
  } as unknown as OnlineStore;
}
