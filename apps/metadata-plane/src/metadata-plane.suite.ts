import { createHash } from 'node:crypto';
import type { GraphArtifact } from '@slate/graph';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseConfig } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { createMetadataPlane, type MetadataPlane } from './metadata-plane.ts';
import { createMemoryObjectStore } from './testing/memory-object-store.ts';

/** Hands out a fresh, empty database per call; `cleanup` drops whatever it created. */
export interface DatabaseFactory {
  create(): Promise<DatabaseConfig>;
  cleanup(): Promise<void>;
}

const API = 'http://mp.test:4000';
const REGISTRATION = 'registration-token-for-tests';
const silent = pino({ level: 'silent' });

const SEED = {
  teams: [
    { id: 'acme', name: 'Acme' },
    { id: 'other', name: 'Other' },
  ],
  projects: [
    { id: 'web', name: 'Web', team_id: 'acme' },
    { id: 'op', name: 'Other project', team_id: 'other' },
  ],
  environments: [
    { id: 'dev', name: 'Development', project_id: 'web', team_id: 'acme' },
    { id: 'prod', name: 'Production', project_id: 'web', team_id: 'acme' },
    { id: 'oenv', name: 'Other env', project_id: 'op', team_id: 'other' },
  ],
  team_invites: [
    { id: 'seed_invite_1', team: 'acme', email: 'alice@acme.test', role: 'owner' },
    { id: 'inv2', team: 'acme', email: 'dan@acme.test', role: 'developer' },
    { id: 'inv3', team: 'acme', email: 'vera@acme.test', role: 'viewer' },
  ],
};

function graph(features = 1): GraphArtifact {
  return {
    version: 1,
    namespaces: [
      {
        name: 'user',
        primaryKey: 'user.id',
        tags: [],
        features: Array.from({ length: features }, (_, i) => ({
          fqn: i === 0 ? 'user.id' : `user.f${i}`,
          name: i === 0 ? 'id' : `f${i}`,
          namespace: 'user',
          kind: 'scalar' as const,
          dtype: { type: 'int' as const },
          primary: i === 0,
          tags: [],
          featureTime: false,
          nullable: false,
          version: 1,
          deprecated: false,
          maxStalenessS: 0,
          storeOnline: true,
          storeOffline: true,
          etlOfflineToOnline: false,
          cacheNulls: true,
          cacheDefaults: true,
          offlineTtlS: null,
        })),
      },
    ],
    resolvers: [],
    namedQueries: [],
  };
}

function bundle(text: string) {
  const bytes = Buffer.from(text);
  return {
    bundle_base64: bytes.toString('base64'),
    source_hash: createHash('sha256').update(bytes).digest('hex'),
    bytes,
  };
}

type Json = Record<string, unknown>;

/**
 * The metadata plane's behaviour over HTTP, run once on PGlite and once on real PostgreSQL.
 */
