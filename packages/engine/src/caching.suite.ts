import { randomUUID } from 'node:crypto';
import { collectGraph, datetime, features, float, int, online, string } from '@slate/sdk';
import type { OnlineStore } from '@slate/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from './engine.ts';
import type { EngineQuery, EngineResult } from './query.ts';
import { createInProcessRuntime } from './runtime/in-process/in-process-runtime.ts';

const T = new Date('2026-03-01T12:00:00Z').getTime();
const at = (minutes: number) => new Date(T + minutes * 60_000);

const Acct = features('acct', {
  id: int(),
  balance: float().maxStaleness('1h'),
  live: float(),
  nickname: string().nullable().maxStaleness('1h').cache({ nulls: false }),
  nickname_kept: string().nullable().maxStaleness('1h'),
  tier: string().default('basic').maxStaleness('1h').cache({ defaults: false }),
});

const Reading = features('reading', { id: int(), value: float().maxStaleness('1h'), ts: datetime() });

/** The "upstream" the resolvers read, and how often each ran: tests change it between queries. */
interface World {
  balance: number;
  calls: Map<string, number>;
}

function buildGraph(world: World) {
  const ran = (name: string) => world.calls.set(name, (world.calls.get(name) ?? 0) + 1);
  const exports = {
    Acct,
    Reading,
    balance: online({
      inputs: { id: Acct.id },
      outputs: { balance: Acct.balance },
      fn: () => {
        ran('balance');
        return { balance: world.balance };
      },
    }),
    live: online({
      inputs: { balance: Acct.balance },
      outputs: { live: Acct.live },
      fn: ({ balance }) => {
        ran('live');
        return { live: balance * 2 };
      },
    }),
    nicknames: online({
      inputs: { id: Acct.id },
      outputs: { nickname: Acct.nickname, kept: Acct.nickname_kept },
      fn: () => {
        ran('nicknames');
        return { nickname: null, kept: null };
      },
    }),
    tier: online({
      inputs: { id: Acct.id },
      outputs: { tier: Acct.tier },
      fn: () => {
        ran('tier');
        return { tier: 'basic' };
      },
    }),
    reading: online({
      inputs: { id: Reading.id },
      outputs: { value: Reading.value, ts: Reading.ts },
      fn: () => {
        ran('reading');
        // The value was observed 50 minutes before the query.
        return { value: world.balance, ts: at(-50) };
      },
    }),
  };
  return collectGraph(exports);
}

/**
 * The engine's online-caching rules, run against one `OnlineStore`: every backend (memory, Redis, the LRU
 * tier) must give the same answers. `create` gives a fresh, initialised store; the suite closes it.
 */
