import { decodeJwt } from 'jose';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteInfo, Router } from './http/router.ts';
import type { DatabaseFactory } from './metadata-plane.suite.ts';
import { createMetadataPlane, type MetadataPlane } from './metadata-plane.ts';
import { createMemoryObjectStore } from './testing/memory-object-store.ts';
import { type Caller, eventually, harness } from './testing/plane-harness.ts';

const API = 'http://mp.test:4000';
const REGISTRATION = 'registration-token-for-tests';
const PUBLIC_KEY = 'hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo'; // any 32 bytes, base64url

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
    { id: 'i1', team: 'acme', email: 'owner@acme.test', role: 'owner' },
    { id: 'i2', team: 'acme', email: 'admin@acme.test', role: 'admin' },
    { id: 'i3', team: 'acme', email: 'dev@acme.test', role: 'developer' },
    { id: 'i4', team: 'acme', email: 'viewer@acme.test', role: 'viewer' },
    { id: 'i5', team: 'other', email: 'boss@other.test', role: 'owner' },
  ],
};

/**
 * The specification of roles, written here independently of `auth/permissions.ts`: the implementation
 * must agree with it.
 */
const ALL = [
  'query.online',
  'query.offline',
  'query.offline_read',
  'monitoring.create',
  'monitoring.read',
  'team.add',
  'team.delete',
  'team.list',
  'team.admin',
  'deploy.read',
  'deploy.create',
  'deploy.preview',
  'deploy.redeploy',
  'logs.list',
  'cron.read',
  'cron.create',
  'secrets.write',
  'secrets.decrypt',
  'secrets.list',
  'tokens.write',
  'tokens.list',
  'project.create',
  'environment.create',
  'billing.read',
  'infrastructure.read',
  'models.read',
  'models.write',
];
const CUSTOM_PERMISSIONS = ['deploy.read', 'query.online', 'secrets.list', 'billing.read'];
const HOLDS: Record<string, readonly string[]> = {
  owner: ALL,
  admin: ALL,
  developer: [
    'query.online',
    'query.offline',
    'query.offline_read',
    'deploy.read',
    'deploy.create',
    'deploy.preview',
    'deploy.redeploy',
    'cron.read',
    'cron.create',
    'logs.list',
    'secrets.list',
    'tokens.list',
    'monitoring.read',
    'team.list',
    'infrastructure.read',
    'models.read',
    'models.write',
  ],
  viewer: ['deploy.read', 'logs.list', 'monitoring.read', 'cron.read', 'team.list', 'models.read'],
  custom: CUSTOM_PERMISSIONS,
};

const NOW = new Date();
const FROM = new Date(NOW.getTime() - 86_400_000).toISOString();
const TO = NOW.toISOString();

/**
 * Every endpoint a principal calls, with the permission it must demand and a request that is harmless
 * when allowed (unknown ids → 404, empty bodies → 400, reads → 200). Keys are `METHOD url` as mounted.
 */
