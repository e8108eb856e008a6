import type { Engine, ResolverRuntime } from '@slate/engine';
import { describe, expect, it } from 'vitest';
import type { UsageReport } from '../control-plane/control-plane-client.ts';
import type { DeploymentLoader } from '../deployments/deployment-loader.ts';
import { createUsageMeter } from './usage-meter.ts';

const HOUR = 3_600_000;
const fakeEngine = (rows: number) =>
  ({
    query: async () => ({
      rowCount: rows,
      columns: [],
      errors: [],
      queryHash: null,
      planCacheHit: true,
      explain: '',
    }),
  }) as unknown as Engine;
const environment = (id: string) =>
  ({ id, name: id, project_id: 'p', team_id: 't', desired_deployment: null }) as never;

describe('usage meter', () => {
  it('counts queries and rows per environment and hour, and times resolver calls', async () => {
    let clock = 5 * HOUR + 10;
    const reports: UsageReport[] = [];
    const meter = createUsageMeter({ report: async (r) => void reports.push(r), now: () => clock });
    const load: DeploymentLoader = async () => fakeEngine(3);
    const wrapped = meter.wrapLoader(load);
    const dev = await wrapped(environment('dev'), {} as never);
    const prod = await wrapped(environment('prod'), {} as never);
    await dev.query({ inputs: {}, outputs: [] });
    await dev.query({ inputs: {}, outputs: [] });
    await prod.query({ inputs: {}, outputs: [] });
    clock += HOUR;
    await dev.query({ inputs: {}, outputs: [] });
    const slow: ResolverRuntime = {
      call: () => new Promise((resolve) => setTimeout(() => resolve([]), 30)),
      close: async () => {},
    };
    await meter.instrumentRuntime(slow, 'dev').call({ resolver: 'r', rows: [], context: {} as never });

    await meter.flush();
    expect(reports).toHaveLength(1);
    const byKey = Object.fromEntries(reports[0]!.entries.map((e) => [`${e.environment_id}@${e.at}`, e]));
    expect(byKey[`dev@${new Date(5 * HOUR).toISOString()}`]).toMatchObject({ queries: 2, rows: 6 });
    expect(byKey[`prod@${new Date(5 * HOUR).toISOString()}`]).toMatchObject({ queries: 1, rows: 3 });
    const later = byKey[`dev@${new Date(6 * HOUR).toISOString()}`]!;
    expect(later).toMatchObject({ queries: 1, rows: 3 });
    expect(later.compute_seconds).toBeGreaterThanOrEqual(0.025);
  });

  it('resends a report that failed with the same id, then moves on', async () => {
    const attempts: UsageReport[] = [];
    let fail = true;
    const meter = createUsageMeter({
      report: async (r) => {
        attempts.push(structuredClone(r));
        if (fail) throw new Error('metadata plane down');
      },
    });
    const engine = await meter.wrapLoader(async () => fakeEngine(1))(environment('dev'), {} as never);
    await engine.query({ inputs: {}, outputs: [] });
    await meter.flush();
    await engine.query({ inputs: {}, outputs: [] });
    fail = false;
    await meter.flush();
    await meter.flush();
    expect(attempts.map((a) => a.entries[0]!.queries)).toEqual([1, 1, 1]);
    expect(attempts[1]!.report_id).toBe(attempts[0]!.report_id);
    expect(attempts[2]!.report_id).not.toBe(attempts[0]!.report_id);
  });
});
