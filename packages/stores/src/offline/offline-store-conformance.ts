import { randomUUID } from 'node:crypto';
import { SlateError } from '@slate/graph';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Observation, OfflineStore, SampledFeature } from './offline-store.ts';
import { pointInTimeOracle } from './point-in-time-oracle.ts';

/** How `runOfflineStoreConformance` gets a store. */
export interface OfflineStoreConformanceOptions {
  /** A fresh, initialised store; the suite closes it after each test. */
  readonly create: () => Promise<OfflineStore>;
}

/** A small seeded PRNG (mulberry32), so a failing randomized case can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 86_400_000;
const BASE = Date.UTC(2024, 0, 1);

/**
 * Registers the vitest suite every `OfflineStore` backend must pass, including a randomized comparison
 * with `pointInTimeOracle` (ties on observed-at, TTLs, bounds, backdated values arriving late, several
 * commits and a compaction). Each test uses a fresh, randomly named environment.
 *
 * @example
 * runOfflineStoreConformance('parquet', { create: async () => { const s = createParquetOfflineStore({ objectStore }); await s.init(); return s; } });
 */
export function runOfflineStoreConformance(name: string, options: OfflineStoreConformanceOptions): void {
  describe(`OfflineStore conformance: ${name}`, () => {
    let store: OfflineStore;
    let env: string;

    beforeEach(async () => {
      store = await options.create();
      env = `env-${randomUUID().slice(0, 8)}`;
    });
    afterEach(async () => {
      await store.close();
    });

    it('reads back every observation with its JSON value, times and provenance', async () => {
      const values: unknown[] = [42, -1.5, 'héllo "x"', true, null, [1, 'a', null], { a: { b: [true] } }, 0];
      const observations: Observation[] = values.map((value, i) => ({
        feature: 'user.f',
        pkey: String(i),
        value,
        observedAt: BASE + i * 1000,
        insertedAt: BASE + DAY + i,
        resolver: i % 2 ? 'get_f' : null,
        deploymentId: 'dep-1',
        queryId: i === 0 ? 'q-1' : null,
      }));
      expect(await store.write(env, [{ id: 'batch-1', observations }])).toBe(1);
      const stored = await store.scan(env, { features: ['user.f'] });
      expect(stored.map(({ observationId: _, ...rest }) => rest)).toEqual(observations);
      expect(new Set(stored.map((o) => o.observationId)).size).toBe(values.length);
    });

    it('skips a batch whose ids were all committed before (redelivery never duplicates)', async () => {
      const batch = (id: string, value: number) => ({
        id,
        observations: [{ feature: 'user.f', pkey: '1', value, observedAt: BASE, insertedAt: BASE }],
      });
      expect(await store.write(env, [batch('m-1', 1), batch('m-2', 2)])).toBe(2);
      expect(await store.write(env, [batch('m-1', 1), batch('m-2', 2)])).toBe(0);
      // Regrouped on redelivery: only the new batch is written, once even if it appears twice.
      expect(await store.write(env, [batch('m-2', 2), batch('m-3', 3), batch('m-3', 3)])).toBe(1);
      expect((await store.scan(env)).map((o) => o.value).sort()).toEqual([1, 2, 3]);
    });

    it('keeps environments apart', async () => {
      const other = `env-${randomUUID().slice(0, 8)}`;
      await store.write(env, [
        {
          id: 'a',
          observations: [{ feature: 'user.f', pkey: '1', value: 'mine', observedAt: BASE, insertedAt: BASE }],
        },
      ]);
      expect(await store.scan(other)).toEqual([]);
      const sampled = await store.sample(other, {
        spine: { pkeys: ['1'], times: [BASE + 1] },
        features: [{ fqn: 'user.f', ttlMs: null }],
      });
      expect(sampled.columns[0]!.values).toEqual([null]);
    });

    it('answers a spine with no observations at all with nulls, one row per input', async () => {
      const sampled = await store.sample(env, {
        spine: { pkeys: ['1', '1', '2'], times: [BASE, BASE, BASE] },
        features: [{ fqn: 'user.a', ttlMs: null }],
      });
      expect(sampled.rowCount).toBe(3);
      expect(sampled.columns).toEqual([
        { fqn: 'user.a', values: [null, null, null], observedAt: [null, null, null] },
      ]);
    });

    it('follows the point-in-time rule exactly: at-or-before, newest wins, ties to the later insert, TTL, bounds', async () => {
      const obs = (pkey: string, value: unknown, observedAt: number, insertedAt: number): Observation => ({
        feature: 'user.score',
        pkey,
        value,
        observedAt,
        insertedAt,
      });
      await store.write(env, [
        {
          id: 'b1',
          observations: [
            obs('1', 'old', 1_000, 10),
            obs('1', 'tie-first', 2_000, 20),
            obs('2', 'two', 5_000, 50),
          ],
        },
      ]);
      // Late arrivals: a correction for the tie, and a backdated value inserted after everything else.
      await store.write(env, [
        { id: 'b2', observations: [obs('1', 'tie-second', 2_000, 30), obs('1', 'backdated', 1_500, 99)] },
      ]);
      const times = [999, 1_000, 1_499, 1_500, 1_999, 2_000, 10_000];
      const sampled = await store.sample(env, {
        spine: { pkeys: times.map(() => '1'), times: times.map((t) => t) },
        features: [{ fqn: 'user.score', ttlMs: null }],
      });
      expect(sampled.columns[0]!.values).toEqual([
        null,
        'old',
        'old',
        'backdated',
        'backdated',
        'tie-second',
        'tie-second',
      ]);
      const withTtl = await store.sample(env, {
        spine: { pkeys: ['1', '1', '2', '2'], times: [2_500, 2_501, 5_500, 5_501] },
        features: [{ fqn: 'user.score', ttlMs: 500 }],
      });
      expect(withTtl.columns[0]).toEqual({
        fqn: 'user.score',
        values: ['tie-second', null, 'two', null],
        observedAt: [2_000, null, 5_000, null],
      });
      const bounded = await store.sample(env, {
        spine: { pkeys: ['1', '1'], times: [1_600, 10_000] },
        features: [{ fqn: 'user.score', ttlMs: null }],
        upperBound: 1_600,
        lowerBound: 1_200,
      });
      expect(bounded.columns[0]!.values).toEqual(['backdated', 'backdated']);
    });

    it('breaks a tie of observed-at and inserted-at by write order: the last row, batch and write win', async () => {
      const obs = (pkey: string, value: unknown): Observation => ({
        feature: 'user.tie',
        pkey,
        value,
        observedAt: 5_000,
        insertedAt: 7_000,
      });
      // Enough rows per key that a store picking any of the tied rows by chance would rarely pick the last.
      const rows = (pkey: string, label: string) =>
        Array.from({ length: 50 }, (_, i) => obs(pkey, `${label}-${i}`));
      await store.write(env, [{ id: 't1', observations: [...rows('a', 'one'), ...rows('b', 'one')] }]);
      await store.write(env, [
        { id: 't2', observations: rows('b', 'two') },
        { id: 't3', observations: [...rows('c', 'three'), ...rows('b', 'three')] },
      ]);
      for (let round = 0; round < 3; round++) {
        const sampled = await store.sample(env, {
          spine: { pkeys: ['a', 'b', 'c'], times: [5_000, 5_000, 9_000] },
          features: [{ fqn: 'user.tie', ttlMs: null }],
        });
        expect(sampled.columns[0]!.values).toEqual(['one-49', 'three-49', 'three-49']);
      }
    });

    for (const seed of [1, 2, 3]) {
      it(`agrees with the brute-force oracle on randomized data (seed ${seed}), before and after compaction`, async () => {
        const random = seededRandom(seed);
        const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
        const features = ['user.a', 'user.b', 'account.c'];
        const pkeys = ['1', '2', '3', '4', '5'];
        const all: Observation[] = [];
        let insertedAt = BASE;
        for (let batch = 0; batch < 6; batch++) {
          const observations: Observation[] = [];
          for (let i = 0; i < 40; i++) {
            // Few distinct times, spread over three days: many ties, several partitions, backdated arrivals.
            const observedAt = BASE + Math.floor(random() * 12) * (DAY / 4);
            observations.push({
              feature: pick(features),
              pkey: pick(pkeys),
              value: random() < 0.1 ? null : Math.round(random() * 1000),
              observedAt,
              insertedAt: insertedAt++,
            });
          }
          all.push(...observations);
          await store.write(env, [{ id: `seed-${seed}-${batch}`, observations }]);
        }
        const rows = 120;
        const spine = {
          pkeys: Array.from({ length: rows }, () => pick([...pkeys, '6'])),
          times: Array.from({ length: rows }, () => BASE - DAY / 4 + Math.floor(random() * 16) * (DAY / 4)),
        };
        const requested: SampledFeature[] = [
          { fqn: 'user.a', ttlMs: null },
          { fqn: 'user.b', ttlMs: DAY / 2 },
          { fqn: 'account.c', ttlMs: DAY / 4 },
        ];
        const bounds = seed === 3 ? { lowerBound: BASE + DAY / 4, upperBound: BASE + 2 * DAY } : {};
        const expected = pointInTimeOracle(all, spine, requested, bounds);
        const actual = await store.sample(env, { spine, features: requested, ...bounds });
        expect(actual.rowCount).toBe(rows);
        expect(actual.columns).toEqual(expected);
        expect(expected.flatMap((c) => c.values).filter((v) => v !== null).length).toBeGreaterThan(rows / 2);

        const compacted = await store.compact(env);
        expect(compacted.merged).toBeGreaterThan(0);
        expect(await store.sample(env, { spine, features: requested, ...bounds })).toEqual(actual);
        expect(await store.scan(env)).toHaveLength(all.length);
      });
    }

    it('drops every observation of some features inserted up to a time, at once, and nothing else', async () => {
      const random = seededRandom(7);
      const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
      const other = `env-${randomUUID().slice(0, 8)}`;
      const all: Observation[] = [];
      let insertedAt = BASE;
      for (let batch = 0; batch < 5; batch++) {
        const observations: Observation[] = Array.from({ length: 30 }, () => ({
          feature: pick(['user.a', 'user.b', 'account.c']),
          pkey: pick(['1', '2', '3']),
          value: Math.round(random() * 1000),
          observedAt: BASE + Math.floor(random() * 8) * (DAY / 4),
          insertedAt: insertedAt++,
        }));
        all.push(...observations);
        await store.write(env, [{ id: `drop-${batch}`, observations }]);
        await store.write(other, [{ id: `drop-${batch}`, observations }]);
      }
      await store.compact(env);
      // Values inserted after the cut (the last batch) survive: a replayed drop never erases later writes.
      const cut = BASE + 4 * 30 - 1;
      const dropped = (o: Observation) => ['user.a', 'account.c'].includes(o.feature) && o.insertedAt <= cut;
      const kept = all.filter((o) => !dropped(o));
      const result = await store.dropFeatures(env, ['user.a', 'account.c'], { insertedBefore: cut });
      expect(result.rows).toBe(all.length - kept.length);
      expect(result.rows).toBeGreaterThan(0);
      const key = (o: Observation) => `${o.feature}|${o.pkey}|${o.observedAt}|${o.insertedAt}|${o.value}`;
      const scanned = await store.scan(env);
      expect(scanned.map(key).sort()).toEqual(kept.map(key).sort());
      const spine = {
        pkeys: ['1', '2', '3', '1'],
        times: [BASE + DAY, BASE + 2 * DAY, BASE + 3 * DAY, BASE],
      };
      const requested: SampledFeature[] = ['user.a', 'user.b', 'account.c'].map((fqn) => ({
        fqn,
        ttlMs: null,
      }));
      expect((await store.sample(env, { spine, features: requested })).columns).toEqual(
        pointInTimeOracle(kept, spine, requested),
      );
      // Another environment keeps everything; a second drop finds nothing; a later compaction keeps the drop.
      expect(await store.scan(other)).toHaveLength(all.length);
      expect(await store.dropFeatures(env, ['user.a', 'account.c'], { insertedBefore: cut })).toEqual({
        rows: 0,
        files: 0,
      });
      await store.compact(env);
      expect((await store.scan(env)).map(key).sort()).toEqual(kept.map(key).sort());
      // Without a time, everything of the feature goes.
      await store.dropFeatures(env, ['user.a']);
      expect((await store.scan(env, { features: ['user.a'] })).length).toBe(0);
      expect((await store.scan(env, { features: ['user.b'] })).map(key).sort()).toEqual(
        kept
          .filter((o) => o.feature === 'user.b')
          .map(key)
          .sort(),
      );
      const error = await store.dropFeatures(env, ["bad'; drop"]).catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: 'input' });
    });

    it('appends record-table rows idempotently by batch id and reads them back in commit order', async () => {
      expect(await store.appendRecords(env, 'query_log', [{ id: 'q1', rows: [{ a: 1 }, { a: 2 }] }])).toBe(1);
      expect(
        await store.appendRecords(env, 'query_log', [
          { id: 'q1', rows: [{ a: 1 }, { a: 2 }] },
          { id: 'q2', rows: [{ a: 3, nested: { b: [true] } }] },
        ]),
      ).toBe(1);
      expect(await store.readRecords(env, 'query_log')).toEqual([
        { a: 1 },
        { a: 2 },
        { a: 3, nested: { b: [true] } },
      ]);
      expect(await store.readRecords(env, 'usage')).toEqual([]);
      expect(await store.scan(env)).toEqual([]);
    });

    it('refuses malformed feature names', async () => {
      const error = await store
        .write(env, [
          {
            id: 'x',
            observations: [{ feature: "bad'; drop", pkey: '1', value: 1, observedAt: 0, insertedAt: 0 }],
          },
        ])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SlateError);
      expect(error).toMatchObject({ kind: 'input' });
    });
  });
}