const ENDPOINTS: Record<string, { permission: string; method: string; url: string; body?: unknown }> = {
  'GET /v1/audit-log': { permission: 'team.admin', method: 'GET', url: '/v1/audit-log?action=tokens.*' },
  'GET /openapi.json': { permission: 'authenticated', method: 'GET', url: '/openapi.json' },
  'GET /v1/oauth/device': {
    permission: 'authenticated',
    method: 'GET',
    url: '/v1/oauth/device?user_code=BCDF-GHJK',
  },
  'POST /v1/oauth/device/decision': {
    permission: 'authenticated',
    method: 'POST',
    url: '/v1/oauth/device/decision',
    body: { user_code: 'BCDF-GHJK', environment_id: 'dev', approve: false },
  },
  'POST /v1/environments/:id/tokens': {
    permission: 'tokens.write',
    method: 'POST',
    url: '/v1/environments/dev/tokens',
    body: {},
  },
  'GET /v1/environments/:id/tokens': {
    permission: 'tokens.list',
    method: 'GET',
    url: '/v1/environments/dev/tokens',
  },
  'DELETE /v1/tokens/:id': { permission: 'tokens.write', method: 'DELETE', url: '/v1/tokens/st_none' },
  'POST /v1/tokens/:id/rotate': {
    permission: 'tokens.write',
    method: 'POST',
    url: '/v1/tokens/st_none/rotate',
  },
  'GET /v1/teams': { permission: 'authenticated', method: 'GET', url: '/v1/teams' },
  'GET /v1/projects': { permission: 'authenticated', method: 'GET', url: '/v1/projects' },
  'GET /v1/environments': { permission: 'authenticated', method: 'GET', url: '/v1/environments' },
  'GET /v1/environments/:id': { permission: 'authenticated', method: 'GET', url: '/v1/environments/dev' },
  'GET /v1/who-am-i': { permission: 'authenticated', method: 'GET', url: '/v1/who-am-i' },
  'GET /v1/me': { permission: 'authenticated', method: 'GET', url: '/v1/me' },
  'POST /v1/deployments': { permission: 'deploy.create', method: 'POST', url: '/v1/deployments', body: {} },
  'GET /v1/deployments': {
    permission: 'deploy.read',
    method: 'GET',
    url: '/v1/deployments?environment_id=dev',
  },
  'GET /v1/deployments/:id': { permission: 'deploy.read', method: 'GET', url: '/v1/deployments/cnone' },
  'GET /v1/deployments/:id/rollout': {
    permission: 'deploy.read',
    method: 'GET',
    url: '/v1/deployments/cnone/rollout',
  },
  'POST /v1/deployments/:id/redeploy': {
    permission: 'deploy.redeploy',
    method: 'POST',
    url: '/v1/deployments/cnone/redeploy',
  },
  'GET /v1/data-planes': { permission: 'infrastructure.read', method: 'GET', url: '/v1/data-planes' },
  'POST /v1/teams': { permission: 'team.admin', method: 'POST', url: '/v1/teams', body: {} },
  'POST /v1/projects': { permission: 'project.create', method: 'POST', url: '/v1/projects', body: {} },
  'POST /v1/environments': {
    permission: 'environment.create',
    method: 'POST',
    url: '/v1/environments',
    body: {},
  },
  'PUT /v1/teams/:id': { permission: 'team.admin', method: 'PUT', url: '/v1/teams/acme', body: {} },
  'PUT /v1/projects/:id': { permission: 'project.create', method: 'PUT', url: '/v1/projects/web', body: {} },
  'PUT /v1/environments/:id': {
    permission: 'environment.create',
    method: 'PUT',
    url: '/v1/environments/dev',
    body: {},
  },
  'GET /v1/teams/:id/members': { permission: 'team.list', method: 'GET', url: '/v1/teams/acme/members' },
  'PUT /v1/teams/:id/members/:userId/role': {
    permission: 'team.admin',
    method: 'PUT',
    url: '/v1/teams/acme/members/u_none/role',
    body: {},
  },
  'DELETE /v1/teams/:id/members/:userId': {
    permission: 'team.admin',
    method: 'DELETE',
    url: '/v1/teams/acme/members/u_none',
  },
  'PUT /v1/environments/:id/members/:userId/role': {
    permission: 'team.admin',
    method: 'PUT',
    url: '/v1/environments/dev/members/u_none/role',
    body: {},
  },
  'DELETE /v1/environments/:id/members/:userId/role': {
    permission: 'team.admin',
    method: 'DELETE',
    url: '/v1/environments/dev/members/u_none/role',
  },
  'GET /v1/teams/:id/invites': { permission: 'team.list', method: 'GET', url: '/v1/teams/acme/invites' },
  'POST /v1/teams/:id/invites': {
    permission: 'team.add',
    method: 'POST',
    url: '/v1/teams/acme/invites',
    body: {},
  },
  'DELETE /v1/invites/:id': { permission: 'team.add', method: 'DELETE', url: '/v1/invites/inv_none' },
  'GET /v1/teams/:id/roles': { permission: 'team.list', method: 'GET', url: '/v1/teams/acme/roles' },
  'POST /v1/teams/:id/roles': {
    permission: 'team.admin',
    method: 'POST',
    url: '/v1/teams/acme/roles',
    body: {},
  },
  'PUT /v1/roles/:id': { permission: 'team.admin', method: 'PUT', url: '/v1/roles/role_none', body: {} },
  'DELETE /v1/roles/:id': { permission: 'team.admin', method: 'DELETE', url: '/v1/roles/role_none' },
  'PUT /v1/environments/:id/secrets/:name': {
    permission: 'secrets.write',
    method: 'PUT',
    url: '/v1/environments/dev/secrets/MATRIX',
    body: {},
  },
  'GET /v1/environments/:id/secrets': {
    permission: 'secrets.list',
    method: 'GET',
    url: '/v1/environments/dev/secrets',
  },
  'DELETE /v1/environments/:id/secrets/:name': {
    permission: 'secrets.write',
    method: 'DELETE',
    url: '/v1/environments/dev/secrets/NONE',
  },
  'GET /v1/environments/:id/jobs': {
    permission: 'deploy.read',
    method: 'GET',
    url: '/v1/environments/dev/jobs',
  },
  'GET /v1/environments/:id/jobs/:operation_id': {
    permission: 'deploy.read',
    method: 'GET',
    url: '/v1/environments/dev/jobs/no-such-job',
  },
  'GET /v1/environments/:id/schedules': {
    permission: 'cron.read',
    method: 'GET',
    url: '/v1/environments/dev/schedules',
  },
  'GET /v1/environments/:id/schedules/:kind/:name/fires': {
    permission: 'cron.read',
    method: 'GET',
    url: '/v1/environments/dev/schedules/resolver/none/fires',
  },
  'POST /v1/environments/:id/schedules/:kind/:name/pause': {
    permission: 'cron.create',
    method: 'POST',
    url: '/v1/environments/dev/schedules/resolver/none/pause',
  },
  'POST /v1/environments/:id/schedules/:kind/:name/resume': {
    permission: 'cron.create',
    method: 'POST',
    url: '/v1/environments/dev/schedules/resolver/none/resume',
  },
  'PUT /v1/environments/:id/model-parts/:sha256': {
    permission: 'models.write',
    method: 'PUT',
    url: `/v1/environments/dev/model-parts/${'0'.repeat(64)}`,
    body: {},
  },
  'GET /v1/environments/:id/model-parts/:sha256': {
    permission: 'models.read',
    method: 'GET',
    url: `/v1/environments/dev/model-parts/${'0'.repeat(64)}`,
  },
  'GET /v1/environments/:id/models': {
    permission: 'models.read',
    method: 'GET',
    url: '/v1/environments/dev/models',
  },
  'POST /v1/environments/:id/models/:name/versions': {
    permission: 'models.write',
    method: 'POST',
    url: '/v1/environments/dev/models/matrix/versions',
    body: {},
  },
  'GET /v1/environments/:id/models/:name/versions': {
    permission: 'models.read',
    method: 'GET',
    url: '/v1/environments/dev/models/none/versions',
  },
  'GET /v1/environments/:id/models/:name/versions/:version': {
    permission: 'models.read',
    method: 'GET',
    url: '/v1/environments/dev/models/none/versions/production',
  },
  'PUT /v1/environments/:id/models/:name/aliases/:alias': {
    permission: 'models.write',
    method: 'PUT',
    url: '/v1/environments/dev/models/none/aliases/production',
    body: { version: 1 },
  },
  'GET /v1/environments/:id/models/:name/alias-history': {
    permission: 'models.read',
    method: 'GET',
    url: '/v1/environments/dev/models/none/alias-history',
  },
  'GET /v1/environments/:id/usage': {
    permission: 'billing.read',
    method: 'GET',
    url: `/v1/environments/dev/usage?from=${encodeURIComponent(FROM)}&to=${encodeURIComponent(TO)}`,
  },
  'GET /v1/environments/:id/metrics/series': {
    permission: 'monitoring.read',
    method: 'GET',
    url: `/v1/environments/dev/metrics/series?metric=query_count&window=1h&from=${encodeURIComponent(FROM)}&to=${encodeURIComponent(TO)}`,
  },
  'GET /v1/environments/:id/incidents': {
    permission: 'monitoring.read',
    method: 'GET',
    url: '/v1/environments/dev/incidents',
  },
  'POST /v1/environments/:id/incidents/:item/ack': {
    permission: 'monitoring.create',
    method: 'POST',
    url: '/v1/environments/dev/incidents/inc_none/ack',
  },
  'GET /v1/environments/:id/alert-routes': {
    permission: 'monitoring.read',
    method: 'GET',
    url: '/v1/environments/dev/alert-routes',
  },
  'POST /v1/environments/:id/alert-routes': {
    permission: 'monitoring.create',
    method: 'POST',
    url: '/v1/environments/dev/alert-routes',
    body: {},
  },
  'DELETE /v1/environments/:id/alert-routes/:item': {
    permission: 'monitoring.create',
    method: 'DELETE',
    url: '/v1/environments/dev/alert-routes/route_none',
  },
  'POST /v1/environments/:id/alert-routes/:item/test': {
    permission: 'monitoring.create',
    method: 'POST',
    url: '/v1/environments/dev/alert-routes/route_none/test',
  },
  'GET /v1/environments/:id/alert-deliveries': {
    permission: 'monitoring.read',
    method: 'GET',
    url: '/v1/environments/dev/alert-deliveries',
  },
};