export function runEngineCachingSuite(name: string, create: () => Promise<OnlineStore>): void {
  describe(`engine caching on ${name}`, () => {
    let store: OnlineStore;
    let reads = 0;
    beforeAll(async () => {
      const inner = await create();
      // Counts round trips; everything else goes to the real store.
      store = {
        ...inner,
        get: (environment, keys, signal) => {
          reads++;
          return inner.get(environment, keys, signal);
        },
      };
    });
    afterAll(async () => {
      await store.close();
    });

    /** A fresh engine in a fresh environment (so tests never see each other's values). */
    const setup = (environment = `env-${randomUUID()}`) => {
      const world: World = { balance: 100, calls: new Map() };
      const { artifact, functions } = buildGraph(world);
      const engine = createEngine({
        graph: artifact,
        runtime: createInProcessRuntime(functions),
        onlineStore: store,
        environment,
        deploymentId: 'd-cache',
      });
      const ask = (outputs: string[], minutes: number, extra: Partial<EngineQuery> = {}) =>
        engine.query({ inputs: { 'acct.id': [7] }, outputs, now: at(minutes), ...extra });
      return { world, engine, ask, calls: (resolver: string) => world.calls.get(resolver) ?? 0 };
    };
    const cell = (result: EngineResult, fqn = result.columns[0]!.fqn) => {
      const column = result.columns.find((c) => c.fqn === fqn)!;
      return {
        value: column.values[0],
        hit: column.cacheHits[0],
        observedAt: column.observedAt[0],
        error: column.errors[0],
      };
    };

    it('serves a value within max_staleness from the store without running its resolver', async () => {
      const { world, ask, calls } = setup();
      expect(cell(await ask(['acct.balance'], 0))).toMatchObject({ value: 100, hit: false });
      world.balance = 200;
      expect(cell(await ask(['acct.balance'], 30))).toEqual({
        value: 100,
        hit: true,
        observedAt: T,
        error: null,
      });
      expect(calls('balance')).toBe(1);
    });

    it('recomputes once max_staleness has passed, and writes the new value back', async () => {
      const { world, ask, calls } = setup();
      await ask(['acct.balance'], 0);
      world.balance = 200;
      expect(cell(await ask(['acct.balance'], 61))).toMatchObject({ value: 200, hit: false });
      world.balance = 300;
      expect(cell(await ask(['acct.balance'], 62))).toMatchObject({ value: 200, hit: true });
      expect(calls('balance')).toBe(2);
    });

    it('applies per-query staleness overrides, shorter or longer', async () => {
      const { world, ask } = setup();
      await ask(['acct.balance'], 0);
      world.balance = 200;
      const shorter = await ask(['acct.balance'], 30, { staleness: { 'acct.balance': '10m' } });
      expect(cell(shorter)).toMatchObject({ value: 200, hit: false });
      world.balance = 300;
      const longer = await ask(['acct.balance'], 180, { staleness: { 'acct.balance': '1d' } });
      expect(cell(longer)).toMatchObject({ value: 200, hit: true });
    });

    it('recomputes with a 0s staleness, and stores the fresh value for later queries', async () => {
      const { world, ask, calls } = setup();
      await ask(['acct.balance'], 0);
      world.balance = 250;
      expect(cell(await ask(['acct.balance'], 1, { staleness: { 'acct.balance': '0s' } }))).toMatchObject({
        value: 250,
        hit: false,
      });
      expect(cell(await ask(['acct.balance'], 2))).toMatchObject({
        value: 250,
        hit: true,
        observedAt: at(1).getTime(),
      });
      expect(calls('balance')).toBe(2);
    });

    it('caches nulls unless cache_nulls is off, and defaults unless cache_defaults is off', async () => {
      const { ask, calls } = setup();
      for (const minute of [0, 1, 2]) await ask(['acct.nickname', 'acct.nickname_kept', 'acct.tier'], minute);
      // nickname is never cached, so its resolver (which also yields nickname_kept) runs every time;
      // tier equals its default and is never cached either.
      expect(calls('nicknames')).toBe(3);
      expect(calls('tier')).toBe(3);
      const { ask: askKept, calls: callsKept } = setup();
      for (const minute of [0, 1, 2]) await askKept(['acct.nickname_kept'], minute);
      expect(callsKept('nicknames')).toBe(1);
    });

    it('never lets a backdated computation overwrite a newer value, nor serves a value from the future', async () => {
      const { world, ask } = setup();
      await ask(['acct.balance'], 0);
      world.balance = 999;
      // A query about an hour ago recomputes (the stored value is from its future) and writes a value
      // observed then, which must not replace the newer one.
      expect(cell(await ask(['acct.balance'], -60))).toMatchObject({ value: 999, hit: false });
      world.balance = 5;
      expect(cell(await ask(['acct.balance'], 1))).toMatchObject({ value: 100, hit: true, observedAt: T });
    });

    it('reads cached intermediates and still computes the uncached features that depend on them', async () => {
      const { ask, calls } = setup();
      await ask(['acct.live'], 0);
      const second = await ask(['acct.live'], 1);
      expect(cell(second)).toMatchObject({ value: 200, hit: false });
      expect(calls('balance')).toBe(1);
      expect(calls('live')).toBe(2);
    });

    it('reads every cached feature of a query in one round trip', async () => {
      const { ask } = setup();
      await ask(['acct.balance', 'acct.nickname_kept', 'acct.live'], 0);
      const before = reads;
      await ask(['acct.balance', 'acct.nickname_kept', 'acct.live'], 1);
      expect(reads - before).toBe(1);
    });

    it('keeps environments apart', async () => {
      const first = setup();
      const second = setup();
      await first.ask(['acct.balance'], 0);
      second.world.balance = 42;
      expect(cell(await second.ask(['acct.balance'], 1))).toMatchObject({ value: 42, hit: false });
    });

    it('dates values by the feature time a resolver returns', async () => {
      const { engine, world, calls } = setup();
      const read = (minutes: number) =>
        engine.query({ inputs: { 'reading.id': [1] }, outputs: ['reading.value'], now: at(minutes) });
      expect(cell(await read(0))).toMatchObject({ value: 100, hit: false, observedAt: at(-50).getTime() });
      world.balance = 7;
      // Observed at -50m, so at +5m it is 55 minutes old (fresh) and at +15m 65 minutes old (stale).
      expect(cell(await read(5))).toMatchObject({ value: 100, hit: true });
      expect(cell(await read(15))).toMatchObject({ value: 7, hit: false });
      expect(calls('reading')).toBe(2);
    });
  });
}
