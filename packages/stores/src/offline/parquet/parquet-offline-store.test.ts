import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalObjectStore } from '../../object/local/local-object-store.ts';
import { runOfflineStoreConformance } from '../offline-store-conformance.ts';
import { createParquetOfflineStore } from './parquet-offline-store.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-offline-test-'));
afterAll(() => rm(root, { recursive: true, force: true }));
const objectStore = createLocalObjectStore({ root: join(root, 'objects') });
await objectStore.init();

const open = async () => {
  const store = createParquetOfflineStore({ objectStore, threads: 1 });
  await store.init();
  return store;
};

runOfflineStoreConformance('parquet on local folders', { create: open });

const T = Date.UTC(2024, 5, 1);

describe('createParquetOfflineStore', () => {
  it('lays files out by namespace and day, and hides data files that no commit names', async () => {
    const store = await open();
    await store.write('layout', [
      {
        id: 'm1',
        observations: [
          { feature: 'user.a', pkey: '1', value: 1, observedAt: T, insertedAt: T },
          { feature: 'user.a', pkey: '1', value: 2, observedAt: T + 86_400_000, insertedAt: T },
          { feature: 'card.b', pkey: '9', value: 3, observedAt: T, insertedAt: T },
        ],
      },
    ]);
    const keys: string[] = [];
    for await (const info of objectStore.list('data', 'offline/layout/')) keys.push(info.key);
    const data = keys.filter((k) => k.endsWith('.parquet')).map((k) => k.split('/').slice(2, 5).join('/'));
    expect(data.sort()).toEqual([
      'observations/namespace=card/date=2024-06-01',
      'observations/namespace=user/date=2024-06-01',
      'observations/namespace=user/date=2024-06-02',
    ]);
    expect(keys.filter((k) => k.includes('/_commits/'))).toHaveLength(1);

    // A writer that crashed after uploading a data file but before its commit: the file stays invisible.
    const orphan = keys.find((k) => k.includes('namespace=card'))!;
    const bytes = await objectStore.get('data', orphan);
    await objectStore.put(
      'data',
      'offline/layout/observations/namespace=card/date=2024-06-01/crashed-0.parquet',
      bytes!,
    );
    const again = await open();
    expect((await again.scan('layout', { features: ['card.b'] })).map((o) => o.value)).toEqual([3]);
    await again.close();
    await store.close();
  });

  it('writes a sample to Parquet with typed value columns and observed-at timestamps', async () => {
    const store = await open();
    await store.write('typed', [
      {
        id: 'm1',
        observations: [
          { feature: 'user.n', pkey: '1', value: 7, observedAt: T, insertedAt: T },
          { feature: 'user.s', pkey: '1', value: 'x', observedAt: T, insertedAt: T },
          { feature: 'user.l', pkey: '1', value: [1, 2], observedAt: T, insertedAt: T },
        ],
      },
    ]);
    const output = join(root, 'sample.parquet');
    const result = await store.sample('typed', {
      spine: { pkeys: ['1', '2'], times: [T + 5, T + 5] },
      features: [
        { fqn: 'user.n', ttlMs: null, dtype: { type: 'int' } },
        { fqn: 'user.s', ttlMs: null, dtype: { type: 'string' } },
        { fqn: 'user.l', ttlMs: null, dtype: { type: 'list', of: { type: 'int' } } },
      ],
      output: { parquet: output },
    });
    expect(result).toEqual({ rowCount: 2, columns: [] });
    const duck = await DuckDBInstance.create(':memory:');
    const connection = await duck.connect();
    const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet('${output}') ORDER BY __row__`);
    expect(reader.columnNames()).toEqual([
      '__row__',
      'pkey',
      '__ts__',
      'user.n',
      'user.n.__observed_at__',
      'user.s',
      'user.s.__observed_at__',
      'user.l',
      'user.l.__observed_at__',
    ]);
    const rows = reader.getRowObjectsJson();
    expect(rows[0]).toMatchObject({ pkey: '1', 'user.n': '7', 'user.s': 'x', 'user.l': '[1,2]' });
    expect(rows[1]).toMatchObject({ pkey: '2', 'user.n': null, 'user.s': null });
    const types = await connection.runAndReadAll(
      `SELECT column_type FROM (DESCRIBE SELECT * FROM read_parquet('${output}'))`,
    );
    expect(types.getRowsJS().map((r) => r[0])).toEqual([
      'BIGINT',
      'VARCHAR',
      'TIMESTAMP',
      'BIGINT',
      'TIMESTAMP',
      'VARCHAR',
      'TIMESTAMP',
      'VARCHAR',
      'TIMESTAMP',
    ]);
    connection.closeSync();
    duck.closeSync();
    await store.close();
  });

  it('keeps a partition’s visible files bounded over many writes by tiered compaction, losing no row', async () => {
    const store = createParquetOfflineStore({ objectStore, threads: 1, autoCompactFiles: 4 });
    await store.init();
    const writes = 70;
    for (let i = 0; i < writes; i++) {
      await store.write('tiered', [
        {
          id: `m${i}`,
          observations: [
            { feature: 'user.n', pkey: String(i % 7), value: i, observedAt: T + i, insertedAt: T + i },
          ],
        },
      ]);
      await store.appendRecords('tiered', 'query_log', [{ id: `q${i}`, rows: [{ i }] }]);
    }
    const keys: string[] = [];
    for await (const info of objectStore.list('data', 'offline/tiered/')) keys.push(info.key);
    const observations = keys.filter((k) => k.includes('/observations/') && k.endsWith('.parquet'));
    const tables = keys.filter((k) => k.includes('/tables/query_log/') && k.endsWith('.parquet'));
    // Fewer than 4 files a level, log4(70) < 4 levels: at most 3 × 4 = 12 files, where there were 70 each.
    expect(observations.length).toBeLessThanOrEqual(12);
    expect(tables.length).toBeLessThanOrEqual(12);
    // 70 = 1×64 + 0×16 + 1×4 + 2×1 in base 4: one file of level 3, one of level 1, two of level 0.
    expect(observations.length).toBe(4);
    const scanned = await store.scan('tiered', { features: ['user.n'] });
    expect(scanned.map((o) => o.value as number).sort((a, b) => a - b)).toEqual(
      Array.from({ length: writes }, (_, i) => i),
    );
    expect(await store.readRecords('tiered', 'query_log')).toEqual(
      Array.from({ length: writes }, (_, i) => ({ i })),
    );
    // Redelivered batches are still recognised after their files were merged.
    expect(
      await store.write('tiered', [
        {
          id: 'm3',
          observations: [{ feature: 'user.n', pkey: '1', value: -1, observedAt: T, insertedAt: T }],
        },
      ]),
    ).toBe(0);
    await store.close();
  });

  it('merges at most maxMergeBytes of files at once, and streamed merges lose no row', async () => {
    // Streams every merge (sortedMergeRows 0), at most two level-0 files per merge (each is ~2.5 KB here).
    const probe = createParquetOfflineStore({ objectStore, threads: 1, autoCompactFiles: 0 });
    await probe.init();
    const batch = (i: number) => ({
      id: `b${i}`,
      observations: Array.from({ length: 50 }, (_, k) => ({
        feature: k % 2 ? 'user.b' : 'user.a',
        pkey: String((i * 50 + k) % 13),
        value: i * 50 + k,
        observedAt: T + i * 50 + k,
        insertedAt: T + i * 50 + k,
      })),
    });
    await probe.write('sized', [batch(0)]);
    let size = 0;
    for await (const info of objectStore.list('data', 'offline/sized/observations/')) size = info.size;
    await probe.close();
    const store = createParquetOfflineStore({
      objectStore,
      threads: 1,
      autoCompactFiles: 4,
      maxMergeBytes: Math.floor(size * 2.5),
      sortedMergeRows: 0,
    });
    await store.init();
    for (let i = 1; i < 12; i++) await store.write('sized', [batch(i)]);
    const manifestRows: number[] = [];
    for await (const info of objectStore.list('data', 'offline/sized/_commits/')) {
      const commit = JSON.parse(new TextDecoder().decode((await objectStore.get('data', info.key))!)) as {
        adds: { key: string; rows: number }[];
      };
      for (const add of commit.adds) if (/-c\d+\.parquet$/.test(add.key)) manifestRows.push(add.rows);
    }
    // Every merge took two files of 50 rows (the cap fits two, not the four a level holds), never four.
    expect(manifestRows.length).toBeGreaterThan(0);
    expect(new Set(manifestRows)).toEqual(new Set([100]));
    const scanned = await store.scan('sized');
    expect(scanned.map((o) => o.value as number).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 12 * 50 }, (_, i) => i),
    );
    // Point-in-time reads sort what they read: the newest value of key 3 at or before T + 400.
    const { columns } = await store.sample('sized', {
      spine: { pkeys: ['3'], times: [T + 400] },
      features: [{ fqn: 'user.a', ttlMs: null }],
    });
    const expected = Array.from({ length: 401 }, (_, v) => v)
      .filter((v) => v % 2 === 0 && v % 13 === 3)
      .at(-1);
    expect(columns[0]!.values).toEqual([expected]);
    await store.close();
  });
});
