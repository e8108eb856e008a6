import type { EngineResult, ResolverRuntime } from '@slate/engine';
import type { MetricReport } from '@slate/graph';
import { describe, expect, it } from 'vitest';
import type { DeploymentLoader } from '../deployments/deployment-loader.ts';
import { createMetricRollups } from './metric-rollups.ts';

const T0 = Date.parse('2026-03-01T10:00:00Z');

function column(fqn: string, values: unknown[], opts: { errors?: boolean[]; hits?: boolean[] } = {}) {
  return {
    fqn,
    kind: 'scalar' as const,
    values,
    observedAt: values.map(() => null),
    errors: values.map((_, i) =>
      opts.errors?.[i]
        ? { code: 'RESOLVER_FAILED' as const, category: 'FIELD' as const, message: 'x' }
        : null,
    ),
    cacheHits: values.map((_, i) => opts.hits?.[i] ?? false),
    resolver: null,
    primitiveType: null,
    version: 1,
  };
}

/** A loader whose engine answers with `result`: the engine is the code the rollups wrap, not under test. */
function loaderAnswering(result: () => EngineResult): DeploymentLoader {
  return (async () => ({ query: async () => result() })) as unknown as DeploymentLoader;
}

function result(columns: ReturnType<typeof column>[], errors = 0): EngineResult {
  return {
    rowCount: columns[0]?.values.length ?? 0,
    columns,
    errors: Array.from({ length: errors }, () => ({
      code: 'RESOLVER_FAILED' as const,
      category: 'FIELD' as const,
      message: 'x',
    })),
    queryHash: null,
    planCacheHit: true,
    explain: '',
    warnings: [],
  };
}

describe('metric rollups', () => {
  it('rolls queries and feature values up per minute and reports only finished minutes', async () => {
    let clock = T0 + 5_000;
    const reports: MetricReport[] = [];
    const rollups = createMetricRollups({ now: () => clock });
    rollups.start(async (r) => {
      reports.push(r);
      return undefined;
    }, 'instance-1');
    let answer = result([column('user.score', [1.5, null, 4], { hits: [true, false, true] })]);
    const load = rollups.wrapLoader(loaderAnswering(() => answer));
    const engine = await load({ id: 'dev' } as never, {} as never, {} as never);
    await engine.query({ inputs: {}, outputs: [], labels: { queryName: 'checkout' } });
    answer = result([column('user.score', [null, 2], { errors: [true, false] })], 1);
    await engine.query({ inputs: {}, outputs: [], labels: { queryName: 'checkout' } });
    await engine.query({ inputs: {}, outputs: [], kind: 'offline' });
    await rollups.flush();
    expect(reports).toEqual([]); // 10:00 is not over yet
    clock = T0 + 61_000;
    await rollups.flush();
    expect(reports).toHaveLength(1);
    const points = reports[0]!.points;
    expect(reports[0]!.source).toMatch(/^instance-1\//);
    const query = points.find((p) => p.kind === 'query')!;
    expect(query).toMatchObject({
      environment_id: 'dev',
      name: 'checkout',
      minute: '2026-03-01T10:00:00.000Z',
      count: 2,
      errors: 1,
      hits: 2,
      misses: 3,
    });
    expect(Object.values(query.hist!).reduce((a, b) => a + b, 0)).toBe(2);
    expect(points.find((p) => p.kind === 'feature')).toMatchObject({
      name: 'user.score',
      count: 5,
      errors: 1,
      nulls: 1,
      hits: 2,
      misses: 3,
      sum: 7.5,
      min: 1.5,
      max: 4,
      hist: null,
    });
    // Nothing new: nothing sent again.
    await rollups.flush();
    expect(reports).toHaveLength(1);
  });

  it('keeps a failed batch for the next flush, and drops the oldest points past the outbox bound', async () => {
    let clock = T0;
    let fail = true;
    const delivered: MetricReport[] = [];
    const rollups = createMetricRollups({ now: () => clock, maxBuffered: 3 });
    rollups.start(async (r) => {
      if (fail) throw new Error('metadata plane away');
      delivered.push(r);
      return undefined;
    }, 'instance-1');
    const runtime = rollups.instrumentRuntime(
      { call: async () => [{ ok: true, outputs: {} }], close: async () => {} } as unknown as ResolverRuntime,
      'dev',
    );
    for (let minute = 0; minute < 5; minute++) {
      clock = T0 + minute * 60_000;
      await runtime.call({ resolver: 'user.get_score' } as never, undefined);
    }
    clock = T0 + 5 * 60_000;
    await rollups.flush();
    // Five finished minutes, room for three: minutes 0 and 1 dropped.
    expect(rollups.stats()).toEqual({ buffered: 3, sent: 0, dropped: 2 });
    fail = false;
    await rollups.flush();
    expect(rollups.stats()).toEqual({ buffered: 0, sent: 3, dropped: 2 });
    expect(delivered.flatMap((r) => r.points.map((p) => p.minute))).toEqual([
      '2026-03-01T10:02:00.000Z',
      '2026-03-01T10:03:00.000Z',
      '2026-03-01T10:04:00.000Z',
    ]);
  });

  it('counts streams per batch for lag and closes the current minute on stop', async () => {
    const clock = T0;
    const delivered: MetricReport[] = [];
    const rollups = createMetricRollups({ now: () => clock });
    rollups.start(async (r) => {
      delivered.push(r);
      return undefined;
    }, 'i');
    rollups.observeStream('dev', 'txn.stream', 10, 2, 4);
    rollups.observeStream('dev', 'txn.stream', 0, 0, 0);
    rollups.observeOutcome('dev', 'run', 'user.nightly', false, 12);
    await rollups.stop();
    const points = delivered.flatMap((r) => r.points);
    expect(points.find((p) => p.kind === 'stream')).toMatchObject({
      count: 10,
      errors: 2,
      sum: 4,
      min: 0,
      max: 4,
    });
    expect(points.find((p) => p.kind === 'run')).toMatchObject({
      name: 'user.nightly',
      count: 1,
      errors: 1,
      sum: 12,
    });
  });
});
