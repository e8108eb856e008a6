import { registerDataPlane } from '@slate/data-plane';
import { freePort } from '@slate/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseFactory } from '../../apps/metadata-plane/src/metadata-plane.suite.ts';
import { createMetadataPlane, type MetadataPlane } from '../../apps/metadata-plane/src/metadata-plane.ts';
import { createMemoryObjectStore } from '../../apps/metadata-plane/src/testing/memory-object-store.ts';
import { eventually, harness } from '../../apps/metadata-plane/src/testing/plane-harness.ts';

/** Usage metering: data planes report counters, stored per hour per environment, read back for charts. */
export function runUsageSuite(label: string, factory: DatabaseFactory): void {
  describe(`usage metering (${label})`, () => {
    let plane: MetadataPlane;
    const { call, serviceToken } = harness(() => plane);
    let dp: { token: string; data_plane_id: string };
    let other: { token: string };

    beforeAll(async () => {
      plane = await createMetadataPlane({
        mode: 'production',
        database: await factory.create(),
        objectStore: createMemoryObjectStore(),
        apiServer: 'http://mp.test',
        registrationToken: 'registration-token-for-tests',
        seed: {
          teams: [{ id: 'acme', name: 'Acme' }],
          projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
          environments: [
            { id: 'dev', name: 'Development', project_id: 'web', team_id: 'acme' },
            { id: 'prod', name: 'Production', project_id: 'web', team_id: 'acme' },
          ],
        },
        logger: pino({ level: 'silent' }),
      });
      const registered = await call(
        'POST',
        '/v1/data-planes/register',
        { token: 'registration-token-for-tests' },
        {
          name: 'east',
          url: 'http://east.test',
        },
      );
      dp = registered.body as typeof dp;
      const second = await call(
        'POST',
        '/v1/data-planes/register',
        { token: 'registration-token-for-tests' },
        {
          name: 'west',
          url: 'http://west.test',
        },
      );
      other = second.body as typeof other;
    });
    afterAll(async () => {
      await plane?.close();
      await factory.cleanup();
    });

    const report = (token: string, id: string, entries: unknown[]) =>
      call('POST', '/v1/data-plane/usage', { token }, { report_id: id, entries });

    it('adds reports into hourly buckets, counts a retried report once, and ignores foreign environments', async () => {
      const entries = [
        { environment_id: 'dev', at: '2026-03-01T10:05:00Z', queries: 10, rows: 100, compute_seconds: 1.5 },
        { environment_id: 'dev', at: '2026-03-01T10:59:59.999Z', queries: 5, rows: 7, compute_seconds: 0.25 },
        { environment_id: 'dev', at: '2026-03-01T11:00:00Z', queries: 1, rows: 1, compute_seconds: 0.125 },
        { environment_id: 'prod', at: '2026-03-01T10:30:00+02:00', queries: 2, rows: 2, compute_seconds: 2 },
      ];
      const first = await report(dp.token, 'report-0001', entries);
      expect(first.body).toEqual({ duplicate: false, recorded: 4, ignored: [] });
      const retry = await report(dp.token, 'report-0001', entries);
      expect(retry.body).toEqual({ duplicate: true, recorded: 0, ignored: [] });
      const foreign = await report(other.token, 'report-west-1', [
        { environment_id: 'dev', at: '2026-03-01T10:00:00Z', queries: 1000, rows: 0, compute_seconds: 0 },
      ]);
      expect(foreign.body).toEqual({ duplicate: false, recorded: 0, ignored: ['dev'] });
      await report(dp.token, 'report-0002', [
        { environment_id: 'dev', at: '2026-03-01T10:20:00Z', queries: 3, rows: 0, compute_seconds: 0.125 },
      ]);

      const reader = await serviceToken('dev', ['deploy.read']);
      const billing = await serviceToken('dev', ['billing.read']);
      const url = '/v1/environments/dev/usage?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z';
      expect((await call('GET', url, reader)).status).toBe(403);
      const usage = await call('GET', url, billing);
      expect(usage.status).toBe(200);
      expect(usage.body).toEqual({
        environment_id: 'dev',
        from: '2026-03-01T00:00:00.000Z',
        to: '2026-03-02T00:00:00.000Z',
        hours: [
          { hour: '2026-03-01T10:00:00.000Z', queries: 18, rows: 107, compute_seconds: 1.875 },
          { hour: '2026-03-01T11:00:00.000Z', queries: 1, rows: 1, compute_seconds: 0.125 },
        ],
        totals: { queries: 19, rows: 108, compute_seconds: 2 },
      });
      // prod's entry was at 08:30 UTC.
      const prodToken = await serviceToken('prod', ['billing.read']);
      const prod = await call(
        'GET',
        '/v1/environments/prod/usage?from=2026-03-01T08:00:00Z&to=2026-03-01T09:00:00Z',
        prodToken,
      );
      expect(prod.body.hours).toEqual([
        { hour: '2026-03-01T08:00:00.000Z', queries: 2, rows: 2, compute_seconds: 2 },
      ]);
      // [from, to) excludes the 11:00 hour when to = 11:00.
      const narrow = await call(
        'GET',
        '/v1/environments/dev/usage?from=2026-03-01T10:00:00Z&to=2026-03-01T11:00:00Z',
        billing,
      );
      expect(narrow.body.totals).toEqual({ queries: 18, rows: 107, compute_seconds: 1.875 });
      const backwards = await call(
        'GET',
        '/v1/environments/dev/usage?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z',
        billing,
      );
      expect(backwards.body.code).toBe('INVALID_RANGE');
      const bad = await report(dp.token, 'report-0003', [
        { environment_id: 'dev', at: 'yesterday', queries: -1, rows: 0, compute_seconds: 0 },
      ]);
      expect(bad.status).toBe(400);
    });

    it("takes the data plane client's usage reports and heartbeats over HTTP", async () => {
      const port = await freePort();
      await plane.listen({ port });
      const client = await registerDataPlane({
        metadataPlaneUrl: `http://127.0.0.1:${port}`,
        registrationToken: 'registration-token-for-tests',
        name: 'north',
        publicUrl: 'http://north.test',
      });
      const creator = await serviceToken('dev', ['environment.create']);
      const env = await call('POST', '/v1/environments', creator, {
        id: 'north1',
        name: 'North',
        project_id: 'web',
        data_plane_id: client.id,
      });
      expect(env.body.data_plane_id).toBe(client.id);
      const usage = {
        report_id: 'north-report-1',
        entries: [
          { environment_id: 'north1', at: '2026-04-01T00:30:00Z', queries: 4, rows: 9, compute_seconds: 0.5 },
        ],
      };
      await client.reportUsage!(usage);
      await client.reportUsage!(usage); // a retry after a lost answer
      const read = await call(
        'GET',
        '/v1/environments/north1/usage?from=2026-04-01T00:00:00Z&to=2026-04-02T00:00:00Z',
        await serviceToken('north1', ['billing.read']),
      );
      expect(read.body.totals).toEqual({ queries: 4, rows: 9, compute_seconds: 0.5 });
      await client.heartbeat!();
      const beat = await eventually(async () => {
        const row = await plane.services.db
          .selectFrom('data_planes')
          .select('last_heartbeat_at')
          .where('id', '=', client.id)
          .executeTakeFirstOrThrow();
        return row.last_heartbeat_at ?? undefined;
      });
      expect(Date.now() - beat.getTime()).toBeLessThan(60_000);
    });
  });
}
