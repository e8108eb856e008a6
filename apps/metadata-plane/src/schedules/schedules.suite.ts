import { createHash } from 'node:crypto';
import { collectGraph, dataFrame, features, int, offline, scheduledQuery, string } from '@slate/sdk';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseFactory } from '../metadata-plane.suite.ts';
import type { MetadataPlane } from '../metadata-plane.ts';
import { createMetadataPlane } from '../metadata-plane.ts';
import { createMemoryObjectStore } from '../testing/memory-object-store.ts';
import { eventually, harness } from '../testing/plane-harness.ts';
import { createScheduleScheduler, type ScheduleFire } from './schedule-scheduler.ts';

const HOUR = 3_600_000;
const Shop = features('shop', { id: int(), city: string() });
const all_shops = offline({
  inputs: {},
  outputs: { rows: dataFrame(Shop, 'id', 'city') },
  total: true,
  cron: '1h',
  fn: () => ({ rows: [] }),
});
const all_shops_often = offline({
  inputs: {},
  outputs: { rows: dataFrame(Shop, 'id', 'city') },
  total: true,
  cron: '5m',
  fn: () => ({ rows: [] }),
});
const shop_cities = scheduledQuery({ name: 'shop_cities', schedule: '0 */6 * * *', output: [Shop.city] });

/**
 * The metadata plane's scheduler with an injected clock, on PGlite and PostgreSQL: due times fire once
 * across scheduler instances, missed runs are capped, pause/resume, and data planes lease and settle the
 * triggers over HTTP.
 */
