import { bool, collectGraph, datetime, features, float, int, online, string } from '@slate/sdk';
import { createMemoryOnlineStore, type OnlineEntry, type OnlineStore } from '@slate/stores';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../engine.ts';
import type { EngineResult } from '../query.ts';
import { createInProcessRuntime } from '../runtime/in-process/in-process-runtime.ts';
import { cacheReadsOf } from './executor.ts';
import { singleRowPlanOf } from './single-row-plan.ts';

const NOW = new Date('2026-06-01T12:00:00Z').getTime();
const TYPES = ['int', 'float', 'string', 'bool', 'datetime'] as const;
type FieldType = (typeof TYPES)[number];

interface FieldCase {
  readonly type: FieldType;
  readonly staleness: 'infinity' | '1h' | '10m' | '0s' | undefined;
  /** A declared default (no resolver computes the feature then when `resolver` is -1). */
  readonly withDefault: boolean;
  /** Which resolver computes it; -1: none (a stored feature, or its default). */
  readonly resolver: number;
}

interface StoredCase {
  readonly field: number;
  /** Minutes before the query (negative: after it). */
  readonly ageMinutes: number;
  /** Store a value of another type than the feature's (a foreign writer): coercion decides. */
  readonly foreign: boolean;
}

interface Case {
  readonly fields: readonly FieldCase[];
  readonly resolvers: number;
  readonly stored: readonly StoredCase[];
  readonly outputs: readonly number[];
  readonly askId: boolean;
  /** One row per input (a bulk query when several). */
  readonly inputs: readonly unknown[];
  /** Entity ids (1–5) whose stored values are absent, so rows of one query differ in freshness. */
  readonly absentIds: readonly number[];
}

const builder = (type: FieldType) =>
  ({ int: int(), float: float(), string: string(), bool: bool(), datetime: datetime() })[type];

const computedValue = (type: FieldType, id: number, n: number): unknown =>
  ({
    int: id * 10 + n,
    float: id * 0.5 + n,
    string: `s${id}-${n}`,
    bool: (id + n) % 2 === 0,
    datetime: new Date(NOW - (id + n) * 60_000),
  })[type];

const jsonValueOf = (type: FieldType, id: number, n: number, foreign: boolean): unknown => {
  if (foreign) return type === 'string' ? 42 : 'not-a-value';
  const value = computedValue(type, id, n);
  return value instanceof Date ? value.toISOString() : value;
};

/** A feature class `ent` of the case's fields, computed by the case's resolvers from the id. */
function graphOf(c: Case) {
  const fields: Record<string, ReturnType<typeof builder>> = {};
  c.fields.forEach((field, n) => {
    let f = builder(field.type);
    if (field.staleness) f = f.maxStaleness(field.staleness) as typeof f;
    if (field.withDefault) f = f.default(computedValue(field.type, 0, n) as never) as typeof f;
    fields[`f${n}`] = f;
  });
  const Ent = features('ent', { id: int(), ...fields });
  const refs = Ent as unknown as Record<string, never>;
  const exports: Record<string, unknown> = { Ent };
  for (let r = 0; r < c.resolvers; r++) {
    const mine = c.fields.flatMap((field, n) => (field.resolver === r ? [n] : []));
    if (mine.length === 0) continue;
    exports[`r${r}`] = online({
      inputs: { id: Ent.id },
      outputs: Object.fromEntries(mine.map((n) => [`o${n}`, refs[`f${n}`]!])),
      fn: ({ id }: { id: number }) =>
        Object.fromEntries(mine.map((n) => [`o${n}`, computedValue(c.fields[n]!.type, id, n)])),
    } as never);
  }
  return collectGraph(exports);
}

