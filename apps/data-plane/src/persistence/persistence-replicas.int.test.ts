import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLocalObjectStore,
  createParquetOfflineStore,
  createRedisBus,
  createRedisOnlineStore,
} from '@slate/stores';
import { type OwnRedisServer, redisServerUnavailable, startRedisServer, unlessCi } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_BUS_TOPIC, type ResultMessageInput } from './result-message.ts';
import { QUERY_LOG_TABLE } from './writers/record-writers.ts';

const unavailable = unlessCi(redisServerUnavailable());
const T = Date.UTC(2024, 2, 1);
const MESSAGES = 600;
const KEY_PREFIX = 'replicas';

/** One query's result: feature `user.score` of user `i`, worth `i * 7`, written online and offline. */
const message = (i: number): ResultMessageInput => ({
  version: 1,
  environment: 'prod',
  operationId: `op-${i}`,
  operationKind: 'ONLINE_QUERY',
  deploymentId: 'dep-1',
  insertedAt: T + 1_000_000 + i,
  values: [
    { feature: 'user.score', pkey: String(i), value: i * 7, observedAt: T + i, resolver: 'get_score' },
  ],
  writeOnline: true,
  writeOffline: true,
  queryLog: {
    operation_id: `op-${i}`,
    environment_id: 'prod',
    deployment_id: 'dep-1',
    operation_kind: 'ONLINE_QUERY',
    query_timestamp: new Date(T).toISOString(),
    execution_started_at: new Date(T).toISOString(),
    execution_finished_at: new Date(T).toISOString(),
    query_status: 'SUCCESSFUL',
    query_name: null,
    correlation_id: null,
    outputs: ['user.score'],
    row_count: 1,
    error_count: 0,
  },
});

interface Replica {
  readonly name: string;
  readonly child: ChildProcess;
  output: string;
  exited: Promise<void>;
}

describe.skipIf(unavailable !== undefined)(
  'background persistence as 3 replicas (Redis Streams consumer group)',
  () => {
    let redis: OwnRedisServer;
    let root: string;
    beforeAll(async () => {
      redis = await startRedisServer();
      root = await mkdtemp(join(tmpdir(), 'slate-persistence-replicas-'));
    });
    afterAll(async () => {
      await redis?.stop();
      if (root) await rm(root, { recursive: true, force: true });
    });

    const startReplica = (name: string, holdAfterBatches: number): Replica => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(import.meta.dirname, 'fixtures', 'persistence-replica.ts'),
          redis.url,
          KEY_PREFIX,
          join(root, 'objects'),
          name,
          String(holdAfterBatches),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const replica: Replica = {
        name,
        child,
        output: '',
        exited: new Promise((resolve) => child.once('exit', () => resolve())),
      };
      child.stdout?.on('data', (chunk) => (replica.output += chunk));
      child.stderr?.on('data', (chunk) => (replica.output += chunk));
      return replica;
    };
    const waitFor = async (what: () => boolean | Promise<boolean>, label: string, ms = 60_000) => {
      const deadline = Date.now() + ms;
      while (!(await what())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };

    const countOffline = async () => {
      const objectStore = createLocalObjectStore({ root: join(root, 'objects') });
      await objectStore.init();
      const offline = createParquetOfflineStore({ objectStore, threads: 1 });
      await offline.init();
      try {
        const rows = await offline.scan('prod');
        const log = await offline.readRecords('prod', QUERY_LOG_TABLE);
        return { rows: rows.length, rowsOf: rows, log };
      } finally {
        await offline.close();
      }
    };

    it('loses and duplicates nothing when a worker is SIGKILLed mid-batch: its pending entries go to the others (XAUTOCLAIM)', async () => {
      const bus = createRedisBus({ url: redis.url, keyPrefix: KEY_PREFIX });
      await bus.init();
      // The backlog is on the bus before the workers start, so all three take batches of it.
      for (let i = 0; i < MESSAGES; i += 100) {
        await bus.publish(
          RESULT_BUS_TOPIC,
          Array.from({ length: 100 }, (_, k) => ({
            key: `prod/${i + k}`,
            value: JSON.stringify(message(i + k)),
            id: `msg-${i + k}`,
          })),
        );
      }
      await bus.close();

      const victim = startReplica('dp-east-0', 2);
      const survivors = [startReplica('dp-east-1', 0), startReplica('dp-east-2', 0)];
      try {
        // The victim wrote its second batch to both stores and is about to acknowledge it: kill it there.
        await waitFor(() => victim.output.includes('holding'), 'the victim to hold a written batch');
        victim.child.kill('SIGKILL');
        await victim.exited;

        // Done when both stores hold every message (the victim's batches were claimed by a survivor after
        // the 1.5 s idle time); then twice that idle time more, for any late redelivery to show up.
        await waitFor(async () => (await countOffline()).rows >= MESSAGES, 'every row offline');
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        for (const replica of survivors) replica.child.kill('SIGTERM');
        await Promise.all(survivors.map((r) => r.exited));
        // Each survivor wrote batches: the work was shared, not done by one.
        for (const replica of survivors) expect(replica.output, replica.name).toMatch(/batch 1 /);
      } finally {
        for (const replica of [victim, ...survivors])
          if (replica.child.exitCode === null) replica.child.kill('SIGKILL');
      }

      // Counted independently of the workers: every user's value in Redis, every row in Parquet, once.
      const online = createRedisOnlineStore({ url: redis.url, keyPrefix: KEY_PREFIX });
      await online.init();
      const keys = Array.from({ length: MESSAGES }, (_, i) => ({ feature: 'user.score', pkey: String(i) }));
      const values = await online.get('prod', keys);
      await online.close();
      expect(values.filter((v) => v === null)).toHaveLength(0);
      expect(values.map((v) => v?.value)).toEqual(keys.map((_, i) => i * 7));

      const { rowsOf: rows, log } = await countOffline();
      expect(rows).toHaveLength(MESSAGES);
      expect(new Set(rows.map((r) => r.pkey)).size).toBe(MESSAGES);
      expect(rows.reduce((sum, r) => sum + Number(r.value), 0)).toBe((7 * MESSAGES * (MESSAGES - 1)) / 2);
      expect(log).toHaveLength(MESSAGES);
      expect(new Set(log.map((r) => r.operation_id)).size).toBe(MESSAGES);
    }, 120_000);
  },
);
