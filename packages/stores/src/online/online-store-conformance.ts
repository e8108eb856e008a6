import { randomUUID } from 'node:crypto';
import { SlateError } from '@slate/graph';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OnlineEntry, OnlineKey, OnlineStore } from './online-store.ts';

/** How `runOnlineStoreConformance` gets a store and moves time forward. */
export interface OnlineStoreConformanceOptions {
  /** A fresh, initialised store; the suite closes it after each test. */
  readonly create: () => Promise<OnlineStore>;
  /**
   * Moves the clock TTLs are measured against forward by `ms`. Default: really wait `ms` milliseconds
   * (right for a server such as Redis); an in-memory store with an injected clock advances that clock.
   */
  readonly advanceTime?: (ms: number) => Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Registers the vitest suite every `OnlineStore` backend must pass. Each test works in fresh, randomly
 * named environments, so a backend may share one server (and key prefix) across tests.
 *
 * @example
 * runOnlineStoreConformance('memory', { create: async () => createMemoryOnlineStore() });
 */
export function runOnlineStoreConformance(name: string, options: OnlineStoreConformanceOptions): void {
  const advanceTime = options.advanceTime ?? sleep;

  describe(`OnlineStore conformance: ${name}`, () => {
    let store: OnlineStore;
    let env: string;
    const k = (feature: string, pkey: string | number): OnlineKey => ({ feature, pkey });

    beforeEach(async () => {
      store = await options.create();
      env = `env-${randomUUID()}`;
    });
    afterEach(async () => {
      await store.close();
    });

    it('round-trips every kind of JSON value with its timestamp', async () => {
      const cases: [string, unknown][] = [
        ['int', 42],
        ['negative', -7],
        ['zero', 0],
        ['float', 0.1],
        ['big', 9_007_199_254_740_991],
        ['tiny', 1.5e-300],
        ['string', 'héllo "wörld" :*? \\ \n'],
        ['empty-string', ''],
        ['true', true],
        ['false', false],
        ['null', null],
        ['empty-array', []],
        ['array', [1, 'two', null, [3, { four: 4 }]]],
        ['object', { a: 1, b: { c: [true, false] }, 'd:e': null }],
        ['iso', '2024-02-29T12:34:56.789Z'],
      ];
      await store.set(
        env,
        cases.map(([feature, value], i) => ({
          feature: `t.${feature}`,
          pkey: 1,
          value,
          observedAt: 1_000 + i,
        })),
      );
      const got = await store.get(
        env,
        cases.map(([feature]) => k(`t.${feature}`, 1)),
      );
      // Expected values are written out again rather than reusing `cases`, so shared references cannot pass.
      expect(got).toEqual([
        { value: 42, observedAt: 1_000 },
        { value: -7, observedAt: 1_001 },
        { value: 0, observedAt: 1_002 },
        { value: 0.1, observedAt: 1_003 },
        { value: 9_007_199_254_740_991, observedAt: 1_004 },
        { value: 1.5e-300, observedAt: 1_005 },
        { value: 'héllo "wörld" :*? \\ \n', observedAt: 1_006 },
        { value: '', observedAt: 1_007 },
        { value: true, observedAt: 1_008 },
        { value: false, observedAt: 1_009 },
        { value: null, observedAt: 1_010 },
        { value: [], observedAt: 1_011 },
        { value: [1, 'two', null, [3, { four: 4 }]], observedAt: 1_012 },
        { value: { a: 1, b: { c: [true, false] }, 'd:e': null }, observedAt: 1_013 },
        { value: '2024-02-29T12:34:56.789Z', observedAt: 1_014 },
      ]);
    });

    it('stores a copy: mutating the written or read object changes nothing stored', async () => {
      const value = { list: [1, 2] };
      await store.set(env, [{ feature: 'u.obj', pkey: 'a', value, observedAt: 1 }]);
      value.list.push(3);
      const [first] = await store.get(env, [k('u.obj', 'a')]);
      expect(first).toEqual({ value: { list: [1, 2] }, observedAt: 1 });
      (first!.value as { list: number[] }).list.push(4);
      const [second] = await store.get(env, [k('u.obj', 'a')]);
      expect(second).toEqual({ value: { list: [1, 2] }, observedAt: 1 });
    });

    it('stores undefined as null', async () => {
      await store.set(env, [{ feature: 'u.undef', pkey: 1, value: undefined, observedAt: 5 }]);
      expect(await store.get(env, [k('u.undef', 1)])).toEqual([{ value: null, observedAt: 5 }]);
    });

    it('aligns results with keys, with null for missing values and repeated keys answered each time', async () => {
      await store.set(env, [
        { feature: 'u.name', pkey: 1, value: 'one', observedAt: 10 },
        { feature: 'u.name', pkey: 3, value: 'three', observedAt: 30 },
        { feature: 'u.age', pkey: 1, value: 41, observedAt: 11 },
      ]);
      const got = await store.get(env, [
        k('u.name', 2),
        k('u.name', 3),
        k('u.missing', 1),
        k('u.age', 1),
        k('u.name', 1),
        k('u.name', 3),
      ]);
      expect(got).toEqual([
        null,
        { value: 'three', observedAt: 30 },
        null,
        { value: 41, observedAt: 11 },
        { value: 'one', observedAt: 10 },
        { value: 'three', observedAt: 30 },
      ]);
      expect(await store.get(env, [])).toEqual([]);
    });

    it('treats a numeric primary key and its string form as the same key', async () => {
      await store.set(env, [{ feature: 'u.n', pkey: 7, value: 'seven', observedAt: 1 }]);
      expect(await store.get(env, [k('u.n', '7')])).toEqual([{ value: 'seven', observedAt: 1 }]);
    });

    it('ignores a backdated write, lets a newer write win, and lets the later of two equal timestamps win', async () => {
      const key = k('u.score', 'p');
      await store.set(env, [{ ...key, value: 'at-2000', observedAt: 2_000 }]);
      await store.set(env, [{ ...key, value: 'at-1000', observedAt: 1_000 }]);
      expect(await store.get(env, [key])).toEqual([{ value: 'at-2000', observedAt: 2_000 }]);

      await store.set(env, [{ ...key, value: 'at-3000', observedAt: 3_000 }]);
      expect(await store.get(env, [key])).toEqual([{ value: 'at-3000', observedAt: 3_000 }]);

      await store.set(env, [{ ...key, value: 'also-at-3000', observedAt: 3_000 }]);
      expect(await store.get(env, [key])).toEqual([{ value: 'also-at-3000', observedAt: 3_000 }]);
    });

    it('judges each entry of one call on its own, in order', async () => {
      await store.set(env, [
        { feature: 'u.a', pkey: 1, value: 'old-a', observedAt: 100 },
        { feature: 'u.b', pkey: 1, value: 'b', observedAt: 100 },
      ]);
      await store.set(env, [
        { feature: 'u.a', pkey: 1, value: 'backdated-a', observedAt: 50 },
        { feature: 'u.b', pkey: 1, value: 'newer-b', observedAt: 150 },
        { feature: 'u.c', pkey: 1, value: 'c-first', observedAt: 9 },
        { feature: 'u.c', pkey: 1, value: 'c-backdated', observedAt: 8 },
        { feature: 'u.d', pkey: 1, value: 'd-first', observedAt: 9 },
        { feature: 'u.d', pkey: 1, value: 'd-second', observedAt: 9 },
      ]);
      expect(await store.get(env, [k('u.a', 1), k('u.b', 1), k('u.c', 1), k('u.d', 1)])).toEqual([
        { value: 'old-a', observedAt: 100 },
        { value: 'newer-b', observedAt: 150 },
        { value: 'c-first', observedAt: 9 },
        { value: 'd-second', observedAt: 9 },
      ]);
    });

    it('expires a value after its TTL, and a later write without TTL never expires', async () => {
      await store.set(env, [
        { feature: 'u.short', pkey: 1, value: 'short', observedAt: 1, ttlMs: 100 },
        { feature: 'u.kept', pkey: 1, value: 'kept', observedAt: 1 },
        { feature: 'u.renewed', pkey: 1, value: 'first', observedAt: 1, ttlMs: 100 },
        { feature: 'u.long', pkey: 1, value: 'long', observedAt: 1, ttlMs: 60_000 },
      ]);
      await store.set(env, [{ feature: 'u.renewed', pkey: 1, value: 'second', observedAt: 2 }]);
      const keys = [k('u.short', 1), k('u.kept', 1), k('u.renewed', 1), k('u.long', 1)];
      expect(await store.get(env, keys)).toEqual([
        { value: 'short', observedAt: 1 },
        { value: 'kept', observedAt: 1 },
        { value: 'second', observedAt: 2 },
        { value: 'long', observedAt: 1 },
      ]);
      await advanceTime(250);
      expect(await store.get(env, keys)).toEqual([
        null,
        { value: 'kept', observedAt: 1 },
        { value: 'second', observedAt: 2 },
        { value: 'long', observedAt: 1 },
      ]);
    });

    it('stores a backdated write once the newer value has expired', async () => {
      await store.set(env, [{ feature: 'u.e', pkey: 1, value: 'newer', observedAt: 500, ttlMs: 100 }]);
      await advanceTime(250);
      await store.set(env, [{ feature: 'u.e', pkey: 1, value: 'older', observedAt: 100 }]);
      expect(await store.get(env, [k('u.e', 1)])).toEqual([{ value: 'older', observedAt: 100 }]);
    });

    it('keeps environments apart, even when names contain the key separator', async () => {
      const other = `${env}-other`;
      await store.set(env, [{ feature: 'u.name', pkey: 1, value: 'mine', observedAt: 1 }]);
      expect(await store.get(other, [k('u.name', 1)])).toEqual([null]);

      await store.set(other, [{ feature: 'u.name', pkey: 1, value: 'theirs', observedAt: 1 }]);
      await store.delete(other, [k('u.name', 1)]);
      await store.dropFeatures(other, ['u.name']);
      expect(await store.get(env, [k('u.name', 1)])).toEqual([{ value: 'mine', observedAt: 1 }]);

      // `${env}:x` + `y` and `${env}` + `x:y` would collide under a naive `env:feature` join.
      await store.set(`${env}:x`, [{ feature: 'y', pkey: 'p', value: 'env-with-colon', observedAt: 1 }]);
      await store.set(env, [{ feature: 'x:y', pkey: 'p', value: 'feature-with-colon', observedAt: 1 }]);
      expect(await store.get(`${env}:x`, [k('y', 'p')])).toEqual([
        { value: 'env-with-colon', observedAt: 1 },
      ]);
      expect(await store.get(env, [k('x:y', 'p')])).toEqual([{ value: 'feature-with-colon', observedAt: 1 }]);
      await store.dropFeatures(`${env}:x`, ['y']);
      expect(await store.get(env, [k('x:y', 'p')])).toEqual([{ value: 'feature-with-colon', observedAt: 1 }]);
    });

    it('deletes the named keys only; missing keys are fine; a deleted key forgets its timestamp', async () => {
      await store.set(env, [
        { feature: 'u.name', pkey: 1, value: 'one', observedAt: 100 },
        { feature: 'u.name', pkey: 2, value: 'two', observedAt: 100 },
        { feature: 'u.age', pkey: 1, value: 1, observedAt: 100 },
      ]);
      await store.delete(env, [k('u.name', 1), k('u.never', 9)]);
      await store.delete(env, []);
      expect(await store.get(env, [k('u.name', 1), k('u.name', 2), k('u.age', 1)])).toEqual([
        null,
        { value: 'two', observedAt: 100 },
        { value: 1, observedAt: 100 },
      ]);
      await store.set(env, [{ feature: 'u.name', pkey: 1, value: 'older', observedAt: 5 }]);
      expect(await store.get(env, [k('u.name', 1)])).toEqual([{ value: 'older', observedAt: 5 }]);
    });

    it('drops only the named features, for every primary key', async () => {
      const entries: OnlineEntry[] = [];
      for (const feature of ['u.name', 'u.name_x', 'u.age', 'u.nam']) {
        for (let pkey = 0; pkey < 1_500; pkey += 1)
          entries.push({ feature, pkey, value: pkey, observedAt: 1 });
      }
      await store.set(env, entries);
      await store.dropFeatures(env, ['u.name', 'u.n*', 'u.nonexistent']);
      await store.dropFeatures(env, []);
      const probe = [0, 749, 1_499];
      const got = await store.get(
        env,
        ['u.name', 'u.name_x', 'u.age', 'u.nam'].flatMap((feature) => probe.map((pkey) => k(feature, pkey))),
      );
      expect(got).toEqual([
        null,
        null,
        null,
        ...[1, 2, 3].flatMap(() => probe.map((pkey) => ({ value: pkey, observedAt: 1 }))),
      ]);
      const all = await store.get(
        env,
        Array.from({ length: 1_500 }, (_, pkey) => k('u.name', pkey)),
      );
      expect(all.filter((value) => value !== null)).toEqual([]);
    });

    it('writes and reads 1,000 keys in one call', async () => {
      const entries = Array.from({ length: 1_000 }, (_, i) => ({
        feature: `f.${i % 10}`,
        pkey: `p${i}`,
        value: { i, label: `value ${i}` },
        observedAt: 10_000 + i,
      }));
      await store.set(env, entries);
      const keys = Array.from({ length: 1_200 }, (_, i) => k(`f.${i % 10}`, `p${i}`));
      const got = await store.get(env, keys);
      expect(got).toHaveLength(1_200);
      for (let i = 0; i < 1_200; i += 1) {
        expect(got[i]).toEqual(
          i < 1_000 ? { value: { i, label: `value ${i}` }, observedAt: 10_000 + i } : null,
        );
      }
    });

    it('applies a large call with repeated keys as its entries would apply one by one (oracle)', async () => {
      // A seeded generator, so a failure reproduces; the oracle applies the documented rule entry by entry.
      let seed = 42;
      const random = () => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
      };
      const pool = Array.from({ length: 8_000 }, (_, i) => k(`b.f${i % 7}`, `p${Math.floor(i / 7)}`));
      const oracle = new Map<string, { value: unknown; observedAt: number }>();
      const apply = (entries: OnlineEntry[]) => {
        for (const entry of entries) {
          const id = `${entry.feature} ${entry.pkey}`;
          const stored = oracle.get(id);
          if (stored && stored.observedAt > entry.observedAt) continue;
          oracle.set(id, { value: entry.value, observedAt: entry.observedAt });
        }
      };
      const draw = (count: number, label: string): OnlineEntry[] =>
        Array.from({ length: count }, (_, i) => {
          const key = pool[Math.floor(random() * pool.length)]!;
          return {
            ...key,
            value: { label, i },
            observedAt: Math.floor(random() * 50),
            ...(random() < 0.3 ? { ttlMs: 60_000 } : {}),
          };
        });
      const first = draw(6_000, 'first');
      const second = draw(12_000, 'second');
      // Both calls repeat keys (18,000 draws from 8,000 keys over 50 instants), across a backend's chunks.
      expect(new Set(second.map((e) => `${e.feature} ${e.pkey}`)).size).toBeLessThan(second.length);
      await store.set(env, first);
      apply(first);
      await store.set(env, second);
      apply(second);
      const got = await store.get(env, pool);
      const expected = pool.map((key) => oracle.get(`${key.feature} ${key.pkey}`) ?? null);
      expect(got.filter((value) => value !== null).length).toBe(oracle.size);
      expect(got).toEqual(expected);
    });

    it('rejects invalid input with SlateError of kind input, writing nothing', async () => {
      const isInputError = (error: unknown) => error instanceof SlateError && error.kind === 'input';
      const attempts: (() => Promise<unknown>)[] = [
        () => store.get('', [k('u.a', 1)]),
        () => store.get(env, [k('', 1)]),
        () => store.get(env, [k('u.a', Number.NaN)]),
        () => store.set(env, [{ feature: 'u.a', pkey: 1, value: 1, observedAt: Number.NaN }]),
        () => store.set(env, [{ feature: 'u.a', pkey: 1, value: 1, observedAt: 1, ttlMs: 0 }]),
        () => store.set(env, [{ feature: 'u.a', pkey: 1, value: 1, observedAt: 1, ttlMs: -5 }]),
        () => store.set(env, [{ feature: 'u.a', pkey: 1, value: 10n, observedAt: 1 }]),
        () =>
          store.set(env, [
            { feature: 'u.ok', pkey: 1, value: 'ok', observedAt: 1 },
            { feature: 'u.a', pkey: 1, value: 1, observedAt: Number.POSITIVE_INFINITY },
          ]),
        () => store.delete(env, [k('', 1)]),
        () => store.dropFeatures(env, ['']),
      ];
      for (const attempt of attempts) {
        const outcome = await attempt().then(
          () => 'resolved',
          (error: unknown) => (isInputError(error) ? 'input error' : error),
        );
        expect(outcome).toBe('input error');
      }
      expect(await store.get(env, [k('u.ok', 1), k('u.a', 1)])).toEqual([null, null]);
    });

    it('rejects with the abort reason when the signal is already aborted', async () => {
      const controller = new AbortController();
      const reason = new Error('caller gave up');
      controller.abort(reason);
      await expect(store.get(env, [k('u.a', 1)], controller.signal)).rejects.toBe(reason);
      await expect(
        store.set(env, [{ feature: 'u.a', pkey: 1, value: 1, observedAt: 1 }], controller.signal),
      ).rejects.toBe(reason);
      expect(await store.get(env, [k('u.a', 1)])).toEqual([null]);
    });
  });
}