const caseArbitrary: fc.Arbitrary<Case> = fc
  .record({
    resolvers: fc.integer({ min: 1, max: 4 }),
    fields: fc.array(
      fc.record({
        type: fc.constantFrom(...TYPES),
        // Mostly cacheable, so that many plans compile; sometimes always computed.
        staleness: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom('infinity', '1h', '10m') },
          { weight: 1, arbitrary: fc.constantFrom('0s', undefined) },
        ),
        withDefault: fc.boolean(),
        resolver: fc.integer({ min: -1, max: 3 }),
      }),
      { minLength: 1, maxLength: 8 },
    ),
  })
  .chain(({ resolvers, fields }) =>
    fc.record({
      resolvers: fc.constant(resolvers),
      fields: fc.constant(
        fields.map((field) => ({ ...field, resolver: field.resolver >= resolvers ? -1 : field.resolver })),
      ),
      // Most fields have a stored value: mostly fresh for every staleness, sometimes stale, from after the
      // query, or of a foreign type.
      stored: fc
        .tuple(
          ...fields.map((_, field) =>
            fc.option(
              fc.record({
                field: fc.constant(field),
                ageMinutes: fc.oneof(
                  { weight: 8, arbitrary: fc.integer({ min: 0, max: 5 }) },
                  { weight: 1, arbitrary: fc.integer({ min: 11, max: 200 }) },
                  { weight: 1, arbitrary: fc.integer({ min: -5, max: -1 }) },
                ),
                foreign: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
              }),
              { freq: 8 },
            ),
          ),
        )
        .map((entries) => entries.filter((entry): entry is StoredCase => entry !== null)),
      outputs: fc.array(fc.integer({ min: 0, max: fields.length - 1 }), { minLength: 1, maxLength: 10 }),
      askId: fc.boolean(),
      inputs: fc.array(
        fc.oneof(
          { weight: 16, arbitrary: fc.integer({ min: 1, max: 5 }) },
          { weight: 1, arbitrary: fc.constantFrom('3', 'x', null, 2.5, true) },
        ),
        { minLength: 1, maxLength: 4 },
      ),
      absentIds: fc.oneof(
        { weight: 3, arbitrary: fc.constant([]) },
        { weight: 1, arbitrary: fc.uniqueArray(fc.integer({ min: 1, max: 5 }), { maxLength: 2 }) },
      ),
    }),
  );

/** A store holding the case's values for entity ids 1–5 (the same in every store it fills). */
async function storeOf(c: Case): Promise<OnlineStore> {
  const store = createMemoryOnlineStore();
  await store.init();
  const entries: OnlineEntry[] = [];
  for (let id = 1; id <= 5; id++)
    for (const s of c.stored) {
      if (c.absentIds.includes(id)) continue;
      entries.push({
        feature: `ent.f${s.field}`,
        pkey: id,
        value: jsonValueOf(c.fields[s.field]!.type, id, s.field, s.foreign),
        observedAt: NOW - s.ageMinutes * 60_000,
      });
    }
  await store.set('env', entries);
  return store;
}

async function answer(
  c: Case,
  singleRowPlans: boolean,
): Promise<{ result: EngineResult; reads: number; compiled: boolean }> {
  const { artifact, functions } = graphOf(c);
  const inner = await storeOf(c);
  let reads = 0;
  const store: OnlineStore = {
    ...inner,
    get: (environment, keys, signal) => {
      reads++;
      return inner.get(environment, keys, signal);
    },
  };
  const engine = createEngine({
    graph: artifact,
    runtime: createInProcessRuntime(functions),
    onlineStore: store,
    environment: 'env',
    deploymentId: 'd1',
    singleRowPlans,
  });
  const outputs = [...(c.askId ? ['ent.id'] : []), ...c.outputs.map((n) => `ent.f${n}`)];
  const result = await engine.query({ inputs: { 'ent.id': [...c.inputs] }, outputs, now: new Date(NOW) });
  const { plan } = engine.planner.plan({
    inputs: ['ent.id'],
    outputs,
    kind: 'online',
    tags: [],
    requiredResolverTags: [],
    staleness: {},
  });
  const compiled = singleRowPlanOf(plan, engine.planner.index, cacheReadsOf(plan)) !== undefined;
  return { result, reads, compiled };
}

