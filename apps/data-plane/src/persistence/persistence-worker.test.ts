import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLocalObjectStore,
  createLogBus,
  createMemoryOnlineStore,
  createParquetOfflineStore,
  deadLetterTopic,
} from '@slate/stores';
import { afterAll, describe, expect, it } from 'vitest';
import { createBusFeatureWriter } from './bus-feature-writer.ts';
import { createPersistenceWorker } from './persistence-worker.ts';
import { RESULT_BUS_TOPIC, type ResultMessageInput } from './result-message.ts';
import { createOfflineWriter } from './writers/offline-writer.ts';
import { createOnlineWriter } from './writers/online-writer.ts';
import {
  createQueryLogWriter,
  createUsageWriter,
  QUERY_LOG_TABLE,
  USAGE_TABLE,
} from './writers/record-writers.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-persistence-'));
afterAll(() => rm(root, { recursive: true, force: true }));
const T = Date.UTC(2024, 2, 1);

async function setup(name: string) {
  const bus = createLogBus({ root: join(root, name, 'bus'), sync: false });
  await bus.init();
  const objectStore = createLocalObjectStore({ root: join(root, name, 'objects') });
  await objectStore.init();
  const offline = createParquetOfflineStore({ objectStore, threads: 1 });
  await offline.init();
  const online = createMemoryOnlineStore();
  await online.init();
  return { bus, offline, online, objectStore };
}

const message = (i: number, values = 10): ResultMessageInput => ({
  version: 1,
  environment: 'prod',
  operationId: `op-${i}`,
  operationKind: 'ONLINE_QUERY',
  deploymentId: 'dep-1',
  insertedAt: T + 1_000_000 + i,
  values: Array.from({ length: values }, (_, v) => ({
    feature: `user.f${v}`,
    pkey: String(i),
    value: i * 100 + v,
    observedAt: T + i,
    resolver: 'get_f',
  })),
  writeOnline: false,
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
    outputs: ['user.f0'],
    row_count: 1,
    error_count: 0,
  },
  usage: {
    operation_id: `op-${i}`,
    operation_kind: 'ONLINE_QUERY',
    at: new Date(T).toISOString(),
    rows: 1,
    feature_values: values,
    resolver_values: values,
  },
});

function runChild(busDir: string, objectsDir: string, crashAfter: number) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'fixtures', 'persistence-child.ts'),
        busDir,
        objectsDir,
        String(crashAfter),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code, signal) => resolve({ code, signal, output }));
  });
}

async function countRows(objectsDir: string): Promise<number> {
  const objectStore = createLocalObjectStore({ root: objectsDir });
  await objectStore.init();
  const offline = createParquetOfflineStore({ objectStore, threads: 1 });
  await offline.init();
  const count = (await offline.scan('prod')).length;
  await offline.close();
  return count;
}