export function runMetadataPlaneSuite(label: string, factory: DatabaseFactory): void {
  describe(`metadata plane (${label})`, () => {
    let plane: MetadataPlane;
    const store = createMemoryObjectStore();

    beforeAll(async () => {
      plane = await createMetadataPlane({
        mode: 'embedded',
        database: await factory.create(),
        objectStore: store,
        apiServer: API,
        registrationToken: REGISTRATION,
        seed: { chalk: { metadata: { seed: SEED } } },
        logger: silent,
      });
    });
    afterAll(async () => {
      await plane?.close();
      await factory.cleanup();
    });

    const inject = async (
      method: 'GET' | 'POST' | 'DELETE',
      url: string,
      options: { token?: string; body?: unknown; headers?: Record<string, string>; form?: string } = {},
    ) => {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      if (options.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await plane.app.inject({
        method,
        url,
        headers,
        ...(options.form !== undefined
          ? { payload: options.form }
          : options.body !== undefined
            ? { payload: options.body as Json }
            : {}),
      });
      return {
        status: res.statusCode,
        body: res.body ? (JSON.parse(res.body) as Json) : {},
        raw: res.body,
        headers: res.headers,
        cookies: res.cookies,
      };
    };

    const accessToken = async (environmentId: string, permissions: string[], name = 'test') => {
      const created = await plane.services.createServiceToken({
        environmentId,
        name,
        permissions: permissions as never,
      });
      const res = await inject('POST', '/v1/oauth/token', {
        body: {
          client_id: created.clientId,
          client_secret: created.clientSecret,
          grant_type: 'client_credentials',
        },
      });
      expect(res.status).toBe(200);
      return { ...created, accessToken: res.body.access_token as string, response: res.body };
    };

    describe('database', () => {
      it('migrates idempotently, with concurrent callers serialised by the advisory lock', async () => {
        const { db, close } = await createDatabase(await factory.create());
        try {
          const results = await Promise.all([migrateToLatest(db), migrateToLatest(db), migrateToLatest(db)]);
          const applied = results.flatMap((r) => r.results ?? []).filter((r) => r.status === 'Success');
          expect(applied.map((r) => r.migrationName)).toEqual([
            '0001-initial',
            '0002-access-secrets-usage',
            '0003-audit-teams',
            '0004-batch-jobs',
            '0005-batch-reports',
            '0006-schedules',
            '0007-data-plane-instances',
            '0008-signing-key-envelopes',
            '0009-deployment-graph-as-json',
            '0010-deployment-apply-marks',
            '0011-metric-rollups',
            '0012-alerts',
            '0013-device-authorizations',
            '0014-models-registry',
          ]);
          expect((await migrateToLatest(db)).results).toEqual([]);
          const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
            db,
          );
          expect(rows.rows.map((r) => r.name)).toEqual([
            '0001-initial',
            '0002-access-secrets-usage',
            '0003-audit-teams',
            '0004-batch-jobs',
            '0005-batch-reports',
            '0006-schedules',
            '0007-data-plane-instances',
            '0008-signing-key-envelopes',
            '0009-deployment-graph-as-json',
            '0010-deployment-apply-marks',
            '0011-metric-rollups',
            '0012-alerts',
            '0013-device-authorizations',
            '0014-models-registry',
          ]);
        } finally {
          await close();
        }
      });

      it('applies the same seed twice without changing anything', async () => {
        const snapshot = async () => {
          const { db } = plane.services;
          return JSON.stringify([
            await db.selectFrom('teams').selectAll().orderBy('id').execute(),
            await db.selectFrom('projects').selectAll().orderBy('id').execute(),
            await db.selectFrom('environments').selectAll().orderBy('id').execute(),
            await db.selectFrom('team_invites').selectAll().orderBy('id').execute(),
          ]);
        };
        const before = await snapshot();
        expect(before).toContain('"Development"');
        const again = await plane.services.applySeed({ chalk: { metadata: { seed: SEED } } });
        expect(again).toEqual({ teams: 0, projects: 0, environments: 0, teamInvites: 0 });
        expect(await snapshot()).toBe(before);
        const renamed = await plane.services.applySeed({ teams: [{ id: 'other', name: 'Other Inc' }] });
        expect(renamed.teams).toBe(1);
        await plane.services.applySeed({ teams: [{ id: 'other', name: 'Other' }] });
      });
    });

    describe('token exchange', () => {
      it('issues an EdDSA JWT verifiable against the JWKS endpoint, with the documented claims', async () => {
        const created = await plane.services.createServiceToken({
          environmentId: 'dev',
          name: 'ci',
          permissions: ['deploy.create', 'deploy.read'],
        });
        expect(created.clientId).toMatch(/^token-[A-Za-z0-9_-]{32}$/);
        expect(created.clientSecret).toMatch(/^ts-[A-Za-z0-9_-]{43}$/);
        const before = Math.floor(Date.now() / 1000);
        const res = await inject('POST', '/v1/oauth/token', {
          body: {
            client_id: created.clientId,
            client_secret: created.clientSecret,
            grant_type: 'client_credentials',
          },
        });
        expect(res.status).toBe(200);
        expect(Object.keys(res.body).sort()).toEqual(
          [
            'access_token',
            'api_server',
            'engines',
            'environment_id_to_name',
            'expires_in',
            'primary_environment',
            'token_type',
          ].sort(),
        );
        expect(res.body).toMatchObject({
          token_type: 'Bearer',
          expires_in: 3600,
          primary_environment: 'dev',
          api_server: API,
          environment_id_to_name: { dev: 'Development' },
        });
        const jwks = (await inject('GET', '/.well-known/jwks.json')).body as unknown as JSONWebKeySet;
        expect(jwks.keys.length).toBeGreaterThanOrEqual(1);
        for (const key of jwks.keys) expect(Object.keys(key)).not.toContain('d');
        const token = res.body.access_token as string;
        expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'EdDSA', kid: jwks.keys[0]?.kid });
        const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
          issuer: API,
          audience: 'slate',
        });
        expect(payload).toMatchObject({
          sub: created.id,
          client_id: created.clientId,
          env: 'dev',
          team: 'acme',
          project: 'web',
          perms: ['deploy.create', 'deploy.read'],
          kind: 'service_token',
        });
        expect(payload.exp! - payload.iat!).toBe(3600);
        expect(payload.iat).toBeGreaterThanOrEqual(before);
      });

      it('accepts form-encoded requests', async () => {
        const created = await plane.services.createServiceToken({
          environmentId: 'dev',
          name: 'f',
          permissions: ['deploy.read'],
        });
        const form = new URLSearchParams({
          client_id: created.clientId,
          client_secret: created.clientSecret,
          grant_type: 'client_credentials',
        }).toString();
        const res = await inject('POST', '/v1/oauth/token', { form });
        expect(res.status).toBe(200);
        expect(res.body.primary_environment).toBe('dev');
      });

      it("answers bad credentials with exactly Chalk's 401 body", async () => {
        const created = await plane.services.createServiceToken({
          environmentId: 'dev',
          name: 'b',
          permissions: ['deploy.read'],
        });
        const expected =
          '{"detail":"Client ID and secret are invalid","message":"Client ID and secret are invalid","trace":null}';
        for (const body of [
          {
            client_id: created.clientId,
            client_secret: `${created.clientSecret}x`,
            grant_type: 'client_credentials',
          },
          {
            client_id: 'token-unknown',
            client_secret: created.clientSecret,
            grant_type: 'client_credentials',
          },
        ]) {
          const res = await inject('POST', '/v1/oauth/token', { body });
          expect(res.status).toBe(401);
          expect(res.raw).toBe(expected);
        }
      });

      it('answers a malformed body with 400 {detail, message, trace}', async () => {
        const res = await inject('POST', '/v1/oauth/token', {
          body: { client_id: 'x', grant_type: 'password' },
        });
        expect(res.status).toBe(400);
        expect(Object.keys(res.body).sort()).toEqual(['detail', 'message', 'trace']);
        expect(res.body.trace).toBeNull();
        expect(res.body.detail).toContain('client_secret');
        const junk = await plane.app.inject({
          method: 'POST',
          url: '/v1/oauth/token',
          headers: { 'content-type': 'application/json' },
          payload: '{nope',
        });
        expect(junk.statusCode).toBe(400);
        expect(Object.keys(JSON.parse(junk.body)).sort()).toEqual(['detail', 'message', 'trace']);
      });

      it('stops a revoked token at once: both its credentials and its live access tokens', async () => {
        const token = await accessToken('dev', ['deploy.read']);
        expect((await inject('GET', '/v1/who-am-i', { token: token.accessToken })).body).toEqual({
          user: token.id,
          environment_id: 'dev',
          team_id: 'acme',
        });
        await plane.services.revokeServiceToken(token.id);
        const exchange = await inject('POST', '/v1/oauth/token', {
          body: {
            client_id: token.clientId,
            client_secret: token.clientSecret,
            grant_type: 'client_credentials',
          },
        });
        expect(exchange.status).toBe(401);
        expect(exchange.body.message).toBe('Client ID and secret are invalid');
        const call = await inject('GET', '/v1/who-am-i', { token: token.accessToken });
        expect(call.status).toBe(401);
        expect(call.body).toMatchObject({ code: 'TOKEN_REVOKED', trace: null });
      });

      it('keeps old keys in the JWKS after rotation, so earlier tokens stay valid', async () => {
        const old = await accessToken('dev', ['deploy.read']);
        const oldKid = decodeProtectedHeader(old.accessToken).kid;
        const newKid = await plane.services.rotateSigningKey();
        const kids = (
          (await inject('GET', '/.well-known/jwks.json')).body as unknown as JSONWebKeySet
        ).keys.map((k) => k.kid);
        expect(kids).toContain(oldKid);
        expect(kids).toContain(newKid);
        expect((await inject('GET', '/v1/who-am-i', { token: old.accessToken })).status).toBe(200);
        const fresh = await accessToken('dev', ['deploy.read']);
        expect(decodeProtectedHeader(fresh.accessToken).kid).toBe(newKid);
      });
    });

    describe('authorization', () => {
      it('401s without credentials and with a forged token', async () => {
        const none = await inject('GET', '/v1/environments');
        expect(none.status).toBe(401);
        expect(none.body).toMatchObject({ code: 'AUTHENTICATION_REQUIRED', trace: null });
        expect(none.body.detail).toBe(none.body.message);
        const forged = await inject('GET', '/v1/environments', { token: 'eyJhbGciOiJFZERTQSJ9.e30.AAAA' });
        expect(forged.status).toBe(401);
        expect(forged.body.code).toBe('INVALID_TOKEN');
      });

      it('403s a token lacking the permission, or outside its environment', async () => {
        const reader = await accessToken('dev', ['deploy.read', 'tokens.list']);
        const deploy = await inject('POST', '/v1/deployments', {
          token: reader.accessToken,
          body: { graph: graph(), ...bundle('x') },
        });
        expect(deploy.status).toBe(403);
        expect(deploy.body).toMatchObject({ code: 'PERMISSION_DENIED', trace: null });
        const elsewhere = await inject('GET', '/v1/environments/prod/tokens', { token: reader.accessToken });
        expect(elsewhere.status).toBe(403);
        expect(
          (await inject('GET', '/v1/environments/dev/tokens', { token: reader.accessToken })).status,
        ).toBe(200);
        expect((await inject('GET', '/v1/environments/oenv', { token: reader.accessToken })).status).toBe(
          403,
        );
      });

      it('never lets a token grant permissions it does not hold', async () => {
        const writer = await accessToken('dev', ['tokens.write', 'deploy.read']);
        const escalate = await inject('POST', '/v1/environments/dev/tokens', {
          token: writer.accessToken,
          body: { name: 'x', permissions: ['deploy.create'] },
        });
        expect(escalate.status).toBe(403);
        const ok = await inject('POST', '/v1/environments/dev/tokens', {
          token: writer.accessToken,
          body: { name: 'reader', permissions: ['deploy.read'] },
        });
        expect(ok.status).toBe(201);
        expect(ok.body.client_secret).toMatch(/^ts-/);
      });

      it('reports zod failures as 400 INVALID_REQUEST with paths', async () => {
        const writer = await accessToken('dev', ['tokens.write']);
        const res = await inject('POST', '/v1/environments/dev/tokens', {
          token: writer.accessToken,
          body: { name: '', permissions: ['root.everything'] },
        });
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('INVALID_REQUEST');
        expect((res.body.issues as { path: string }[]).map((i) => i.path).sort()).toEqual([
          'name',
          'permissions[0]',
        ]);
      });

      it('never returns secrets or hashes from list endpoints', async () => {
        const admin = await accessToken('dev', ['tokens.write', 'tokens.list', 'deploy.read']);
        const made = await inject('POST', '/v1/environments/dev/tokens', {
          token: admin.accessToken,
          body: { name: 'listed', permissions: ['deploy.read'] },
        });
        const secret = made.body.client_secret as string;
        const list = await inject('GET', '/v1/environments/dev/tokens?limit=500', {
          token: admin.accessToken,
        });
        expect(list.status).toBe(200);
        expect(list.raw).toContain(made.body.client_id as string);
        expect(list.raw).not.toContain(secret);
        expect(list.raw).not.toMatch(/secret|hash|argon2/i);
        for (const url of ['/v1/environments', '/v1/teams', '/v1/projects', '/v1/environments/dev']) {
          const res = await inject('GET', url, { token: admin.accessToken });
          expect(res.status).toBe(200);
          expect(res.raw).not.toMatch(/secret|hash/i);
        }
      });

      it('paginates with limit and cursor', async () => {
        const admin = await accessToken('dev', ['tokens.list']);
        const all = (
          await inject('GET', '/v1/environments/dev/tokens?limit=500', { token: admin.accessToken })
        ).body.items as { id: string }[];
        expect(all.length).toBeGreaterThan(3);
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const page: { items: { id: string }[]; next_cursor: string | null } = (
            await inject('GET', `/v1/environments/dev/tokens?limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
              token: admin.accessToken,
            })
          ).body as never;
          expect(page.items.length).toBeLessThanOrEqual(2);
          seen.push(...page.items.map((t) => t.id));
          cursor = page.next_cursor;
        } while (cursor);
        expect(seen).toEqual(all.map((t) => t.id));
        expect(
          (await inject('GET', '/v1/environments/dev/tokens?cursor=%%%', { token: admin.accessToken }))
            .status,
        ).toBe(400);
      });
    });

    describe('deployments and data planes', () => {
      let dataPlane: { data_plane_id: string; token: string };
      let deployer: Awaited<ReturnType<typeof accessToken>>;

      beforeAll(async () => {
        const res = await inject('POST', '/v1/data-planes/register', {
          token: REGISTRATION,
          body: { name: 'local', url: 'http://dp.test:5000' },
        });
        expect(res.status).toBe(200);
        dataPlane = res.body as typeof dataPlane;
        deployer = await accessToken('dev', ['deploy.create', 'deploy.read', 'deploy.redeploy']);
      });

      const desired = async (query = '') => {
        const res = await inject('GET', `/v1/data-plane/desired-state${query}`, { token: dataPlane.token });
        expect(res.status).toBe(200);
        return res.body as unknown as {
          revision: number;
          environments: {
            id: string;
            desired_deployment: { id: string; bundle: Json; graph: GraphArtifact } | null;
          }[];
        };
      };
      const deploy = async (text: string, features = 1) => {
        const res = await inject('POST', '/v1/deployments', {
          token: deployer.accessToken,
          body: { graph: graph(features), ...bundle(text), git: { commit: 'abc', branch: 'main' } },
        });
        expect(res.status).toBe(201);
        return res.body as { id: string; status: string; environment_id: string; created_at: string };
      };
      const report = (environments: Json[]) =>
        inject('POST', '/v1/data-plane/status', { token: dataPlane.token, body: { environments } });

      it('refuses registration without the registration token, and rotates the secret on re-registration', async () => {
        const bad = await inject('POST', '/v1/data-planes/register', {
          token: 'wrong',
          body: { name: 'x', url: 'http://x.test' },
        });
        expect(bad.status).toBe(401);
        const first = await inject('POST', '/v1/data-planes/register', {
          token: REGISTRATION,
          body: { name: 'spare', url: 'http://spare.test' },
        });
        const second = await inject('POST', '/v1/data-planes/register', {
          token: REGISTRATION,
          body: { name: 'spare', url: 'http://spare.test' },
        });
        expect(first.body.data_plane_id).toMatch(/^dp_[0-9a-z]{12}$/);
        expect(second.body.data_plane_id).toBe(first.body.data_plane_id);
        expect(second.body.token).not.toBe(first.body.token);
        const stale = await inject('GET', '/v1/data-plane/desired-state', {
          token: first.body.token as string,
        });
        expect(stale.status).toBe(401);
      });

      it('assigns every environment to the first data plane, and puts its URL in token responses', async () => {
        const state = await desired();
        expect(state.environments.map((e) => e.id)).toEqual(['dev', 'oenv', 'prod']);
        expect(state.environments.every((e) => e.desired_deployment === null)).toBe(true);
        const t = await accessToken('prod', ['deploy.read']);
        expect(t.response.engines).toEqual({ prod: 'http://dp.test:5000' });
        const spare = await inject('GET', '/v1/environments/prod', { token: t.accessToken });
        expect(spare.body.data_plane_id).toBe(dataPlane.data_plane_id);
      });

      it('rejects an invalid graph with INVALID_GRAPH and a mismatched hash with SOURCE_HASH_MISMATCH', async () => {
        const bad = await inject('POST', '/v1/deployments', {
          token: deployer.accessToken,
          body: { graph: { version: 2, namespaces: [{ name: 'Bad Name' }] }, ...bundle('x') },
        });
        expect(bad.status).toBe(400);
        expect(bad.body.code).toBe('INVALID_GRAPH');
        const paths = (bad.body.issues as { path: string }[]).map((i) => i.path);
        expect(paths).toContain('graph.version');
        expect(paths).toContain('graph.namespaces[0].name');
        const mismatch = await inject('POST', '/v1/deployments', {
          token: deployer.accessToken,
          body: {
            graph: graph(),
            bundle_base64: bundle('a').bundle_base64,
            source_hash: bundle('b').source_hash,
          },
        });
        expect(mismatch.status).toBe(400);
        expect(mismatch.body.code).toBe('SOURCE_HASH_MISMATCH');
        expect((await inject('GET', '/v1/deployments', { token: deployer.accessToken })).body.items).toEqual(
          [],
        );
      });

      it('keeps a struct feature’s field order, which positional struct values follow', async () => {
        // Found by the compatibility suite: stored as jsonb, `{street, city, zip}` came back `{zip, city, street}`.
        // Deployed to prod so that dev's deployment history, which the tests below follow, stays as it is.
        const prodDeployer = await accessToken('prod', ['deploy.create', 'deploy.read']);
        const fields = { street: { type: 'string' }, city: { type: 'string' }, zip: { type: 'string' } };
        const base = graph(2);
        const [id, second] = base.namespaces[0]!.features;
        const withStruct = {
          ...base,
          namespaces: [
            { ...base.namespaces[0]!, features: [id!, { ...second!, dtype: { type: 'struct', fields } }] },
          ],
        };
        const res = await inject('POST', '/v1/deployments', {
          token: prodDeployer.accessToken,
          body: { graph: withStruct, ...bundle('export const struct = 1;') },
        });
        expect(res.status).toBe(201);
        const got = await inject('GET', `/v1/deployments/${res.body.id}`, {
          token: prodDeployer.accessToken,
        });
        const address = (got.body.graph as GraphArtifact).namespaces[0]?.features[1] as {
          dtype: { fields: object };
        };
        expect(Object.keys(address.dtype.fields)).toEqual(['street', 'city', 'zip']);
      });

      it('deploys: bundle stored by content hash, long poll wakes, status report makes it SUCCESS and active', async () => {
        const start = await desired();
        const poll = desired(`?since=${start.revision}&wait=10`);
        const code = 'export const v = 1;';
        const t0 = Date.now();
        const created = await deploy(code);
        expect(created).toMatchObject({ status: 'DEPLOYING', environment_id: 'dev' });
        expect(created.id).toMatch(/^c[0-9a-z]{24}$/);
        const woke = await poll;
        expect(Date.now() - t0).toBeLessThan(5_000);
        expect(woke.revision).toBeGreaterThan(start.revision);
        const dev = woke.environments.find((e) => e.id === 'dev');
        const sha = bundle(code).source_hash;
        expect(dev?.desired_deployment).toMatchObject({
          id: created.id,
          bundle: { bucket: 'source', key: `env/dev/bundles/${sha}.mjs`, sha256: sha },
        });
        expect(dev?.desired_deployment?.graph.namespaces[0]?.name).toBe('user');
        const stored = store.objects.get(`source/env/dev/bundles/${sha}.mjs`);
        expect(Buffer.from(stored!).toString()).toBe(code);

        expect(
          (
            await report([
              { id: 'dev', active_deployment_id: null, deployment_id: created.id, state: 'loaded' },
            ])
          ).status,
        ).toBe(200);
        // The data plane says it is serving the deployment only in its next report (active_deployment_id).
        await report([
          { id: 'dev', active_deployment_id: created.id, deployment_id: created.id, state: 'loaded' },
        ]);
        const got = await inject('GET', `/v1/deployments/${created.id}`, { token: deployer.accessToken });
        expect(got.body).toMatchObject({
          id: created.id,
          status: 'SUCCESS',
          active: true,
          desired: true,
          error: null,
          git: { commit: 'abc', branch: 'main' },
          graph_summary: { namespaces: 1, features: 1, resolvers: 0, named_queries: 0 },
        });
        // The whole graph too (the web UI's catalog reads it from here).
        const shown = got.body.graph as GraphArtifact;
        expect(shown.namespaces.map((n) => [n.name, n.features.map((f) => f.fqn)])).toEqual([
          ['user', ['user.id']],
        ]);
        const env = await inject('GET', '/v1/environments/dev', { token: deployer.accessToken });
        expect(env.body.active_deployment_id).toBe(created.id);
        // The status report travelled on as a heartbeat over the heartbeat queue; its consumer records it.
        let heartbeat: Date | null = null;
        for (let i = 0; i < 100 && !heartbeat; i++) {
          heartbeat = (
            await plane.services.db
              .selectFrom('data_planes')
              .select('last_heartbeat_at')
              .where('id', '=', dataPlane.data_plane_id)
              .executeTakeFirstOrThrow()
          ).last_heartbeat_at;
          if (!heartbeat) await new Promise((r) => setTimeout(r, 50));
        }
        expect(heartbeat!.getTime()).toBeGreaterThanOrEqual(t0 - 1000);
      });

      it('returns after the wait with the same revision when nothing changes', async () => {
        const start = await desired();
        const t0 = Date.now();
        const again = await desired(`?since=${start.revision}&wait=1`);
        expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
        expect(again.revision).toBe(start.revision);
        expect(
          (await inject('GET', '/v1/data-plane/desired-state?wait=26', { token: dataPlane.token })).status,
        ).toBe(400);
      });

      it('keeps the previous deployment active when the next one fails to load (BOOT_ERRORS)', async () => {
        const active = (await inject('GET', '/v1/environments/dev', { token: deployer.accessToken })).body
          .active_deployment_id as string;
        const broken = await deploy('throw new Error("boom")', 2);
        await report([
          {
            id: 'dev',
            active_deployment_id: active,
            deployment_id: broken.id,
            state: 'failed',
            error: 'boom',
          },
        ]);
        const got = await inject('GET', `/v1/deployments/${broken.id}`, { token: deployer.accessToken });
        expect(got.body).toMatchObject({
          status: 'BOOT_ERRORS',
          error: 'boom',
          active: false,
          desired: true,
        });
        const env = await inject('GET', '/v1/environments/dev', { token: deployer.accessToken });
        expect(env.body.active_deployment_id).toBe(active);
      });

      it('redeploys an earlier deployment (rollback), changing the desired state', async () => {
        const history = (
          await inject('GET', '/v1/deployments?environment_id=dev', { token: deployer.accessToken })
        ).body.items as { id: string; status: string; created_at: string }[];
        expect(history.length).toBe(2);
        expect(history.map((d) => d.status)).toEqual(['BOOT_ERRORS', 'SUCCESS']);
        const earlier = history[1]!;
        const before = await desired();
        const res = await inject('POST', `/v1/deployments/${earlier.id}/redeploy`, {
          token: deployer.accessToken,
        });
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ id: earlier.id, status: 'DEPLOYING' });
        const after = await desired(`?since=${before.revision}&wait=5`);
        expect(after.revision).toBeGreaterThan(before.revision);
        expect(after.environments.find((e) => e.id === 'dev')?.desired_deployment?.id).toBe(earlier.id);
        await report([
          { id: 'dev', active_deployment_id: earlier.id, deployment_id: earlier.id, state: 'loaded' },
        ]);
        expect(
          (await inject('GET', `/v1/deployments/${earlier.id}`, { token: deployer.accessToken })).body.status,
        ).toBe('SUCCESS');
      });

      it("ignores status reports about environments or deployments that are not the reporter's", async () => {
        const other = await inject('POST', '/v1/data-planes/register', {
          token: REGISTRATION,
          body: { name: 'intruder', url: 'http://intruder.test' },
        });
        const res = await inject('POST', '/v1/data-plane/status', {
          token: other.body.token as string,
          body: { environments: [{ id: 'dev', active_deployment_id: null, deployment_id: null }] },
        });
        expect(res.body).toEqual({ updated: [], ignored: ['dev'] });
        const own = await report([
          { id: 'dev', active_deployment_id: 'cnotadeploymentofdev00000', deployment_id: null },
        ]);
        expect(own.body).toEqual({ updated: ['dev'], ignored: [] });
        const env = await inject('GET', '/v1/environments/dev', { token: deployer.accessToken });
        expect(env.body.active_deployment_id).toBeNull();
      });

      it('keeps the environment on its new deployment while a replica still on the previous one reports', async () => {
        const previous = await deploy('export const v = "previous";');
        await report([
          { id: 'dev', active_deployment_id: previous.id, deployment_id: previous.id, state: 'loaded' },
        ]);
        const next = await deploy('export const v = "next";');
        // A second instance of the same data plane converges first; the first one still serves `previous`.
        const peer = await inject('POST', '/v1/data-planes/register', {
          token: REGISTRATION,
          body: { name: 'local', url: 'http://dp.test:5000', instance_id: 'local-1' },
        });
        expect(peer.body.data_plane_id).toBe(dataPlane.data_plane_id);
        await inject('POST', '/v1/data-plane/status', {
          token: peer.body.token as string,
          body: {
            environments: [
              { id: 'dev', active_deployment_id: next.id, deployment_id: next.id, state: 'loaded' },
            ],
          },
        });
        const active = async () =>
          (await inject('GET', '/v1/environments/dev', { token: deployer.accessToken })).body
            .active_deployment_id;
        expect(await active()).toBe(next.id);
        await report([
          { id: 'dev', active_deployment_id: previous.id, deployment_id: next.id, state: 'loaded' },
        ]);
        expect(await active()).toBe(next.id);
      });
    });

    describe('embedded local login', () => {
      const login = async (email: string) => {
        const res = await inject('POST', '/v1/auth/local-login', { body: { email } });
        const cookie = res.cookies.find((c) => c.name === 'slate_session');
        return { res, cookie: cookie ? `slate_session=${cookie.value}` : '', raw: cookie };
      };

      it('accepts a pending invite, sets an httpOnly SameSite=Strict cookie, and /v1/me shows the role', async () => {
        const { res, cookie, raw } = await login('Alice@acme.test');
        expect(res.status).toBe(200);
        expect(raw).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
        const me = await inject('GET', '/v1/me', { headers: { cookie } });
        expect(me.body).toMatchObject({
          user: { email: 'alice@acme.test' },
          teams: [{ id: 'acme', name: 'Acme', role: 'owner' }],
        });
        const invite = await plane.services.db
          .selectFrom('team_invites')
          .select('accepted_at')
          .where('id', '=', 'seed_invite_1')
          .executeTakeFirstOrThrow();
        expect(invite.accepted_at).toBeInstanceOf(Date);
        expect((await login('alice@acme.test')).res.status).toBe(200);
      });

      it('refuses unknown emails', async () => {
        const { res } = await login('mallory@evil.test');
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('UNKNOWN_USER');
      });

      it('requires the CSRF header on cookie-authenticated mutations', async () => {
        const { cookie } = await login('alice@acme.test');
        const body = { name: 'from-ui', permissions: ['deploy.read'] };
        const blocked = await inject('POST', '/v1/environments/dev/tokens', { headers: { cookie }, body });
        expect(blocked.status).toBe(403);
        expect(blocked.body.code).toBe('CSRF_HEADER_REQUIRED');
        const ok = await inject('POST', '/v1/environments/dev/tokens', {
          headers: { cookie, 'x-slate-csrf': '1' },
          body,
        });
        expect(ok.status).toBe(201);
        expect((await inject('GET', '/v1/environments/dev', { headers: { cookie } })).status).toBe(200);
      });

      it('applies role permissions: a viewer cannot create tokens, a developer deploys with environment_id', async () => {
        const vera = await login('vera@acme.test');
        const denied = await inject('POST', '/v1/environments/dev/tokens', {
          headers: { cookie: vera.cookie, 'x-slate-csrf': '1' },
          body: { name: 'v', permissions: ['deploy.read'] },
        });
        expect(denied.status).toBe(403);
        const dan = await login('dan@acme.test');
        const deployed = await inject('POST', '/v1/deployments', {
          headers: { cookie: dan.cookie, 'x-slate-csrf': '1' },
          body: { environment_id: 'prod', graph: graph(), ...bundle('dan') },
        });
        expect(deployed.status).toBe(201);
        expect(deployed.body.environment_id).toBe('prod');
        const foreign = await inject('POST', '/v1/deployments', {
          headers: { cookie: dan.cookie, 'x-slate-csrf': '1' },
          body: { environment_id: 'oenv', graph: graph(), ...bundle('dan') },
        });
        expect(foreign.status).toBe(403);
      });

      it('records audited actions and shows them to team admins only', async () => {
        const alice = await login('alice@acme.test');
        const log = await inject('GET', '/v1/audit-log?limit=500', { headers: { cookie: alice.cookie } });
        expect(log.status).toBe(200);
        const actions = (log.body.items as { action: string; outcome: string; principal: string }[]).map(
          (e) => `${e.action}:${e.outcome}`,
        );
        expect(actions).toContain('deploy.create:success');
        expect(actions).toContain('oauth.token:failure:401');
        expect(actions).toContain('tokens.create:failure:403');
        expect(log.raw).not.toMatch(/ts-[A-Za-z0-9_-]{20}/);
        const vera = await login('vera@acme.test');
        expect((await inject('GET', '/v1/audit-log', { headers: { cookie: vera.cookie } })).status).toBe(403);
      });

      it('logs out', async () => {
        const { cookie } = await login('alice@acme.test');
        expect((await inject('POST', '/v1/auth/logout', { headers: { cookie } })).status).toBe(200);
        expect((await inject('GET', '/v1/me', { headers: { cookie } })).status).toBe(401);
      });
    });

    describe('system', () => {
      it('serves /healthz and a generated /openapi.json', async () => {
        expect((await inject('GET', '/healthz')).body).toEqual({ ok: true, mode: 'embedded' });
        const t = await accessToken('dev', ['deploy.read']);
        const doc = await inject('GET', '/openapi.json', { token: t.accessToken });
        const paths = doc.body.paths as Record<string, Record<string, Json>>;
        expect(Object.keys(paths)).toEqual(
          expect.arrayContaining(['/v1/oauth/token', '/v1/deployments', '/v1/deployments/{id}/redeploy']),
        );
        expect(paths['/v1/oauth/token']?.post?.security).toEqual([]);
        expect(JSON.stringify(paths['/v1/oauth/token']?.post?.requestBody)).toContain('client_credentials');
      });

      it('answers unknown routes with a JSON 404', async () => {
        const res = await inject('GET', '/v1/nope');
        expect(res.status).toBe(404);
        expect(res.body).toMatchObject({ code: 'ROUTE_NOT_FOUND', trace: null });
      });

      it('has no local login in production mode', async () => {
        const prod = await createMetadataPlane({
          mode: 'production',
          database: await factory.create(),
          objectStore: createMemoryObjectStore(),
          apiServer: API,
          registrationToken: REGISTRATION,
          seed: SEED,
          logger: silent,
        });
        try {
          const res = await prod.app.inject({
            method: 'POST',
            url: '/v1/auth/local-login',
            payload: { email: 'alice@acme.test' },
          });
          expect(res.statusCode).toBe(404);
          expect((await prod.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({
            ok: true,
            mode: 'production',
          });
        } finally {
          await prod.close();
        }
      });
    });
  });
}