describe('compiled primary-key plans (one row or many)', () => {
  it('answer exactly what the general executor answers, on random graphs, stored values and inputs', async () => {
    let compiledAnswers = 0;
    let compiledBulkAnswers = 0;
    await fc.assert(
      fc.asyncProperty(caseArbitrary, async (c) => {
        const general = await answer(c, false);
        const fast = await answer(c, true);
        expect(fast.result).toEqual(general.result);
        // Both read the store once per query (a miss hands the read over rather than reading again).
        expect(fast.reads).toBe(general.reads);
        // The compiled form answers when the plan compiles and every value it reads is fresh: no resolver
        // ran, so every step's output is a hit.
        const everyStepHit = fast.result.columns.every(
          (column) => column.cacheHits.every(Boolean) || column.resolver === null,
        );
        if (fast.compiled && everyStepHit && fast.result.errors.length === 0) {
          compiledAnswers++;
          if (c.inputs.length > 1) compiledBulkAnswers++;
        }
      }),
      { numRuns: 150 },
    );
    // The property must have exercised the compiled path, one-row and bulk, not only fallbacks.
    expect(compiledAnswers).toBeGreaterThan(20);
    expect(compiledBulkAnswers).toBeGreaterThan(10);
  }, 180_000);

  it('answers an all-hit query from the store without running a resolver, with the stored values', async () => {
    const c: Case = {
      resolvers: 2,
      fields: [
        { type: 'float', staleness: 'infinity', withDefault: false, resolver: 0 },
        { type: 'string', staleness: '1h', withDefault: false, resolver: 1 },
      ],
      stored: [
        { field: 0, ageMinutes: 1, foreign: false },
        { field: 1, ageMinutes: 2, foreign: false },
      ],
      outputs: [1, 0],
      askId: true,
      inputs: [3],
      absentIds: [],
    };
    const { result } = await answer(c, true);
    expect(result.columns.map((column) => [column.fqn, column.values[0], column.cacheHits[0]])).toEqual([
      ['ent.id', 3, false],
      ['ent.f1', 's3-1', true],
      ['ent.f0', 3 * 0.5 + 0, true],
    ]);
    expect(result.columns[1]!.observedAt[0]).toBe(NOW - 2 * 60_000);
    expect(result.errors).toEqual([]);
  });
});

describe('compiled primary-key plans over several rows', () => {
  it('answers each row with its own entity’s stored values, in row order, repeated keys included', async () => {
    const c: Case = {
      resolvers: 1,
      fields: [
        { type: 'int', staleness: 'infinity', withDefault: false, resolver: 0 },
        { type: 'float', staleness: '1h', withDefault: false, resolver: 0 },
      ],
      stored: [
        { field: 0, ageMinutes: 1, foreign: false },
        { field: 1, ageMinutes: 3, foreign: false },
      ],
      outputs: [1, 0],
      askId: true,
      inputs: [4, 2, 4],
      absentIds: [],
    };
    const { result, compiled } = await answer(c, true);
    expect(compiled).toBe(true);
    expect(result.rowCount).toBe(3);
    expect(result.columns.map((column) => [column.fqn, column.values])).toEqual([
      ['ent.id', [4, 2, 4]],
      ['ent.f1', [4 * 0.5 + 1, 2 * 0.5 + 1, 4 * 0.5 + 1]],
      ['ent.f0', [4 * 10 + 0, 2 * 10 + 0, 4 * 10 + 0]],
    ]);
    expect(result.columns[1]!.observedAt).toEqual([NOW - 3 * 60_000, NOW - 3 * 60_000, NOW - 3 * 60_000]);
    expect(result.columns[1]!.cacheHits).toEqual([true, true, true]);
  });
});