describe('createPersistenceWorker', () => {
  it('writes uploads to both stores, query results offline, and the query log and usage, once each', async () => {
    const { bus, offline, online } = await setup('basic');
    const writer = createBusFeatureWriter(bus);
    await writer.write('prod', [{ feature: 'user.name', pkey: 7, value: 'Ada', observedAt: T + 50 }], {
      online: true,
      offline: true,
    });
    // A backdated upload arriving later: offline it is history; online it must not replace the newer value.
    await writer.write('prod', [{ feature: 'user.name', pkey: 7, value: 'Old', observedAt: T + 10 }], {
      online: true,
      offline: true,
    });
    await writer.write('prod', [{ feature: 'user.name', pkey: 8, value: 'Bob', observedAt: T }], {
      online: true,
      offline: false,
    });
    await bus.publish(RESULT_BUS_TOPIC, [
      { key: 'prod', value: JSON.stringify(message(1, 3)), id: 'result-1' },
    ]);
    const worker = createPersistenceWorker({
      bus,
      writers: [
        createOnlineWriter(online),
        createOfflineWriter(offline),
        createQueryLogWriter(offline),
        createUsageWriter(offline),
      ],
      lingerMs: 20,
    });
    let handled = 0;
    for (let n = await worker.runOnce(); n > 0; n = await worker.runOnce()) handled += n;
    expect(handled).toBe(4);

    expect(
      await online.get('prod', [
        { feature: 'user.name', pkey: 7 },
        { feature: 'user.name', pkey: 8 },
      ]),
    ).toEqual([
      { value: 'Ada', observedAt: T + 50 },
      { value: 'Bob', observedAt: T },
    ]);
    const names = await offline.scan('prod', { features: ['user.name'] });
    expect(names.map((o) => [o.pkey, o.value, o.observedAt])).toEqual([
      ['7', 'Old', T + 10],
      ['7', 'Ada', T + 50],
    ]);
    const computed = await offline.scan('prod', { features: ['user.f0', 'user.f1', 'user.f2'] });
    expect(
      computed.map((o) => [o.feature, o.value, o.resolver, o.deploymentId, o.queryId, o.insertedAt]),
    ).toEqual([
      ['user.f0', 100, 'get_f', 'dep-1', 'op-1', T + 1_000_001],
      ['user.f1', 101, 'get_f', 'dep-1', 'op-1', T + 1_000_001],
      ['user.f2', 102, 'get_f', 'dep-1', 'op-1', T + 1_000_001],
    ]);
    expect((await offline.readRecords('prod', QUERY_LOG_TABLE)).map((r) => r.operation_id)).toEqual(['op-1']);
    expect((await offline.readRecords('prod', USAGE_TABLE)).map((r) => r.feature_values)).toEqual([3]);

    // Replaying the whole topic (as after a crash before acknowledging) writes nothing new.
    await bus.seek(RESULT_BUS_TOPIC, 'background-persistence', '0');
    for (let n = await worker.runOnce(); n > 0; n = await worker.runOnce()) {}
    expect(await offline.scan('prod')).toHaveLength(5);
    expect(await offline.readRecords('prod', QUERY_LOG_TABLE)).toHaveLength(1);
    await worker.stop();
    await Promise.all([offline.close(), bus.close()]);
  });

  it('dead-letters a message that is not a result message and goes on', async () => {
    const { bus, offline, online } = await setup('invalid');
    await bus.publish(RESULT_BUS_TOPIC, [
      { key: 'prod', value: '{"version": 2}', id: 'bad' },
      { key: 'prod', value: JSON.stringify(message(2, 1)), id: 'good' },
    ]);
    const worker = createPersistenceWorker({ bus, writers: [createOfflineWriter(offline)], lingerMs: 20 });
    expect(await worker.runOnce()).toBe(2);
    expect((await offline.scan('prod')).map((o) => o.value)).toEqual([200]);
    const dead = await bus
      .consumer({ topic: deadLetterTopic(RESULT_BUS_TOPIC), group: 'inspect' })
      .poll({ waitMs: 100 });
    expect(dead.map((m) => m.id)).toEqual(['bad']);
    await worker.stop();
    await Promise.all([offline.close(), bus.close(), online.close()]);
  });

  it('retries a batch whose writer failed, without losing or duplicating it', async () => {
    const { bus, offline } = await setup('retry');
    await bus.publish(RESULT_BUS_TOPIC, [{ key: 'prod', value: JSON.stringify(message(3, 2)), id: 'r3' }]);
    let failures = 1;
    const flaky = {
      name: 'flaky',
      async write() {
        if (failures-- > 0) throw new Error('store down');
      },
    };
    const worker = createPersistenceWorker({
      bus,
      writers: [createOfflineWriter(offline), flaky],
      lingerMs: 20,
      retryDelayMs: 10,
    });
    await worker.runOnce();
    await worker.runOnce();
    expect(await worker.runOnce()).toBe(0);
    expect((await offline.scan('prod')).map((o) => o.value)).toEqual([300, 301]);
    await worker.stop();
    await Promise.all([offline.close(), bus.close()]);
  });

  it('in the background, writes batch after batch in publish order, one at a time, acknowledging each', async () => {
    const { bus } = await setup('loop-order');
    const ids = Array.from({ length: 23 }, (_, i) => `m${i}`);
    await bus.publish(
      RESULT_BUS_TOPIC,
      ids.map((id, i) => ({ key: 'prod', value: JSON.stringify(message(i, 1)), id })),
    );
    const written: string[][] = [];
    let writing = 0;
    let overlapped = false;
    let done!: () => void;
    const drained = new Promise<void>((resolve) => {
      done = resolve;
    });
    const recorder = {
      name: 'recorder',
      async write(batch: readonly { id: string }[]) {
        overlapped ||= writing > 0;
        writing += 1;
        await new Promise((resolve) => setTimeout(resolve, 5)); // let the next poll run meanwhile
        written.push(batch.map((received) => received.id));
        writing -= 1;
        if (written.flat().length === ids.length) done();
      },
    };
    const worker = createPersistenceWorker({ bus, writers: [recorder], batchMessages: 4, lingerMs: 5 });
    worker.start();
    await drained;
    await worker.stop();
    expect(overlapped).toBe(false);
    expect(written.flat()).toEqual(ids);
    expect(written.every((batch) => batch.length <= 4)).toBe(true);
    // Everything was acknowledged: a fresh consumer of the same group gets nothing.
    const after = createPersistenceWorker({ bus, writers: [recorder], lingerMs: 20 });
    expect(await after.runOnce()).toBe(0);
    await after.stop();
    await bus.close();
  });

  it('in the background, gives back a failed batch and the one taken after it, then writes both once', async () => {
    const { bus } = await setup('loop-retry');
    const ids = Array.from({ length: 9 }, (_, i) => `r${i}`);
    await bus.publish(
      RESULT_BUS_TOPIC,
      ids.map((id, i) => ({ key: 'prod', value: JSON.stringify(message(i, 1)), id })),
    );
    const attempts: string[][] = [];
    const written: string[] = [];
    let done!: () => void;
    const drained = new Promise<void>((resolve) => {
      done = resolve;
    });
    const flaky = {
      name: 'flaky',
      async write(batch: readonly { id: string }[]) {
        attempts.push(batch.map((received) => received.id));
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (attempts.length === 1) throw new Error('store down');
        written.push(...batch.map((received) => received.id));
        if (written.length >= ids.length) done();
      },
    };
    const worker = createPersistenceWorker({
      bus,
      writers: [flaky],
      batchMessages: 3,
      lingerMs: 5,
      retryDelayMs: 10,
    });
    worker.start();
    await drained;
    await worker.stop();
    // The failed batch is retried first: the batch polled while it was being written went back unwritten.
    expect(attempts.slice(0, 2)).toEqual([
      ['r0', 'r1', 'r2'],
      ['r0', 'r1', 'r2'],
    ]);
    // Each message written exactly once after the failure (the batch polled meanwhile was not written).
    expect([...written].sort()).toEqual(ids);
    const after = createPersistenceWorker({ bus, writers: [flaky], lingerMs: 20 });
    expect(await after.runOnce()).toBe(0);
    await after.stop();
    await bus.close();
  });

  it('loses and duplicates nothing when its process is killed mid-batch and restarted', {
    timeout: 60_000,
  }, async () => {
    const busDir = join(root, 'crash', 'bus');
    const objectsDir = join(root, 'crash', 'objects');
    const bus = createLogBus({ root: busDir });
    await bus.init();
    const messages = 60;
    await bus.publish(
      RESULT_BUS_TOPIC,
      Array.from({ length: messages }, (_, i) => ({
        key: 'prod',
        value: JSON.stringify(message(i)),
        id: `m-${i}`,
      })),
    );
    await bus.close();

    // Killed after its third batch was written and before it was acknowledged.
    const crashed = await runChild(busDir, objectsDir, 3);
    expect(crashed.signal).toBe('SIGKILL');
    const partial = await countRows(objectsDir);
    // Three batches of seven messages were committed (the third never acknowledged) before the kill.
    expect(partial).toBe(3 * 7 * 10);
    // Killed at an arbitrary moment (whatever it was doing then).
    const killedAnywhere = new Promise<void>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(import.meta.dirname, 'fixtures', 'persistence-child.ts'),
          busDir,
          objectsDir,
          '0',
        ],
        { stdio: 'ignore' },
      );
      setTimeout(() => child.kill('SIGKILL'), 1_500);
      child.on('exit', () => resolve());
    });
    await killedAnywhere;
    const finished = await runChild(busDir, objectsDir, 0);
    expect(finished.code, finished.output).toBe(0);

    const objectStore = createLocalObjectStore({ root: objectsDir });
    await objectStore.init();
    const offline = createParquetOfflineStore({ objectStore, threads: 1 });
    await offline.init();
    const rows = await offline.scan('prod');
    expect(rows).toHaveLength(messages * 10);
    expect(new Set(rows.map((r) => `${r.feature}/${r.pkey}`)).size).toBe(messages * 10);
    expect(rows.reduce((sum, r) => sum + (r.value as number), 0)).toBe(
      Array.from({ length: messages }, (_, i) => Array.from({ length: 10 }, (_, v) => i * 100 + v))
        .flat()
        .reduce((a, b) => a + b, 0),
    );
    const log = await offline.readRecords('prod', QUERY_LOG_TABLE);
    expect(log).toHaveLength(messages);
    expect(new Set(log.map((r) => r.operation_id)).size).toBe(messages);
    expect(await offline.readRecords('prod', USAGE_TABLE)).toHaveLength(messages);
    await offline.close();
  });
});
