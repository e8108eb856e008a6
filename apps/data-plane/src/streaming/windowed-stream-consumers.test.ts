import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, createInProcessRuntime } from '@slate/engine';
import { collectGraph, features, float, int, windowed, windowedStream } from '@slate/sdk';
import {
  type Bus,
  createLocalObjectStore,
  createLogBus,
  createMemoryOnlineStore,
  createParquetOfflineStore,
  createRedisBus,
  createRedisOnlineStore,
  deadLetterTopic,
  type OnlineStore,
} from '@slate/stores';
import { requireService, testServices } from '@slate/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ServedEnvironments } from '../deployments/served-environments.ts';
import { createDataPlaneMetrics } from '../observability/data-plane-metrics.ts';
import { createPersistenceWorker } from '../persistence/persistence-worker.ts';
import { createPersistenceWriters } from '../persistence/persistence-writers.ts';
import { createStreamConsumers } from './stream-consumers.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-windowed-streams-'));
afterAll(() => rm(root, { recursive: true, force: true }));
const redisUp = await requireService('Redis', testServices.redisUrl);

const MINUTE = 60_000;
const WINDOWS = [600, 3600] as const;
const kept = { maxStaleness: '1d', etlOfflineToOnline: true } as const;
const Account = features('account', {
  id: int(),
  logins: windowed('10m', '1h', { type: int(), default: 0, ...kept }),
  spend: windowed('10m', '1h', { type: float(), default: 0, ...kept }),
  smallest: windowed('10m', '1h', { type: float(), ...kept }),
  largest: windowed('10m', '1h', { type: float(), ...kept }),
  average: windowed('10m', '1h', { type: float(), ...kept }),
});
interface Login {
  account?: number;
  amount: number;
  at: number;
}
const logins = windowedStream({
  source: { topic: 'logins' },
  parse: ({ value }) => {
    const body = JSON.parse(value) as Login;
    return body.account === undefined ? undefined : body;
  },
  key: (login) => login.account!,
  time: (login) => login.at,
  lateArrivalDeadline: '2h',
  aggregate: (agg) => [
    agg.count(Account.logins),
    agg.sum(Account.spend, (login) => login.amount),
    agg.min(Account.smallest, (login) => login.amount),
    agg.max(Account.largest, (login) => login.amount),
    agg.mean(Account.average, (login) => login.amount),
  ],
});
const graph = collectGraph({ Account, logins });

