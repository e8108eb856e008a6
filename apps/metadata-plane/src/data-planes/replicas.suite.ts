import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseFactory } from '../metadata-plane.suite.ts';
import { createMetadataPlane, type MetadataPlane } from '../metadata-plane.ts';
import { createMemoryObjectStore } from '../testing/memory-object-store.ts';
import { eventually, harness } from '../testing/plane-harness.ts';

const REGISTRATION = 'registration-token-for-replica-tests';
// Two distinct raw X25519 public keys (any 32 bytes, base64url): the group key and a stranger's.
const GROUP_KEY = 'hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo';
const OTHER_KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';
const SEED = {
  teams: [{ id: 'acme', name: 'Acme' }],
  projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
  environments: [{ id: 'dev', name: 'Development', project_id: 'web', team_id: 'acme' }],
  team_invites: [{ id: 'i1', team: 'acme', email: 'owner@acme.test', role: 'owner' }],
};

interface Registered {
  data_plane_id: string;
  instance_id: string;
  token: string;
}

/**
 * A data plane as a group of instances: registration without lock-out, per-instance health, the group
 * key, and job leases held by exactly one instance at a time.
 */
export function runReplicasSuite(label: string, factory: DatabaseFactory): void {
  describe(`data-plane replicas (${label})`, () => {
    let plane: MetadataPlane;
    let clock = Date.parse('2026-03-01T00:00:00Z');
    const { call, login } = harness(() => plane);
    const register = async (instance: string, extra: Record<string, unknown> = {}) =>
      call(
        'POST',
        '/v1/data-planes/register',
        { token: REGISTRATION },
        {
          name: 'east',
          url: `http://${instance}.east.test:4001`,
          public_key: GROUP_KEY,
          instance_id: instance,
          ...extra,
        },
      );
    const pollStatus = async (token: string) =>
      (await call('GET', '/v1/data-plane/desired-state', { token })).status;
    const claim = async (token: string, key: string, ttl = 30) =>
      (await call('POST', '/v1/data-plane/leases/claim', { token }, { key, ttl_seconds: ttl })).body as {
        granted: boolean;
        holder: string;
        generation: number;
      };

    beforeAll(async () => {
      plane = await createMetadataPlane({
        mode: 'embedded',
        database: await factory.create(),
        objectStore: createMemoryObjectStore(),
        apiServer: 'http://mp.test:4000',
        registrationToken: REGISTRATION,
        seed: SEED,
        logger: pino({ level: 'silent' }),
        now: () => new Date(clock),
      });
    });
    afterAll(async () => {
      await plane?.close();
      await factory.cleanup();
    });

    it('registers three instances of one data plane; each keeps its own token, and re-registering one revokes only its own', async () => {
      const a = (await register('east-a', { roles: ['query'], version: '1.2.3' }))
        .body as unknown as Registered;
      const b = (await register('east-b', { roles: ['persistence'] })).body as unknown as Registered;
      const c = (await register('east-c')).body as unknown as Registered;
      expect(new Set([a.data_plane_id, b.data_plane_id, c.data_plane_id]).size).toBe(1);
      expect([a.instance_id, b.instance_id, c.instance_id]).toEqual(['east-a', 'east-b', 'east-c']);
      // Before instances, the third registration had revoked the first two tokens (both answered 401).
      expect(await Promise.all([a, b, c].map((r) => pollStatus(r.token)))).toEqual([200, 200, 200]);
      const b2 = (await register('east-b', { roles: ['persistence'] })).body as unknown as Registered;
      expect(await Promise.all([a, b, b2, c].map((r) => pollStatus(r.token)))).toEqual([200, 401, 200, 200]);
      const listed = await call('GET', '/v1/data-planes', await login('owner@acme.test'));
      expect(listed.status).toBe(200);
      const east = (listed.body.items as { name: string; instances: { instance_id: string }[] }[]).find(
        (p) => p.name === 'east',
      );
      expect(east?.instances.map((i) => i.instance_id)).toEqual(['east-a', 'east-b', 'east-c']);
    });

    it("shows each instance's own health: heartbeat, roles, version and the deployment it reports", async () => {
      const a = (await register('east-a', { roles: ['query'], version: '1.2.3' }))
        .body as unknown as Registered;
      const c = (await register('east-c')).body as unknown as Registered;
      const owner = await login('owner@acme.test');
      clock += 1_000;
      const beatAt = new Date(clock).toISOString();
      expect((await call('POST', '/v1/data-plane/heartbeat', { token: a.token })).status).toBe(202);
      expect(
        (
          await call(
            'POST',
            '/v1/data-plane/status',
            { token: c.token },
            { environments: [{ id: 'dev', active_deployment_id: null, deployment_id: null }] },
          )
        ).status,
      ).toBe(200);
      type View = {
        instance_id: string;
        roles: string[];
        version: string | null;
        healthy: boolean;
        last_heartbeat_at: string | null;
        deployments: Record<string, string | null>;
      };
      const instances = async () =>
        (
          (await call('GET', '/v1/data-planes', owner)).body.items as { name: string; instances: View[] }[]
        ).find((p) => p.name === 'east')?.instances ?? [];
      const seen = await eventually(async () => {
        const list = await instances();
        return list.every((i) => i.instance_id === 'east-b' || i.last_heartbeat_at === beatAt)
          ? list
          : undefined;
      });
      expect(seen.find((i) => i.instance_id === 'east-a')).toMatchObject({
        roles: ['query'],
        version: '1.2.3',
        healthy: true,
        deployments: {},
      });
      expect(seen.find((i) => i.instance_id === 'east-c')).toMatchObject({
        roles: ['query', 'persistence', 'streaming', 'jobs'],
        healthy: true,
        deployments: { dev: null },
      });
      // east-b never heart-beat: it is listed, not healthy.
      expect(seen.find((i) => i.instance_id === 'east-b')).toMatchObject({
        healthy: false,
        last_heartbeat_at: null,
      });
      clock += 61_000;
      expect((await instances()).map((i) => i.healthy)).toEqual([false, false, false]);
    });

    it('refuses an instance with another key while a peer with the group key is alive, and accepts it once none is', async () => {
      const a = (await register('east-a')).body as unknown as Registered;
      clock += 1_000;
      await call('POST', '/v1/data-plane/heartbeat', { token: a.token });
      const refused = await register('east-d', { public_key: OTHER_KEY });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'DATA_PLANE_KEY_MISMATCH' });
      expect(await pollStatus(a.token)).toBe(200);
      clock += 61_000; // every instance is quiet past the heartbeat timeout: the group was re-keyed
      const accepted = await register('east-d', { public_key: OTHER_KEY });
      expect(accepted.status).toBe(200);
    });

    it('grants a job lease to exactly one of three instances claiming at once, renews it for the holder only, and hands it over once it expires', async () => {
      const [a, b, c] = (
        await Promise.all(['east-a', 'east-b', 'east-c'].map((i) => register(i, { public_key: OTHER_KEY })))
      ).map((r) => r.body as unknown as Registered) as [Registered, Registered, Registered];
      const key = 'offline-query:dev/rev-1';
      const answers = await Promise.all([a, b, c].map((r) => claim(r.token, key)));
      expect(answers.filter((x) => x.granted)).toHaveLength(1);
      const holder = [a, b, c][answers.findIndex((x) => x.granted)]!;
      const others = [a, b, c].filter((r) => r !== holder);
      expect(answers.every((x) => x.holder === holder.instance_id && x.generation === 1)).toBe(true);
      clock += 20_000;
      expect(await claim(holder.token, key)).toMatchObject({ granted: true, generation: 1 }); // renewed to +30 s
      clock += 20_000; // 40 s after the first claim: the renewal still holds
      expect((await Promise.all(others.map((r) => claim(r.token, key)))).map((x) => x.granted)).toEqual([
        false,
        false,
      ]);
      // The holder dies (stops renewing): once the lease runs out, one other instance takes the job over.
      clock += 11_000;
      const takeOver = await Promise.all(others.map((r) => claim(r.token, key)));
      expect(takeOver.filter((x) => x.granted)).toHaveLength(1);
      expect(takeOver.every((x) => x.generation === 2)).toBe(true);
      expect(await claim(holder.token, key)).toMatchObject({ granted: false, generation: 2 });
      // Only the holder can release it.
      const release = async (r: Registered) =>
        (await call('POST', '/v1/data-plane/leases/release', { token: r.token }, { key })).body;
      expect(await release(holder)).toEqual({ released: false });
      const newHolder = others[takeOver.findIndex((x) => x.granted)]!;
      expect(await release(newHolder)).toEqual({ released: true });
      expect(await claim(holder.token, key)).toMatchObject({ granted: true, generation: 1 });
      // A lease that ran out a day ago is pruned by the next claim (of any job).
      const leases = () =>
        plane.services.db.selectFrom('data_plane_leases').select('key').where('key', '=', key).execute();
      clock += 31_000 + 24 * 60 * 60 * 1000;
      expect(await leases()).toHaveLength(1);
      await claim(holder.token, 'another-job');
      expect(await leases()).toHaveLength(0);
    });

    it('leases a scheduled trigger to one instance, which alone can settle it; another takes it once the lease runs out', async () => {
      const [a, b] = (
        await Promise.all(['east-a', 'east-b'].map((i) => register(i, { public_key: OTHER_KEY })))
      ).map((r) => r.body as unknown as Registered) as [Registered, Registered];
      const key = 'dev/resolver/nightly/2026-03-01T00:00:00.000Z';
      await plane.services.db
        .insertInto('schedule_deliveries')
        .values({
          key,
          environment_id: 'dev',
          kind: 'resolver',
          name: 'nightly',
          due_at: new Date(clock),
          body: JSON.stringify({
            idempotency_key: key,
            environment: 'dev',
            resolver_fqn: 'nightly',
            due_at: new Date(clock).toISOString(),
          }),
          status: 'pending',
          attempts: 0,
          created_at: new Date(clock),
        })
        .execute();
      const lease = async (r: Registered) =>
        (
          (await call('POST', '/v1/data-plane/triggers/lease', { token: r.token }, { max: 10 })).body
            .items as {
            key: string;
          }[]
        ).map((t) => t.key);
      const ack = async (r: Registered) =>
        (
          await call(
            'POST',
            '/v1/data-plane/triggers/ack',
            { token: r.token },
            { acks: [{ key, operation_id: `run-by-${r.instance_id}` }] },
          )
        ).body;
      const leased = await Promise.all([lease(a), lease(b)]);
      expect(leased.flat()).toEqual([key]);
      const [holder, other] = leased[0]!.length === 1 ? [a, b] : [b, a];
      expect(await ack(other)).toMatchObject({ accepted: 0 });
      // The holder dies before starting it: past the one-minute lease the other instance gets it, and settles it.
      clock += 61_000;
      expect(await lease(other)).toEqual([key]);
      expect(await ack(holder)).toMatchObject({ accepted: 0 });
      expect(await ack(other)).toMatchObject({ accepted: 1 });
      const row = await plane.services.db
        .selectFrom('schedule_deliveries')
        .select(['status', 'operation_id', 'attempts'])
        .where('key', '=', key)
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ status: 'accepted', operation_id: `run-by-${other.instance_id}`, attempts: 2 });
    });

    it('refuses a malformed instance id or role with a 400 naming the field', async () => {
      const badId = await register('east a');
      expect(badId.status).toBe(400);
      expect(badId.raw).toContain('instance_id');
      const badRole = await register('east-e', { roles: ['cron'] });
      expect(badRole.status).toBe(400);
      expect(badRole.raw).toContain('roles');
    });
  });
}