export function runSchedulesSuite(label: string, factory: DatabaseFactory): void {
  describe(`metadata-plane schedules (${label})`, () => {
    let plane: MetadataPlane;
    // Yesterday 10:20 UTC: sessions and tokens stay valid at every time the tests move the clock to.
    const day = Math.floor(Date.now() / (24 * HOUR)) * 24 * HOUR - 24 * HOUR;
    const T0 = day + 10 * HOUR + 20 * 60_000;
    let clock = T0;
    const at = (hours: number, minutes = 0) => new Date(day + hours * HOUR + minutes * 60_000);
    const iso = (hours: number) => at(hours).toISOString();
    const api = harness(() => plane);
    let dataPlane: { data_plane_id: string; token: string };
    let developer: { cookie: string };
    let viewer: { cookie: string };
    let deployer: { token: string };
    /** Deploys a graph and reports it loaded, so it becomes the environment's active deployment. */
    const deploy = async (module: Record<string, unknown>, text: string) => {
      const bytes = Buffer.from(text);
      const deployed = await api.call('POST', '/v1/deployments', deployer, {
        graph: collectGraph(module).artifact,
        bundle_base64: bytes.toString('base64'),
        source_hash: createHash('sha256').update(bytes).digest('hex'),
      });
      expect(deployed.status).toBe(201);
      const id = deployed.body.id as string;
      const reported = await api.call('POST', '/v1/data-plane/status', dataPlane, {
        environments: [{ id: 'dev', active_deployment_id: id, deployment_id: id, state: 'loaded' }],
      });
      expect(reported.status).toBe(200);
    };

    beforeAll(async () => {
      plane = await createMetadataPlane({
        mode: 'embedded',
        database: await factory.create(),
        objectStore: createMemoryObjectStore(),
        apiServer: 'http://mp.test:4000',
        registrationToken: 'registration-token-for-tests',
        logger: pino({ level: 'silent' }),
        now: () => new Date(clock),
        scheduler: { enabled: false },
        seed: {
          teams: [{ id: 'acme', name: 'Acme' }],
          projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
          environments: [
            { id: 'dev', name: 'Development', project_id: 'web', team_id: 'acme' },
            { id: 'idle', name: 'Idle', project_id: 'web', team_id: 'acme' },
          ],
          team_invites: [
            { id: 'i1', team: 'acme', email: 'dan@acme.test', role: 'developer' },
            { id: 'i2', team: 'acme', email: 'vera@acme.test', role: 'viewer' },
          ],
        },
      });
      dataPlane = await plane.services.registerDataPlane({ name: 'east', url: 'http://east.test' });
      developer = await api.login('dan@acme.test');
      viewer = await api.login('vera@acme.test');
      deployer = await api.serviceToken('dev', ['deploy.create']);
      await deploy({ Shop, all_shops, shop_cities }, 'export {};');
    }, 60_000);
    afterAll(async () => {
      await plane?.close();
      await factory.cleanup();
    });

    const replica = () =>
      createScheduleScheduler({
        db: plane.services.db,
        resolverQueue: plane.services.queues['scheduled-resolver-trigger'],
        queryQueue: plane.services.queues['scheduled-query-trigger'],
        clock: () => new Date(clock),
      });
    const deliveries = async () =>
      (
        await plane.services.db
          .selectFrom('schedule_deliveries')
          .select(['key', 'kind', 'name', 'due_at', 'status'])
          .orderBy('key')
          .execute()
      ).map((d) => d.key);
    const sentKeys = (fires: ScheduleFire[]) =>
      fires
        .filter((f) => f.sent)
        .map((f) => f.key)
        .sort();
    const schedules = async (caller = developer) => {
      const res = await api.call('GET', '/v1/environments/dev/schedules', caller);
      expect(res.status).toBe(200);
      return res.body.items as Record<string, unknown>[];
    };
    const resolverKey = (hours: number) => `cron:dev:all_shops:${iso(hours)}`;
    const queryKey = (hours: number) => `scheduled-query:dev:shop_cities:${iso(hours)}`;

    it('lists the active schedules with their next fire time; nothing from before is replayed', async () => {
      const a = replica();
      expect(await a.tick()).toEqual([]);
      expect(await schedules(viewer)).toEqual([
        expect.objectContaining({ kind: 'query', name: 'shop_cities', state: 'PLAY', next_fire_at: iso(12) }),
        expect.objectContaining({
          kind: 'resolver',
          name: 'all_shops',
          state: 'PLAY',
          next_fire_at: iso(11),
        }),
      ]);
      clock = at(10, 59).getTime();
      expect(await a.tick()).toEqual([]);
    });

    it('fires each due time exactly once across two scheduler instances on the same database', async () => {
      clock = at(11).getTime();
      const [a, b] = await Promise.all([replica().tick(), plane.services.schedules.tick()]);
      expect(sentKeys([...a, ...b])).toEqual([resolverKey(11)]);
      expect([...a, ...b].map((f) => f.key)).toEqual(expect.arrayContaining([resolverKey(11)]));
      // Both passes again at the same time: nothing new.
      const again = await Promise.all([replica().tick(), plane.services.schedules.tick()]);
      expect(again.flat()).toEqual([]);
      expect(
        await eventually(async () => ((await deliveries()).length === 1 ? deliveries() : undefined)),
      ).toEqual([resolverKey(11)]);
    });

    it('caps missed runs after downtime and resumes from the stored watermark after a restart', async () => {
      clock = at(15, 30).getTime(); // 12:00, 13:00, 14:00 and 15:00 were due for the resolver, 12:00 for the query
      const fired = await replica().tick();
      expect(sentKeys(fired)).toEqual([resolverKey(15), queryKey(12)].sort());
      clock = at(15, 40).getTime();
      expect(await replica().tick()).toEqual([]); // a restarted process: state came from the database
      await eventually(async () => ((await deliveries()).length === 3 ? true : undefined));
      expect(await deliveries()).toEqual([resolverKey(11), resolverKey(15), queryKey(12)].sort());
    });

    it('pauses (nothing fires) and resumes without replaying the paused period; both audited, role-checked', async () => {
      const url = '/v1/environments/dev/schedules/resolver/all_shops';
      expect((await api.call('POST', `${url}/pause`, viewer)).status).toBe(403);
      const paused = await api.call('POST', `${url}/pause`, developer);
      expect(paused.status).toBe(200);
      expect(paused.body).toMatchObject({ state: 'PAUSE', next_fire_at: null });
      clock = at(18, 30).getTime();
      expect(sentKeys(await replica().tick())).toEqual([queryKey(18)]);
      const resumed = await api.call('POST', `${url}/resume`, developer);
      expect(resumed.body).toMatchObject({ state: 'PLAY', next_fire_at: iso(19) });
      expect(await replica().tick()).toEqual([]);
      clock = at(19).getTime();
      expect(sentKeys(await replica().tick())).toEqual([resolverKey(19)]);
      expect(
        (await api.call('POST', '/v1/environments/dev/schedules/resolver/nope/pause', developer)).status,
      ).toBe(404);
      // Audit entries are written once each response is sent: wait for the fourth.
      const audit = await eventually(async () => {
        const rows = await plane.services.db
          .selectFrom('audit_log')
          .select(['action', 'target', 'outcome'])
          .where('action', 'like', 'schedule.%')
          .execute();
        return rows.length === 4 ? rows : undefined;
      });
      expect(audit.map((a) => `${a.action} ${a.outcome} ${a.target}`).sort()).toEqual([
        'schedule.pause failure:403 dev', // refused before the handler: the target is the environment
        'schedule.pause failure:404 dev/resolver/nope',
        'schedule.pause success dev/resolver/all_shops',
        'schedule.resume success dev/resolver/all_shops',
      ]);
    });

    it('lets the serving data plane lease triggers (oldest due first) and settle them; refusals are retried', async () => {
      await eventually(async () => ((await deliveries()).length === 5 ? true : undefined));
      const other = await plane.services.registerDataPlane({ name: 'west', url: 'http://west.test' });
      const lease = async (who: { token: string }, body: Record<string, unknown> = { max: 10 }) => {
        const res = await api.call('POST', '/v1/data-plane/triggers/lease', who, body);
        expect(res.status).toBe(200);
        return res.body.items as {
          key: string;
          kind: string;
          body: Record<string, unknown>;
          attempt: number;
        }[];
      };
      expect(await lease(other)).toEqual([]); // it serves no environment (dev is east's)
      const leased = await lease(dataPlane);
      expect(leased.map((l) => l.key)).toEqual([
        resolverKey(11),
        queryKey(12),
        resolverKey(15),
        queryKey(18),
        resolverKey(19),
      ]);
      expect(leased[0]).toMatchObject({
        kind: 'resolver',
        attempt: 1,
        body: {
          resolver_fqn: 'all_shops',
          environment: 'dev',
          trigger: 'CRON',
          idempotency_key: resolverKey(11),
        },
      });
      expect(leased[1]?.body).toMatchObject({ query_name: 'shop_cities', due_at: iso(12) });
      expect(await lease(dataPlane)).toEqual([]); // all leased
      const acked = await api.call('POST', '/v1/data-plane/triggers/ack', dataPlane, {
        acks: [
          ...leased.slice(0, 4).map((l, i) => ({ key: l.key, operation_id: `op-${i}` })),
          { key: resolverKey(19), error: 'deployment not loaded yet' },
        ],
      });
      expect(acked.body).toEqual({ accepted: 4, retried: 1, dead: 0 });
      expect(await lease(dataPlane)).toEqual([]); // the refused one waits for its backoff
      clock += 3_000;
      expect(await lease(dataPlane)).toEqual([expect.objectContaining({ key: resolverKey(19), attempt: 2 })]);
      // An unleased key, or one leased by another data plane, changes nothing.
      const foreign = await api.call('POST', '/v1/data-plane/triggers/ack', other, {
        acks: [{ key: resolverKey(19) }],
      });
      expect(foreign.body).toEqual({ accepted: 0, retried: 0, dead: 0 });
      const fires = await api.call('GET', '/v1/environments/dev/schedules/resolver/all_shops/fires', viewer);
      expect(
        (fires.body.items as Record<string, unknown>[]).map((f) => [f.due_at, f.delivery, f.operation_id]),
      ).toEqual([
        [iso(19), 'pending', null],
        [iso(15), 'accepted', 'op-2'],
        [iso(11), 'accepted', 'op-0'],
      ]);
      await api.call('POST', '/v1/data-plane/triggers/ack', dataPlane, {
        acks: [{ key: resolverKey(19), operation_id: 'op-4' }],
      });
      const bad = await api.call('POST', '/v1/data-plane/triggers/lease', dataPlane, { max: 0 });
      expect(bad.status).toBe(400);
    });

    it('wakes a waiting lease when a trigger is delivered', async () => {
      const waiting = api.call('POST', '/v1/data-plane/triggers/lease', dataPlane, { max: 10, wait: 20 });
      clock = at(20).getTime();
      await replica().tick();
      const res = await waiting;
      expect((res.body.items as { key: string }[]).map((i) => i.key)).toEqual([resolverKey(20)]);
    });

    it('restarts a schedule whose crontab a redeploy changed from then, and stops one the redeploy dropped', async () => {
      await deploy({ Shop, all_shops: all_shops_often }, 'export const v = 2;');
      clock = at(20, 10).getTime();
      // 20:05 and 20:10 are due under the new crontab since the last fire, but the change starts from when it is seen.
      expect(await replica().tick()).toEqual([]);
      expect(await schedules()).toEqual([
        expect.objectContaining({
          kind: 'resolver',
          name: 'all_shops',
          schedule: '5m',
          next_fire_at: at(20, 15).toISOString(),
        }),
      ]);
      clock = at(24).getTime(); // the dropped query's 00:00 would be due too
      expect(sentKeys(await replica().tick())).toEqual([resolverKey(24)]);
    });
  });
}