/** The oracle: each window's aggregate by a plain loop over the valid, timely logins it covers. */
function expected(published: readonly Login[], now: number) {
  const valid = published.filter((l) => l.account !== undefined && now - l.at <= 2 * 60 * MINUTE);
  const accounts = [...new Set(valid.map((l) => l.account!))].sort((a, b) => a - b);
  return accounts.map((account) => {
    const row: Record<string, number | null> = {};
    for (const seconds of WINDOWS) {
      // A continuous window of W covers the W/1m most recent minute buckets, the current one included.
      const inside = valid
        .filter((l) => l.account === account)
        .filter((l) => Math.floor(l.at / MINUTE) > Math.floor(now / MINUTE) - (seconds * 1000) / MINUTE)
        .map((l) => l.amount);
      const sum = inside.reduce((s, v) => s + v, 0);
      row[`logins__${seconds}__`] = inside.length;
      row[`spend__${seconds}__`] = sum;
      row[`smallest__${seconds}__`] = inside.length ? Math.min(...inside) : null;
      row[`largest__${seconds}__`] = inside.length ? Math.max(...inside) : null;
      row[`average__${seconds}__`] = inside.length ? sum / inside.length : null;
    }
    return { account, row };
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Backend {
  readonly bus: Bus;
  readonly online: OnlineStore;
}

async function setup(name: string, open: () => Promise<Backend>) {
  const environment = `env-${name}-${randomUUID().slice(0, 8)}`;
  const { bus, online } = await open();
  const objectStore = createLocalObjectStore({ root: join(root, name, 'objects') });
  await objectStore.init();
  const offline = createParquetOfflineStore({ objectStore, threads: 1 });
  await offline.init();
  const worker = createPersistenceWorker({
    bus,
    writers: createPersistenceWriters({ onlineStore: online, offlineStore: offline }),
    lingerMs: 5,
  });
  worker.start();
  const served = new ServedEnvironments();
  served.upsert({ id: environment, name: 'dev', teamId: 't', projectId: 'p' });
  const engine = createEngine({
    graph: graph.artifact,
    runtime: createInProcessRuntime(graph.functions),
    onlineStore: online,
    environment,
    deploymentId: 'd1',
  });
  served.activate(environment, { id: 'd1', engine });
  cleanups.push(async () => {
    await worker.stop();
    await served.close();
    await bus.close();
    await online.close();
    await offline.close();
  });
  /** What a query (`/v1/query/online`) serves for the accounts, every window. */
  const serve = async (accounts: number[], now: number) => {
    const outputs = ['logins', 'spend', 'smallest', 'largest', 'average'].flatMap((f) =>
      WINDOWS.map((s) => `account.${f}__${s}__`),
    );
    const result = await engine.query({ inputs: { 'account.id': accounts }, outputs, now: new Date(now) });
    return accounts.map((account, i) => ({
      account,
      row: Object.fromEntries(
        result.columns.map((c) => [c.fqn.slice('account.'.length), c.values[i] as number | null]),
      ),
    }));
  };
  return { bus, online, offline, served, serve, environment };
}

const openLog = (name: string) => async (): Promise<Backend> => {
  const bus = createLogBus({ root: join(root, name, 'bus'), sync: false });
  await bus.init();
  const online = createMemoryOnlineStore();
  await online.init();
  return { bus, online };
};
const openRedis = (name: string) => async (): Promise<Backend> => {
  const keyPrefix = `slate-test-${name}-${randomUUID().slice(0, 8)}`;
  const bus = createRedisBus({ url: testServices.redisUrl, keyPrefix });
  await bus.init();
  const online = createRedisOnlineStore({ url: testServices.redisUrl, keyPrefix });
  await online.init();
  return { bus, online };
};

/** A deterministic generator (mulberry32), so a failure reproduces. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const eventually = async <T>(read: () => Promise<T>, check: (value: T) => boolean, ms = 20_000) => {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

/** Equal up to float rounding, whatever the order of the keys. */
const canonical = (value: unknown): unknown =>
  typeof value === 'number'
    ? Math.round(value * 1e6) / 1e6
    : Array.isArray(value)
      ? value.map(canonical)
      : value && typeof value === 'object'
        ? Object.fromEntries(
            Object.entries(value)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([k, v]) => [k, canonical(v)]),
          )
        : value;
const close = (a: unknown, b: unknown) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

describe.each([
  ['log bus', (name: string) => openLog(name), true],
  ['Redis Streams', (name: string) => openRedis(name), redisUp],
] as const)('windowed stream consumers on the %s', (label, opener, available) => {
  it.skipIf(!available)(
    'serves every window equal to a loop over the published logins: out of order, late, a malformed message, a restart mid-stream, and windows shrinking as time passes',
    async () => {
      const name = label === 'log bus' ? 'log' : 'redis';
      const backend = await opener(name)();
      const { bus, online, served, serve } = await setup(name, async () => backend);
      const next = random(name === 'log' ? 1 : 2);
      // Near the real time: the query side judges max staleness by its own clock.
      let now = Date.now();
      const clock = () => now;
      const published: Login[] = [];
      const produce = async (count: number) => {
        const bodies: string[] = [];
        for (let i = 0; i < count; i++) {
          const roll = next();
          if (roll < 0.03) {
            bodies.push('{"account": oops');
            continue;
          }
          // Out of order and late: up to 150 minutes back, so some miss every window and some the deadline.
          const login: Login = {
            ...(roll < 0.06 ? {} : { account: 1 + Math.floor(next() * 6) }),
            amount: Math.round(next() * 10_000) / 100,
            at: now - Math.floor(next() ** 2 * 150 * MINUTE),
          };
          published.push(login);
          bodies.push(JSON.stringify(login));
        }
        await bus.publish(
          'logins',
          bodies.map((value, i) => ({ key: String(i % 3), value })),
        );
      };
      const metrics = createDataPlaneMetrics();

      // A first worker dies after its second batch reached the result bus and the state store, before the
      // batch is acknowledged: the restarted worker gets that batch again and must not count it twice.
      await produce(150);
      let batches = 0;
      const first = createStreamConsumers({
        served,
        bus,
        stateStore: online,
        name: 'dp-1',
        batchSize: 25,
        pollWaitMs: 20,
        clock,
        beforeAck: async () => {
          batches++;
          if (batches === 2) throw new Error('crash before ack');
          if (batches > 2) await new Promise(() => {});
        },
      });
      first.start();
      await eventually(
        async () => batches,
        (b) => b >= 2,
      );
      void first.stop();
      // The restarted worker's first state write fails after its batch's values reached the result bus: the
      // batch is given back and applied again from the state as it was.
      let failedWrites = 0;
      const flaky: OnlineStore = {
        ...online,
        get: (...args) => online.get(...args),
        delete: (...args) => online.delete(...args),
        set: async (environment, entries, signal) => {
          if (failedWrites === 0 && entries.some((e) => e.feature.startsWith('__slate.window-state.'))) {
            failedWrites++;
            throw new Error('state store unavailable');
          }
          return online.set(environment, entries, signal);
        },
      };
      const second = createStreamConsumers({
        served,
        bus,
        stateStore: flaky,
        name: 'dp-1',
        batchSize: 25,
        pollWaitMs: 20,
        clock,
        metrics,
      });
      second.start();
      cleanups.push(() => second.stop());
      await produce(150);

      const accounts = [1, 2, 3, 4, 5, 6];
      const want = expected(published, now);
      const served1 = await eventually(
        () => serve(accounts, now),
        (got) => close(got, want),
      );
      expect(close(served1, want), JSON.stringify({ served1, want })).toBe(true);
      expect(failedWrites).toBe(1);
      // Not a vacuous check: the windows hold rows and differ.
      expect(want.some(({ row }) => (row.logins__600__ ?? 0) > 0)).toBe(true);
      expect(want.some(({ row }) => row.logins__600__ !== row.logins__3600__)).toBe(true);

      // Malformed messages went to the dead-letter topic; the stream went on past them.
      const dead = bus.consumer({ topic: deadLetterTopic('logins'), group: 'inspect' });
      const letters = await eventually(
        () => dead.poll({ max: 100 }),
        (v) => v.length > 0,
      );
      expect(letters.every((m) => m.value === '{"account": oops')).toBe(true);
      await dead.close();
      const text = (await metrics.render()).text;
      expect(text).toMatch(/stream_messages\{resolver="logins",status="late"\} [1-9]/);
      expect(text).toMatch(/stream_consumer_lag_seconds\{resolver="logins"\} \d/);

      // Time passes with no new logins: the timers shrink every window on their own.
      now += 17 * MINUTE + 3_000;
      const later = expected(published, now);
      expect(close(later, want)).toBe(false);
      const served2 = await eventually(
        () => serve(accounts, now),
        (got) => close(got, later),
      );
      expect(close(served2, later), JSON.stringify({ served2, later })).toBe(true);
    },
    60_000,
  );
});

describe('a windowed stream consumed by replicas on Redis Streams', () => {
  it.skipIf(!redisUp)(
    'is consumed by the one replica holding its lease, and taken over by another once that one stops',
    async () => {
      const { bus, online, served, serve } = await setup('replicas', openRedis('replicas'));
      const now = Date.now();
      const clock = () => now;
      const next = random(3);
      const published: Login[] = [];
      const produce = async (count: number) => {
        const logins = Array.from({ length: count }, () => ({
          account: 1 + Math.floor(next() * 4),
          amount: Math.round(next() * 10_000) / 100,
          at: now - Math.floor(next() * 30 * MINUTE),
        }));
        published.push(...logins);
        await bus.publish(
          'logins',
          logins.map((login, i) => ({ key: String(i % 3), value: JSON.stringify(login) })),
        );
      };
      // The lease contract of the metadata plane's `POST /v1/data-plane/leases/claim` (tested against
      // PostgreSQL in its replicas suite): one holder until it stops renewing and the lease runs out.
      const leases = new Map<string, { holder: string; until: number }>();
      const granted: string[] = [];
      const claimAs = (holder: string) => async (key: string, ttlSeconds: number) => {
        const lease = leases.get(key);
        if (lease && lease.holder !== holder && lease.until > Date.now()) return false;
        leases.set(key, { holder, until: Date.now() + ttlSeconds * 1000 });
        granted.push(holder);
        return true;
      };
      const replica = (name: string) =>
        createStreamConsumers({
          served,
          bus,
          stateStore: online,
          name,
          batchSize: 20,
          pollWaitMs: 20,
          clock,
          claimWindowed: claimAs(name),
          windowLeaseSeconds: 1,
        });
      await produce(120);
      const east0 = replica('east-0');
      east0.start();
      await eventually(
        async () => granted.length,
        (n) => n > 0,
      );
      const east1 = replica('east-1');
      east1.start();
      cleanups.push(() => east1.stop());
      const accounts = [1, 2, 3, 4];
      const first = await eventually(
        () => serve(accounts, now),
        (got) => close(got, expected(published, now)),
      );
      expect(close(first, expected(published, now))).toBe(true);
      expect(new Set(granted)).toEqual(new Set(['east-0']));

      // east-0 stops (a replica scaled down or dead): within a lease east-1 owns the stream and goes on.
      await east0.stop();
      await produce(120);
      const second = await eventually(
        () => serve(accounts, now),
        (got) => close(got, expected(published, now)),
      );
      expect(close(second, expected(published, now)), JSON.stringify({ second })).toBe(true);
      expect(granted.at(-1)).toBe('east-1');
      expect(granted.indexOf('east-1')).toBeGreaterThan(granted.lastIndexOf('east-0'));
    },
    60_000,
  );
});