/** Mutating routes that are deliberately not audited (telemetry arriving every few seconds). */
const UNAUDITED = [
  'POST /v1/data-plane/status',
  'POST /v1/data-plane/batch-status',
  'POST /v1/data-plane/batch-report',
  'POST /v1/data-plane/heartbeat',
  'POST /v1/data-plane/usage',
  'POST /v1/data-plane/metrics',
  'POST /v1/data-plane/triggers/lease',
  'POST /v1/data-plane/triggers/ack',
  'POST /v1/data-plane/leases/claim',
  'POST /v1/data-plane/leases/release',
];

export function runAccessSuite(label: string, factory: DatabaseFactory): void {
  describe(`access control and provisioning (${label})`, () => {
    let plane: MetadataPlane;
    let routes: readonly RouteInfo[] = [];
    let clock = Date.now();
    const { call, login, serviceToken } = harness(() => plane);
    const callers: Record<string, Caller> = {};
    let customRoleId: string;
    let dataPlane: { data_plane_id: string; token: string };

    beforeAll(async () => {
      plane = await createMetadataPlane({
        mode: 'embedded',
        database: await factory.create(),
        objectStore: createMemoryObjectStore(),
        apiServer: API,
        registrationToken: REGISTRATION,
        seed: SEED,
        logger: pino({ level: 'silent' }),
        now: () => new Date(clock),
        onRoutes: (router: Router) => {
          routes = router.routes;
        },
      });
      const registered = await call(
        'POST',
        '/v1/data-planes/register',
        { token: REGISTRATION },
        {
          name: 'east',
          url: 'http://east.test:5000',
          public_key: PUBLIC_KEY,
        },
      );
      expect(registered.status).toBe(200);
      dataPlane = registered.body as typeof dataPlane;
      for (const role of ['owner', 'admin', 'developer', 'viewer']) {
        callers[role] = await login(`${role === 'developer' ? 'dev' : role}@acme.test`);
      }
      const custom = await call('POST', '/v1/teams/acme/roles', callers.owner!, {
        name: 'ML scientist',
        description: 'reads and queries',
        permissions: CUSTOM_PERMISSIONS,
      });
      expect(custom.status).toBe(201);
      customRoleId = custom.body.id as string;
      const invite = await call('POST', '/v1/teams/acme/invites', callers.owner!, {
        email: 'Sci@Acme.test',
        role: customRoleId,
      });
      expect(invite.status).toBe(201);
      callers.custom = await login('sci@acme.test');
    });
    afterAll(async () => {
      await plane?.close();
      await factory.cleanup();
    });

    it('declares a permission on every principal route, all listed in the expectation table', () => {
      const principalRoutes = routes.filter((r) => r.auth.kind === 'principal');
      const mounted = Object.fromEntries(
        principalRoutes.map((r) => [`${r.method} ${r.url}`, (r.auth as { permission: string }).permission]),
      );
      expect(mounted).toEqual(
        Object.fromEntries(Object.entries(ENDPOINTS).map(([k, v]) => [k, v.permission])),
      );
      const other = routes.filter((r) => r.auth.kind !== 'principal').map((r) => `${r.method} ${r.url}`);
      expect(other.sort()).toEqual(
        [
          'GET /healthz',
          'POST /v1/oauth/token',
          'POST /v1/oauth/device/code',
          'POST /v1/oauth/device/token',
          'GET /.well-known/jwks.json',
          'POST /v1/data-planes/register',
          'GET /v1/data-plane/desired-state',
          'POST /v1/data-plane/status',
          'POST /v1/data-plane/heartbeat',
          'POST /v1/data-plane/usage',
          'POST /v1/data-plane/metrics',
          'POST /v1/data-plane/batch-status',
          'POST /v1/data-plane/triggers/lease',
          'POST /v1/data-plane/triggers/ack',
          'POST /v1/data-plane/batch-report',
          'POST /v1/data-plane/leases/claim',
          'POST /v1/data-plane/leases/release',
          'POST /v1/auth/logout',
          'GET /v1/auth/providers',
          'GET /v1/auth/oidc/:provider/login',
          'GET /v1/auth/oidc/:provider/callback',
          'POST /v1/auth/local-login',
        ].sort(),
      );
    });

    it('audits every mutating route except data-plane telemetry', () => {
      const unaudited = routes
        .filter((r) => ['POST', 'PUT', 'DELETE'].includes(r.method) && !r.audit)
        .map((r) => `${r.method} ${r.url}`);
      expect(unaudited.sort()).toEqual([...UNAUDITED].sort());
    });

    it('walks every role × every endpoint: allowed → 2xx or validation/not-found, denied → 403', async () => {
      const failures: string[] = [];
      let checked = 0;
      for (const [role, caller] of Object.entries(callers)) {
        for (const [key, endpoint] of Object.entries(ENDPOINTS)) {
          const allowed =
            endpoint.permission === 'authenticated' || HOLDS[role]!.includes(endpoint.permission);
          const res = await call(endpoint.method as 'GET', endpoint.url, caller, endpoint.body);
          const ok = allowed
            ? (res.status >= 200 && res.status < 300) || [400, 404, 409].includes(res.status)
            : res.status === 403 && res.body.code === 'PERMISSION_DENIED';
          checked += 1;
          if (!ok)
            failures.push(`${role} ${key}: ${res.status} ${res.raw.slice(0, 160)} (allowed: ${allowed})`);
        }
      }
      expect(failures).toEqual([]);
      expect(checked).toBe(5 * Object.keys(ENDPOINTS).length);
    });

    it('scopes team permissions to the team: an owner of one team is a stranger to another', async () => {
      const boss = await login('boss@other.test');
      expect((await call('GET', '/v1/teams/acme/members', boss)).status).toBe(403);
      expect((await call('GET', '/v1/environments/dev/secrets', boss)).status).toBe(403);
      expect((await call('GET', '/v1/teams/other/members', boss)).status).toBe(200);
      const devToken = await serviceToken('dev', ['tokens.list', 'deploy.read']);
      expect((await call('GET', '/v1/environments/prod/tokens', devToken)).status).toBe(403);
      expect((await call('GET', '/v1/deployments?environment_id=prod', devToken)).status).toBe(403);
      expect((await call('GET', '/v1/environments/dev/tokens', devToken)).status).toBe(200);
    });

    it('manages custom roles: members get a changed role at once; a role in use cannot be deleted', async () => {
      const roles = (await call('GET', '/v1/teams/acme/roles', callers.viewer!)).body.items as {
        id: string;
        name: string;
        built_in: boolean;
        permissions: string[];
      }[];
      expect(roles.map((r) => r.name)).toEqual(['owner', 'admin', 'developer', 'viewer', 'ML scientist']);
      expect(roles.find((r) => r.name === 'viewer')?.permissions).toEqual([...HOLDS.viewer!].sort());
      const me = await call('GET', '/v1/me', callers.custom!);
      expect(me.body.teams).toEqual([
        { id: 'acme', name: 'Acme', role: customRoleId, permissions: [...CUSTOM_PERMISSIONS].sort() },
      ]);
      expect((await call('GET', '/v1/environments/dev/tokens', callers.custom!)).status).toBe(403);
      const updated = await call('PUT', `/v1/roles/${customRoleId}`, callers.admin!, {
        name: 'ML scientist',
        permissions: [...CUSTOM_PERMISSIONS, 'tokens.list'],
      });
      expect(updated.status).toBe(200);
      expect((await call('GET', '/v1/environments/dev/tokens', callers.custom!)).status).toBe(200);
      const clash = await call('POST', '/v1/teams/acme/roles', callers.owner!, {
        name: 'ML scientist',
        permissions: ['deploy.read'],
      });
      expect(clash.body.code).toBe('ROLE_NAME_TAKEN');
      const inUse = await call('DELETE', `/v1/roles/${customRoleId}`, callers.owner!);
      expect(inUse.status).toBe(409);
      expect(inUse.body.code).toBe('ROLE_IN_USE');
      const temp = await call('POST', '/v1/teams/acme/roles', callers.owner!, {
        name: 'temp',
        permissions: ['deploy.read'],
      });
      expect((await call('DELETE', `/v1/roles/${temp.body.id}`, callers.owner!)).status).toBe(200);
      expect((await call('GET', '/v1/teams/acme/roles', callers.owner!)).raw).not.toContain('"temp"');
      // A role from another team cannot be assigned here.
      const boss = await login('boss@other.test');
      const foreign = await call('POST', '/v1/teams/other/roles', boss, {
        name: 'x',
        permissions: ['deploy.read'],
      });
      const assign = await call('PUT', '/v1/teams/acme/members/anyone/role', callers.owner!, {
        role: foreign.body.id,
      });
      expect(assign.body.code).toBe('UNKNOWN_ROLE');
    });

    it('never lets a member grant more than they hold', async () => {
      const sneaky = await call('POST', '/v1/teams/acme/invites', callers.custom!, {
        email: 'x@acme.test',
        role: 'developer',
      });
      expect(sneaky.status).toBe(403);
      // Give the custom-role member team.add via an update, then try inviting an admin.
      await call('PUT', `/v1/roles/${customRoleId}`, callers.owner!, {
        name: 'ML scientist',
        permissions: [...CUSTOM_PERMISSIONS, 'tokens.list', 'team.add'],
      });
      const escalate = await call('POST', '/v1/teams/acme/invites', callers.custom!, {
        email: 'x@acme.test',
        role: 'admin',
      });
      expect(escalate.status).toBe(403);
      const viewerInvite = await call('POST', '/v1/teams/acme/invites', callers.custom!, {
        email: 'x@acme.test',
        role: 'viewer',
      });
      expect(viewerInvite.status).toBe(403); // viewer holds logs.list etc., which the custom role lacks
      const ok = await call('POST', '/v1/teams/acme/invites', callers.custom!, {
        email: 'x@acme.test',
        role: customRoleId,
      });
      expect(ok.status).toBe(201);
      expect((await call('DELETE', `/v1/invites/${ok.body.id}`, callers.custom!)).status).toBe(200);
    });

    it('adds environment roles on top of the team role, in that environment only', async () => {
      const members = (await call('GET', '/v1/teams/acme/members', callers.owner!)).body.items as {
        user_id: string;
        email: string;
        role: string;
      }[];
      const viewer = members.find((m) => m.email === 'viewer@acme.test')!;
      expect(viewer.role).toBe('viewer');
      const set = await call('PUT', `/v1/environments/dev/members/${viewer.user_id}/role`, callers.admin!, {
        role: 'developer',
      });
      expect(set.status).toBe(200);
      expect((await call('GET', '/v1/environments/dev/secrets', callers.viewer!)).status).toBe(200);
      expect((await call('GET', '/v1/environments/prod/secrets', callers.viewer!)).status).toBe(403);
      const listed = (await call('GET', '/v1/teams/acme/members', callers.owner!)).body.items as {
        email: string;
        environment_roles: unknown[];
      }[];
      expect(listed.find((m) => m.email === 'viewer@acme.test')?.environment_roles).toEqual([
        { environment_id: 'dev', role: 'developer' },
      ]);
      await call('DELETE', `/v1/environments/dev/members/${viewer.user_id}/role`, callers.admin!);
      expect((await call('GET', '/v1/environments/dev/secrets', callers.viewer!)).status).toBe(403);
      // The last owner stays an owner.
      const owner = members.find((m) => m.email === 'owner@acme.test')!;
      const demote = await call('PUT', `/v1/teams/acme/members/${owner.user_id}/role`, callers.owner!, {
        role: 'viewer',
      });
      expect(demote.body.code).toBe('LAST_OWNER');
    });

    it('creates a project and an environment, assigns it to a data plane, which provisions it by desired state', async () => {
      const before = (await call('GET', '/v1/data-plane/desired-state', { token: dataPlane.token })).body;
      const project = await call('POST', '/v1/projects', callers.admin!, { name: 'Risk', team_id: 'acme' });
      expect(project.status).toBe(201);
      expect(project.body.id).toMatch(/^p[0-9a-z]{8}$/);
      const dup = await call('POST', '/v1/projects', callers.admin!, {
        id: 'web',
        name: 'again',
        team_id: 'acme',
      });
      expect(dup.body.code).toBe('ALREADY_EXISTS');
      const foreign = await call('POST', '/v1/projects', callers.admin!, { name: 'x', team_id: 'other' });
      expect(foreign.status).toBe(403);
      const env = await call('POST', '/v1/environments', callers.admin!, {
        id: 'staging',
        name: 'Staging',
        project_id: project.body.id,
      });
      expect(env.status).toBe(201);
      expect(env.body).toMatchObject({
        id: 'staging',
        team_id: 'acme',
        data_plane_id: dataPlane.data_plane_id,
      });
      const after = await call('GET', `/v1/data-plane/desired-state?since=${before.revision}&wait=5`, {
        token: dataPlane.token,
      });
      expect(after.body.revision).toBeGreaterThan(before.revision as number);
      const staging = (after.body.environments as { id: string; provisioning: unknown }[]).find(
        (e) => e.id === 'staging',
      );
      expect(staging?.provisioning).toEqual({
        object_prefixes: {
          data: 'env/staging/',
          source: 'env/staging/',
          dataset: 'env/staging/',
          model: 'env/staging/',
          stages: 'env/staging/',
        },
        online_namespace: 'staging',
      });
      const report = await call(
        'POST',
        '/v1/data-plane/status',
        { token: dataPlane.token },
        {
          environments: [
            {
              id: 'staging',
              active_deployment_id: null,
              deployment_id: null,
              provisioned: staging?.provisioning,
            },
          ],
        },
      );
      expect(report.body).toEqual({ updated: ['staging'], ignored: [] });
      const shown = await call('GET', '/v1/environments/staging', callers.viewer!);
      expect(shown.body.provisioned).toEqual(staging?.provisioning);
      expect(typeof shown.body.provisioned_at).toBe('string');
    });

    it('renames a team, a project and an environment: ids stay, the data plane hears of it, others may not', async () => {
      const before = (await call('GET', '/v1/data-plane/desired-state', { token: dataPlane.token })).body;
      const env = await call('PUT', '/v1/environments/prod', callers.admin!, { name: '  Live  ' });
      expect(env.status).toBe(200);
      expect(env.body).toMatchObject({ id: 'prod', name: 'Live', project_id: 'web', team_id: 'acme' });
      const after = await call('GET', `/v1/data-plane/desired-state?since=${before.revision}&wait=5`, {
        token: dataPlane.token,
      });
      expect(after.body.revision).toBeGreaterThan(before.revision as number);
      expect(
        (after.body.environments as { id: string; name: string }[]).find((e) => e.id === 'prod')?.name,
      ).toBe('Live');
      const project = await call('PUT', '/v1/projects/web', callers.owner!, { name: 'Website' });
      expect(project.body).toMatchObject({ id: 'web', name: 'Website', team_id: 'acme' });
      const team = await call('PUT', '/v1/teams/acme', callers.owner!, { name: 'Acme Inc' });
      expect(team.body).toMatchObject({ id: 'acme', name: 'Acme Inc' });
      const listed = await call('GET', '/v1/teams', callers.viewer!);
      expect((listed.body.items as { id: string; name: string }[]).find((t) => t.id === 'acme')?.name).toBe(
        'Acme Inc',
      );
      // Bad input is a 400 with a code; another team's objects and unknown ids are refused.
      const blank = await call('PUT', '/v1/projects/web', callers.owner!, { name: '   ' });
      expect(blank.status).toBe(400);
      expect((await call('PUT', '/v1/environments/oenv', callers.owner!, { name: 'mine' })).status).toBe(403);
      expect((await call('PUT', '/v1/teams/other', callers.owner!, { name: 'mine' })).status).toBe(403);
      expect((await call('PUT', '/v1/environments/dev', callers.developer!, { name: 'x' })).status).toBe(403);
      const missing = await call('PUT', '/v1/projects/nope', callers.owner!, { name: 'x' });
      expect(missing.body.code).toBe('PROJECT_NOT_FOUND');
      const log = (await call('GET', '/v1/audit-log?limit=500&action=environment.rename', callers.owner!))
        .body.items as { principal: string; target: string; outcome: string; team_id: string }[];
      expect(log.find((e) => e.outcome === 'success')).toMatchObject({
        target: 'prod',
        team_id: 'acme',
        principal: expect.stringMatching(/^user:/),
      });
      await call('PUT', '/v1/environments/prod', callers.admin!, { name: 'Production' });
      await call('PUT', '/v1/projects/web', callers.owner!, { name: 'Web' });
      await call('PUT', '/v1/teams/acme', callers.owner!, { name: 'Acme' });
    });

    it('audits a token exchange as the service token that presented its secret; a refused one stays anonymous', async () => {
      const made = await call('POST', '/v1/environments/dev/tokens', callers.admin!, {
        name: 'cli',
        permissions: ['deploy.read'],
      });
      const exchange = (secret: string) =>
        call('POST', '/v1/oauth/token', null, {
          client_id: made.body.client_id,
          client_secret: secret,
          grant_type: 'client_credentials',
        });
      expect((await exchange(made.body.client_secret as string)).status).toBe(200);
      expect((await exchange('wrong-secret')).status).toBe(401);
      const entries = (
        await call(
          'GET',
          `/v1/audit-log?limit=50&action=oauth.token&target=${encodeURIComponent(made.body.client_id as string)}`,
          callers.owner!,
        )
      ).body.items as { principal: string; outcome: string; team_id: string | null }[];
      expect(entries.map((e) => [e.principal, e.outcome])).toEqual([
        ['anonymous', 'failure:401'],
        [`token:${made.body.id}`, 'success'],
      ]);
      // Filtering by that actor finds the exchange beside what the token did afterwards.
      const byActor = (
        await call('GET', `/v1/audit-log?limit=50&principal=token:${made.body.id}`, callers.owner!)
      ).body.items as { action: string }[];
      expect(byActor.map((e) => e.action)).toContain('oauth.token');
    });

    it('rotates a service token: the new secret works, the old one and its access tokens stop', async () => {
      const made = await call('POST', '/v1/environments/dev/tokens', callers.admin!, {
        name: 'rotating',
        permissions: ['deploy.read', 'query.online'],
        feature_permissions: { default: 'DENY', tags: { pii: 'DENY', public: 'ALLOW' } },
      });
      expect(made.status).toBe(201);
      const exchange = (secret: string) =>
        call('POST', '/v1/oauth/token', null, {
          client_id: made.body.client_id,
          client_secret: secret,
          grant_type: 'client_credentials',
        });
      const first = await exchange(made.body.client_secret as string);
      expect(first.status).toBe(200);
      const claims = decodeJwt(first.body.access_token as string);
      expect(claims.feature_permissions).toEqual({ default: 'DENY', tags: { pii: 'DENY', public: 'ALLOW' } });
      // Access tokens carry real-time `iat`s: keep the injected clock on real time, and rotate in a later
      // second than the first token was issued in.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      clock = Date.now();
      const rotated = await call('POST', `/v1/tokens/${made.body.id}/rotate`, callers.admin!);
      expect(rotated.status).toBe(200);
      expect(rotated.body.client_id).toBe(made.body.client_id);
      expect(rotated.body.client_secret).not.toBe(made.body.client_secret);
      expect((await exchange(made.body.client_secret as string)).status).toBe(401);
      const second = await exchange(rotated.body.client_secret as string);
      expect(second.status).toBe(200);
      const old = await call('GET', '/v1/who-am-i', { token: first.body.access_token as string });
      expect(old.status).toBe(401);
      expect(old.body.code).toBe('TOKEN_ROTATED');
      expect((await call('GET', '/v1/who-am-i', { token: second.body.access_token as string })).status).toBe(
        200,
      );
      const listed = await call('GET', '/v1/environments/dev/tokens?limit=500', callers.admin!);
      expect(listed.raw).not.toContain(rotated.body.client_secret as string);
      expect(listed.raw).toContain('"rotated_at"');
    });

    it('records batch status from the batch-status queue, newest update winning, and lists the jobs', async () => {
      const report = (body: Record<string, unknown>) =>
        call('POST', '/v1/data-plane/batch-status', { token: dataPlane.token }, body);
      const base = {
        operation_id: 'rev-1',
        environment_id: 'dev',
        kind: 'OFFLINE_QUERY',
        name: 'training set',
      };
      const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
      expect((await report({ ...base, status: 'RUNNING', progress: 0.5, at: t(1) })).status).toBe(202);
      expect((await report({ ...base, status: 'SUCCEEDED', progress: 1, at: t(3) })).status).toBe(202);
      // Delivered late: an older update never moves a job back.
      await report({ ...base, status: 'RUNNING', progress: 0.2, at: t(2) });
      // An environment this data plane does not serve is ignored.
      await report({ ...base, operation_id: 'rev-x', environment_id: 'nope', status: 'FAILED', at: t(4) });
      expect((await report({ ...base, status: 'DONE', at: t(5) })).status).toBe(400);
      const jobs = async () =>
        (await call('GET', '/v1/environments/dev/jobs', callers.viewer!)).body.items as Record<
          string,
          unknown
        >[];
      await eventually(async () =>
        (await jobs()).some((j) => j.id === 'rev-1' && j.status === 'SUCCEEDED') ? true : undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // the late update has had time to arrive
      const listed = await jobs();
      expect(listed.filter((j) => j.id === 'rev-1')).toEqual([
        expect.objectContaining({
          kind: 'OFFLINE_QUERY',
          name: 'training set',
          status: 'SUCCEEDED',
          progress: 1,
          updated_at: t(3),
        }),
      ]);
      expect(listed.some((j) => j.id === 'rev-x')).toBe(false);
    });

    it('stores final reports from the batch-report queue, only from the serving data plane, and shows them per job', async () => {
      const send = (token: string, body: Record<string, unknown>) =>
        call('POST', '/v1/data-plane/batch-report', { token }, body);
      const t = (s: number) => new Date(Date.UTC(2026, 0, 2, 0, 0, s)).toISOString();
      const report = {
        operation_id: 'rev-report-1',
        environment_id: 'dev',
        kind: 'OFFLINE_QUERY',
        name: 'training set',
        status: 'SUCCEEDED',
        deployment_id: 'cdep1',
        started_at: t(1),
        finished_at: t(4),
        duration_ms: 3_000,
        rows: 120,
        columns: [
          { name: 'user.id', dtype: 'int' },
          { name: 'user.name', dtype: 'string' },
        ],
        bytes_written: 2_048,
        output: {
          bucket: 'dataset',
          keys: ['offline-queries/dev/revisions/rev-report-1/part-0.parquet'],
          dataset_id: 'dataset-training',
          dataset_name: 'training set',
          revision_id: 'rev-report-1',
        },
        errors: [],
        attempts: 2,
        at: t(5),
      };
      // A running status first, then the report: the report moves the listed job to its end.
      await call(
        'POST',
        '/v1/data-plane/batch-status',
        { token: dataPlane.token },
        {
          operation_id: 'rev-report-1',
          environment_id: 'dev',
          kind: 'OFFLINE_QUERY',
          status: 'RUNNING',
          at: t(2),
        },
      );
      expect((await send(dataPlane.token, report)).status).toBe(202);
      // Delivered late, an older report with other numbers changes nothing.
      expect((await send(dataPlane.token, { ...report, rows: 1, at: t(3) })).status).toBe(202);
      expect((await send(dataPlane.token, { ...report, status: 'DONE' })).status).toBe(400);
      expect((await send(dataPlane.token, { ...report, rows: -1 })).status).toBe(400);
      expect((await call('POST', '/v1/data-plane/batch-report', callers.admin!, report)).status).toBe(401);
      // Another data plane may not report on an environment it does not serve.
      const west = await call(
        'POST',
        '/v1/data-planes/register',
        { token: REGISTRATION },
        { name: 'west', url: 'http://west.test:5000' },
      );
      expect(west.status).toBe(200);
      await send(west.body.token as string, { ...report, operation_id: 'rev-report-west', at: t(6) });
      await send(dataPlane.token, {
        ...report,
        operation_id: 'rev-report-x',
        environment_id: 'nope',
        at: t(6),
      });
      const job = await eventually(async () => {
        const got = await call('GET', '/v1/environments/dev/jobs/rev-report-1', callers.viewer!);
        return got.status === 200 && got.body.report ? got.body : undefined;
      });
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // the late and foreign reports have arrived
      const again = await call('GET', '/v1/environments/dev/jobs/rev-report-1', callers.viewer!);
      expect(again.body).toEqual(job);
      expect(job).toMatchObject({
        id: 'rev-report-1',
        kind: 'OFFLINE_QUERY',
        status: 'SUCCEEDED',
        progress: 1,
        updated_at: t(5),
      });
      expect(job.report).toEqual(report);
      const listed = (await call('GET', '/v1/environments/dev/jobs?limit=500', callers.viewer!)).body
        .items as {
        id: string;
        status: string;
      }[];
      expect(listed.find((j) => j.id === 'rev-report-1')?.status).toBe('SUCCEEDED');
      expect(listed.some((j) => j.id === 'rev-report-west' || j.id === 'rev-report-x')).toBe(false);
      const missing = await call('GET', '/v1/environments/dev/jobs/rev-report-west', callers.viewer!);
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('JOB_NOT_FOUND');
      // The report travelled over the batch-report queue.
      const queued = await sql<{ data: { operation_id: string; data_plane_id: string } }>`
        select data from pgboss.job where name = 'batch-report'`.execute(plane.services.db);
      expect(
        queued.rows.some(
          (j) => j.data.operation_id === 'rev-report-1' && j.data.data_plane_id === dataPlane.data_plane_id,
        ),
      ).toBe(true);
    });

    it('shows a running job FAILED once its data plane has been quiet for the heartbeat timeout, and running again when it reports', async () => {
      const running = (at: number) =>
        call(
          'POST',
          '/v1/data-plane/batch-status',
          { token: dataPlane.token },
          {
            operation_id: 'rev-quiet',
            environment_id: 'dev',
            kind: 'OFFLINE_QUERY',
            status: 'RUNNING',
            progress: 0.3,
            at: new Date(at).toISOString(),
          },
        );
      clock += 1_000;
      const start = clock;
      expect((await running(start)).status).toBe(202);
      const get = async () =>
        (await call('GET', '/v1/environments/dev/jobs/rev-quiet', callers.viewer!)).body as Record<
          string,
          unknown
        >;
      await eventually(async () => ((await get()).status === 'RUNNING' ? true : undefined));
      clock = start + 59_000;
      expect(await get()).toMatchObject({ status: 'RUNNING', error: null });
      clock = start + 61_000;
      expect(await get()).toMatchObject({
        status: 'FAILED',
        error: expect.stringContaining('HEARTBEAT_LOST'),
      });
      const listed = (await call('GET', '/v1/environments/dev/jobs?limit=500', callers.viewer!)).body
        .items as {
        id: string;
        status: string;
      }[];
      expect(listed.find((j) => j.id === 'rev-quiet')?.status).toBe('FAILED');
      // Another data plane took the job over and reports on it again.
      await running(clock);
      await eventually(async () => ((await get()).status === 'RUNNING' ? true : undefined));
      expect((await get()).updated_at).toBe(new Date(clock).toISOString());
    });

    it('lists data planes; heartbeats travel over the heartbeat queue, and a stale one turns unhealthy', async () => {
      const listed = async () =>
        (await call('GET', '/v1/data-planes', callers.developer!)).body.items as {
          id: string;
          name: string;
          url: string;
          healthy: boolean;
          last_heartbeat_at: string | null;
        }[];
      clock += 5_000; // a heartbeat time no earlier report could have produced
      const expectedAt = new Date(clock).toISOString();
      const page = await call('GET', '/v1/data-planes?limit=1', callers.viewer!);
      expect(page.status).toBe(403); // viewers do not see infrastructure
      const first = await call('GET', '/v1/data-planes?limit=1', callers.developer!);
      expect(first.body.items).toHaveLength(1);
      expect(Object.keys((first.body.items as object[])[0]!)).toEqual(
        expect.arrayContaining(['id', 'name', 'url', 'last_heartbeat_at', 'healthy']),
      );
      const beat = await call('POST', '/v1/data-plane/heartbeat', { token: dataPlane.token });
      expect(beat.status).toBe(202);
      const seen = await eventually(async () => {
        const east = (await listed()).find((p) => p.id === dataPlane.data_plane_id);
        return east?.last_heartbeat_at === expectedAt ? east : undefined;
      });
      expect(seen).toMatchObject({ name: 'east', url: 'http://east.test:5000', healthy: true });
      // The message really went through the queue: a pg-boss job named `heartbeat` for this data plane. The
      // consumer records the heartbeat before pg-boss marks its job completed, so wait for that too.
      const completed = await eventually(async () => {
        const jobs = await sql<{ data: { data_plane_id: string; at: string }; state: string }>`
          select data, state from pgboss.job where name = 'heartbeat'`.execute(plane.services.db);
        return jobs.rows.some(
          (j) =>
            j.data.data_plane_id === dataPlane.data_plane_id &&
            j.data.at === seen.last_heartbeat_at &&
            j.state === 'completed',
        )
          ? true
          : undefined;
      });
      expect(completed).toBe(true);
      clock += 61_000; // past the 60 s heartbeat timeout
      expect((await listed()).find((p) => p.id === dataPlane.data_plane_id)?.healthy).toBe(false);
      await call('POST', '/v1/data-plane/status', { token: dataPlane.token }, { environments: [] });
      await eventually(async () =>
        (await listed()).find((p) => p.id === dataPlane.data_plane_id)?.healthy ? true : undefined,
      );
    });

    it('filters the audit log by action prefix, principal, outcome and time', async () => {
      const all = await call('GET', '/v1/audit-log?limit=500', callers.owner!);
      const items = all.body.items as { action: string; principal: string; outcome: string; at: string }[];
      expect(items.length).toBeGreaterThan(10);
      const tokens = await call('GET', '/v1/audit-log?limit=500&action=tokens.*', callers.owner!);
      const tokenItems = tokens.body.items as typeof items;
      expect(tokenItems.length).toBe(items.filter((i) => i.action.startsWith('tokens.')).length);
      expect(tokenItems.map((i) => i.action)).toContain('tokens.rotate');
      const failures = await call('GET', '/v1/audit-log?limit=500&outcome=failure', callers.owner!);
      const failureItems = failures.body.items as typeof items;
      expect(failureItems.length).toBe(items.filter((i) => i.outcome.startsWith('failure:')).length);
      expect(failureItems.length).toBeGreaterThan(0);
      const viewerUser = items.find((i) => i.principal.startsWith('user:') && i.action === 'role.create');
      expect(viewerUser).toBeDefined();
      const byPrincipal = await call(
        'GET',
        `/v1/audit-log?limit=500&principal=${encodeURIComponent(viewerUser!.principal)}`,
        callers.owner!,
      );
      const byPrincipalItems = byPrincipal.body.items as typeof items;
      expect(byPrincipalItems.every((i) => i.principal === viewerUser!.principal)).toBe(true);
      expect(byPrincipalItems.length).toBe(items.filter((i) => i.principal === viewerUser!.principal).length);
      const future = await call(
        'GET',
        `/v1/audit-log?from=${encodeURIComponent(new Date(clock + 60_000).toISOString())}`,
        callers.owner!,
      );
      expect(future.body.items).toEqual([]);
      expect((await call('GET', '/v1/audit-log?outcome=maybe', callers.owner!)).status).toBe(400);
      // Each team's admins read their own team's log (plus installation-wide entries), not another's.
      const boss = await login('boss@other.test');
      const theirs = (await call('GET', '/v1/audit-log?limit=500', boss)).body.items as {
        team_id: string | null;
        action: string;
      }[];
      expect(theirs.some((i) => i.team_id === 'other' && i.action === 'role.create')).toBe(true);
      expect(theirs.every((i) => i.team_id === 'other' || i.team_id === null)).toBe(true);
      const ours = (await call('GET', '/v1/audit-log?limit=500', callers.owner!)).body.items as {
        team_id: string | null;
        outcome: string;
      }[];
      expect(ours.every((i) => i.team_id === 'acme' || i.team_id === null)).toBe(true);
      expect(ours.filter((i) => i.team_id === 'acme').length).toBeGreaterThan(10);
      // A denied attempt on acme's resources is in acme's log too.
      expect(ours.some((i) => i.team_id === 'acme' && i.outcome === 'failure:403')).toBe(true);
      expect((await call('GET', '/v1/audit-log?team_id=acme', boss)).status).toBe(403);
      const onlyAcme = (await call('GET', '/v1/audit-log?limit=500&team_id=acme', callers.owner!)).body
        .items as unknown[];
      expect(onlyAcme.length).toBe(ours.filter((i) => i.team_id === 'acme').length);
      // Mutations without an explicit action are audited as METHOD url.
      expect(items.map((i) => i.action)).toContain('environment.create');
      expect(items.map((i) => i.action)).toContain('auth.local_login');
    });
  });
}
