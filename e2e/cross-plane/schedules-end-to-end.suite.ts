import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDataPlane, type DataPlane } from '@slate/data-plane';
import { collectGraph } from '@slate/sdk';
import { createLogBus, createMemoryOnlineStore, createParquetOfflineStore } from '@slate/stores';
import { freePort } from '@slate/testing';
import { build } from 'esbuild';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseFactory } from '../../apps/metadata-plane/src/metadata-plane.suite.ts';
import { createMetadataPlane, type MetadataPlane } from '../../apps/metadata-plane/src/metadata-plane.ts';
import { createMemoryObjectStore } from '../../apps/metadata-plane/src/testing/memory-object-store.ts';
import { eventually } from '../../apps/metadata-plane/src/testing/plane-harness.ts';
import * as repo from './fixtures/schedule-repo.ts';

const REGISTRATION = 'registration-token-for-tests';
const HOUR = 3_600_000;

/**
 * Both planes, listening, with background persistence: the metadata plane's scheduler (injected clock) fires
 * a cron resolver and a scheduled query; the data plane leases the triggers over HTTP, runs them, and the
 * values are then served online and found offline.
 */
export function runScheduledRunsSuite(label: string, factory: DatabaseFactory): void {
  describe(`scheduled runs end to end (${label})`, () => {
    let plane: MetadataPlane;
    let dataPlane: DataPlane;
    let api: string;
    let engine: string;
    let stateDir: string;
    let token: string;
    // The metadata plane's clock; the data plane keeps real time (the values it writes stay fresh online).
    let clock = Math.floor(Date.now() / (6 * HOUR)) * 6 * HOUR + 10 * 60_000;
    const objectStore = createMemoryObjectStore();
    const onlineStore = createMemoryOnlineStore();
    let offlineStore: ReturnType<typeof createParquetOfflineStore>;
    let bus: ReturnType<typeof createLogBus>;

    const request = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${api}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };
    /** The schedule's fire at `due`, once its job reported `status`. */
    const fired = (kind: string, name: string, due: number, status: string) =>
      eventually(async () => {
        const res = await request('GET', `/v1/environments/dev/schedules/${kind}/${name}/fires`);
        const fire = (res.body.items as Record<string, unknown>[] | undefined)?.find(
          (f) => f.due_at === new Date(due).toISOString(),
        );
        return fire?.delivery === 'accepted' && fire.status === status ? fire : undefined;
      }, 30_000);

    beforeAll(async () => {
      const mpPort = await freePort();
      const dpPort = await freePort();
      api = `http://127.0.0.1:${mpPort}`;
      engine = `http://127.0.0.1:${dpPort}`;
      stateDir = await mkdtemp(join(tmpdir(), 'slate-scheduled-runs-'));
      bus = createLogBus({ root: join(stateDir, 'bus'), sync: false });
      offlineStore = createParquetOfflineStore({
        objectStore,
        stagingDir: join(stateDir, 'offline-staging'),
      });
      for (const store of [onlineStore, bus, offlineStore]) await store.init();
      plane = await createMetadataPlane({
        mode: 'production',
        database: await factory.create(),
        objectStore,
        apiServer: api,
        registrationToken: REGISTRATION,
        logger: pino({ level: 'silent' }),
        now: () => new Date(clock),
        scheduler: { enabled: false },
        seed: {
          teams: [{ id: 'acme', name: 'Acme' }],
          projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
          environments: [{ id: 'dev', name: 'Development', project_id: 'web', team_id: 'acme' }],
        },
      });
      await plane.listen({ port: mpPort });
      dataPlane = createDataPlane({
        name: 'east',
        publicUrl: engine,
        metadataPlaneUrl: api,
        registrationToken: REGISTRATION,
        objectStore,
        onlineStore,
        stateDir,
        workers: 1,
        logger: pino({ level: 'silent' }),
        offline: { bus, offlineStore },
      });
      await dataPlane.start({ port: dpPort });
      await dataPlane.ready();
      const created = await plane.services.createServiceToken({
        environmentId: 'dev',
        name: 'scheduler',
        permissions: ['deploy.create', 'deploy.read', 'query.online', 'cron.read'],
      });
      const exchanged = await fetch(`${api}/v1/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          client_id: created.clientId,
          client_secret: created.clientSecret,
          grant_type: 'client_credentials',
        }),
      });
      token = ((await exchanged.json()) as { access_token: string }).access_token;
      const bundle = await build({
        entryPoints: [new URL('./fixtures/schedule-repo.ts', import.meta.url).pathname],
        bundle: true,
        platform: 'node',
        format: 'esm',
        write: false,
      });
      const bytes = Buffer.from(bundle.outputFiles[0]!.contents);
      const deployed = await request('POST', '/v1/deployments', {
        graph: collectGraph(repo).artifact,
        bundle_base64: bytes.toString('base64'),
        source_hash: createHash('sha256').update(bytes).digest('hex'),
      });
      expect(deployed.status).toBe(201);
      await eventually(async () => {
        const env = await plane.services.db
          .selectFrom('environments')
          .select('active_deployment_id')
          .where('id', '=', 'dev')
          .executeTakeFirst();
        return env?.active_deployment_id === deployed.body.id ? true : undefined;
      }, 30_000);
    }, 90_000);
    afterAll(async () => {
      await dataPlane?.close();
      await plane?.close();
      for (const store of [offlineStore, bus, onlineStore]) await store?.close();
      await factory.cleanup();
      await rm(stateDir, { recursive: true, force: true });
    });

    it('fires a cron resolver on schedule; its values are then served online and found offline', async () => {
      expect(await plane.services.schedules.tick()).toEqual([]); // first sight: nothing replayed
      const due = Math.floor(clock / HOUR) * HOUR + HOUR;
      clock = due + 5_000;
      const fires = await plane.services.schedules.tick();
      expect(fires.map((f) => f.key)).toEqual([`cron:dev:all_shops:${new Date(due).toISOString()}`]);
      const fire = await fired('resolver', 'all_shops', due, 'SUCCEEDED');
      expect(fire.operation_id).toMatch(/^run_/);

      const expected = Object.fromEntries(repo.SHOPS.map((s) => [String(s.id), s.city]));
      const offline = await eventually(async () => {
        const values = Object.fromEntries(
          (await offlineStore.scan('dev', { features: ['shop.city'] })).map((o) => [o.pkey, o.value]),
        );
        return Object.keys(values).length === repo.SHOPS.length ? values : undefined;
      }, 30_000);
      expect(offline).toEqual(expected);
      // Online: the online resolver would answer 'unknown'; the real city comes from the values the run stored.
      const served = await eventually(async () => {
        const res = await fetch(`${engine}/v1/query/online`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: { 'shop.id': 2 }, outputs: ['shop.city'] }),
        });
        const body = (await res.json()) as { data?: { field: string; value: unknown }[] };
        const city = body.data?.find((d) => d.field === 'shop.city')?.value;
        return city === expected['2'] ? city : undefined;
      }, 30_000);
      expect(served).toBe(expected['2']);
    });

    it('runs a scheduled query over the entities the offline store knows and writes its results online', async () => {
      const due = Math.floor(clock / (6 * HOUR)) * 6 * HOUR + 6 * HOUR;
      clock = due + 1_000;
      const fires = await plane.services.schedules.tick();
      expect(fires.map((f) => f.key).sort()).toEqual(
        [
          `cron:dev:all_shops:${new Date(due).toISOString()}`,
          `scheduled-query:dev:shop_labels:${new Date(due).toISOString()}`,
        ].sort(),
      );
      const fire = await fired('query', 'shop_labels', due, 'SUCCEEDED');
      expect(fire.operation_id).toMatch(/^[0-9a-f-]{36}$/);
      const labels = await eventually(async () => {
        const got = await onlineStore.get(
          'dev',
          repo.SHOPS.map((s) => ({ feature: 'shop.label', pkey: String(s.id) })),
        );
        return got.every((v) => v !== null) ? got.map((v) => v?.value) : undefined;
      }, 30_000);
      expect(labels).toEqual(repo.SHOPS.map((s) => `shop-${s.id}`));
    });
  });
}
