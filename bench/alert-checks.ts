/**
 * `npm run bench -- alert-checks`: how long the metadata plane takes to evaluate 1,000 alert checks (issue
 * 17, ADR 0022) on real PostgreSQL (`SLATE_TEST_POSTGRES_URL`, a fresh database). 1,000 charts, each a
 * trigger on one resolver's error rate over 5 minutes, over 1,000 resolvers with a minute of rollups in each
 * of the last 5 minutes (5,000 points). One scheduler pass enqueues the 1,000 checks on
 * `metric-check-trigger` (pg-boss), then the workers' path receives and evaluates them all (half fire and
 * open incidents, queuing deliveries). Baseline: the scheduler pass alone.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { createMetadataPlane } from '@slate/metadata-plane';
import { chart, collectGraph, features, float, int, online, series } from '@slate/sdk';
import pg from 'pg';
import { pino } from 'pino';
import { createMemoryObjectStore } from '../apps/metadata-plane/src/testing/memory-object-store.ts';
import { type BenchReport, machine } from './report.ts';

const CHECKS = Number(process.env.BENCH_CHECKS ?? 1_000);
const MINUTE = 60_000;

export async function run(): Promise<BenchReport> {
  const adminUrl = process.env.SLATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const database = `slate_bench_alerts_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(sql).finally(() => client.end());
  };
  await admin(`create database ${database}`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  let clock = Math.floor(Date.now() / MINUTE) * MINUTE + 10_000;
  const plane = await createMetadataPlane({
    mode: 'production',
    database: { type: 'postgres', url: url.toString() },
    objectStore: createMemoryObjectStore(),
    apiServer: 'http://mp.bench',
    registrationToken: 'registration-token-for-bench',
    seed: {
      teams: [{ id: 'acme', name: 'Acme' }],
      projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
      environments: [{ id: 'prod', name: 'Production', project_id: 'web', team_id: 'acme' }],
    },
    scheduler: { enabled: false },
    now: () => new Date(clock),
    logger: pino({ level: 'silent' }),
  });
  try {
    const Account = features('account', { id: int(), score: float() });
    const exports: Record<string, unknown> = { Account };
    for (let i = 0; i < CHECKS; i++) {
      const resolver = online({
        name: `r${i}`,
        inputs: { id: Account.id },
        outputs: { score: Account.score },
        environment: `e${i}`,
        fn: () => ({ score: 1 }),
      });
      exports[`r${i}`] = resolver;
      exports[`c${i}`] = chart({ name: `c${i}`, window: '5m' })
        .withSeries(series('resolver_error_rate', { name: 'errors', where: `r${i}` }))
        .withTrigger({ name: `t${i}`, series: 'errors', threshold: 0.5, severity: 'error', owner: 'team' });
    }
    const { artifact } = collectGraph(exports);
    const db = plane.services.db;
    await db
      .insertInto('deployments')
      .values({
        id: 'dep',
        environment_id: 'prod',
        status: 'ACTIVE',
        graph: JSON.stringify(artifact),
        bundle_key: 'k',
        source_hash: 'h',
        git: null,
        created_by: 'bench',
        dirty: null,
        diff_hash: null,
      })
      .execute();
    await db
      .updateTable('environments')
      .set({ active_deployment_id: 'dep' })
      .where('id', '=', 'prod')
      .execute();
    const rows = [];
    for (let i = 0; i < CHECKS; i++)
      for (let m = 1; m <= 5; m++)
        rows.push({
          environment_id: 'prod',
          resolution: '1m' as const,
          kind: 'resolver',
          name: `r${i}`,
          bucket: new Date(Math.floor(clock / MINUTE) * MINUTE - m * MINUTE + MINUTE),
          count: 10,
          errors: i % 2 === 0 ? 9 : 1,
          nulls: 0,
          hits: 0,
          misses: 0,
          sum: 0.1,
          min: 0.01,
          max: 0.01,
          hist: null,
        });
    for (let i = 0; i < rows.length; i += 1_000)
      await db
        .insertInto('metric_points')
        .values(rows.slice(i, i + 1_000))
        .execute();
    const monitoring = plane.services.monitoring;
    await monitoring.schedule(); // first seen: starts now
    clock += MINUTE;
    const load = loadavg()[0]!;
    const t0 = performance.now();
    const fired = await monitoring.schedule();
    const t1 = performance.now();
    const outcomes = await monitoring.drain();
    const t2 = performance.now();
    const opened = outcomes.reduce((n, o) => n + (o.status === 'evaluated' ? o.changes.opened.length : 0), 0);
    if (fired.length !== CHECKS || outcomes.length !== CHECKS || opened !== CHECKS / 2)
      throw new Error(
        `expected ${CHECKS} checks and ${CHECKS / 2} incidents, got ${fired.length}/${outcomes.length}/${opened}`,
      );
    return {
      name: 'alert-checks',
      title: 'Alert checks: evaluating 1,000 checks',
      figures: [
        {
          name: `enqueue + evaluate ${CHECKS} checks`,
          value: (t2 - t0) / 1000,
          unit: 's',
          baseline: (t1 - t0) / 1000,
          note: 'baseline: the scheduler pass alone (enqueue on metric-check-trigger)',
        },
        {
          name: 'evaluate, per check',
          value: (t2 - t1) / CHECKS,
          unit: 'ms',
          note: `${opened} incidents opened`,
        },
      ],
      notes: `Real PostgreSQL, one metadata plane, evaluation sequential in \`drain()\` (the queue workers run 2 at a time per replica). ${machine.cores} cores shared with other work: load average ${load.toFixed(1)} at the start.`,
    };
  } finally {
    await plane.close();
    await admin(`drop database if exists ${database} with (force)`);
  }
}
