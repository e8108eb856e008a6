/**
 * A stand-in for the metadata plane's REST API, for screenshots and UI work before (or without) the real
 * one: `node --import tsx apps/web/scripts/fake-api.ts [--port 4000] [--no-data-planes]`. In-memory,
 * deterministic fixtures; nothing here is imported by the app.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '4000' },
    'no-data-planes': { type: 'boolean', default: false },
  },
});

const DAY = 86_400_000;
const NOW = Date.now();
let seed = 42;
const rand = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
const iso = (t: number) => new Date(t).toISOString();

const teams = [{ id: 'team_acme', name: 'Acme Payments', created_at: iso(NOW - 90 * DAY) }];
const projects = [
  { id: 'proj_fraud', name: 'fraud-detection', team_id: 'team_acme', created_at: iso(NOW - 90 * DAY) },
  { id: 'proj_recs', name: 'recommendations', team_id: 'team_acme', created_at: iso(NOW - 60 * DAY) },
];
interface Env {
  id: string;
  name: string;
  project_id: string;
  team_id: string;
  data_plane_id: string | null;
  active_deployment_id: string | null;
  desired_deployment_id: string | null;
  created_at: string;
}
const environments: Env[] = [
  env('env_fraud_prod', 'production', 'proj_fraud', 'dp_eu1'),
  env('env_fraud_stg', 'staging', 'proj_fraud', 'dp_eu1'),
  env('env_recs_prod', 'production', 'proj_recs', 'dp_us1'),
  env('env_recs_dev', 'dev', 'proj_recs', null),
];
function env(id: string, name: string, project_id: string, dp: string | null): Env {
  return {
    id,
    name,
    project_id,
    team_id: 'team_acme',
    data_plane_id: dp,
    active_deployment_id: null,
    desired_deployment_id: null,
    created_at: iso(NOW - 80 * DAY),
  };
}

const dataPlanes = [
  {
    id: 'dp_eu1',
    name: 'eu-west-1',
    url: 'http://10.0.1.12:8080',
    last_heartbeat_at: iso(NOW - 8_000),
    healthy: true,
  },
  {
    id: 'dp_us1',
    name: 'us-east-1',
    url: 'http://10.0.2.40:8080',
    last_heartbeat_at: iso(NOW - 11 * 60_000),
    healthy: false,
  },
];

const graph = {
  version: 1,
  namespaces: [
    {
      name: 'user',
      primaryKey: 'user.id',
      description: 'A customer account',
      owner: 'risk-team@acme.dev',
      tags: ['pii'],
      features: [
        f('user', 'id', { type: 'int' }, { description: 'Account id' }),
        f('user', 'email', { type: 'string' }, { description: 'Primary email address', tags: ['pii'] }),
        f(
          'user',
          'signup_date',
          { type: 'datetime' },
          { description: 'When the account was created', maxStalenessS: null },
        ),
        f(
          'user',
          'credit_score',
          { type: 'float' },
          { description: 'Bureau score, refreshed daily', maxStalenessS: 86_400, owner: 'credit@acme.dev' },
        ),
        f(
          'user',
          'risk_tier',
          { type: 'enum', values: ['low', 'medium', 'high'] },
          { description: 'Derived risk bucket', tags: ['model-input'] },
        ),
        f(
          'user',
          'txn_count_7d',
          { type: 'int' },
          { description: 'Transactions in the last 7 days', maxStalenessS: 300, tags: ['aggregation'] },
        ),
        f(
          'user',
          'merchant_categories',
          { type: 'list', of: { type: 'string' } },
          { description: 'Distinct MCCs seen' },
        ),
        {
          fqn: 'user.transactions',
          name: 'transactions',
          kind: 'has_many',
          target: 'transaction',
          description: 'All transactions of the user',
          tags: [],
          maxStalenessS: 0,
        },
      ],
    },
    {
      name: 'transaction',
      primaryKey: 'transaction.id',
      description: 'A card payment',
      owner: 'payments@acme.dev',
      tags: [],
      features: [
        f('transaction', 'id', { type: 'string' }, {}),
        f('transaction', 'user_id', { type: 'int' }, { description: 'Who paid' }),
        f('transaction', 'amount', { type: 'float' }, { description: 'Amount in EUR' }),
        f(
          'transaction',
          'is_fraud',
          { type: 'bool' },
          { description: 'Model verdict', tags: ['model-output'], maxStalenessS: 0 },
        ),
        f(
          'transaction',
          'embedding',
          { type: 'vector', dimensions: 64 },
          { description: 'Merchant-text embedding', maxStalenessS: 3_600 },
        ),
      ],
    },
  ],
  resolvers: [
    res(
      'get_user',
      'online',
      ['user.id'],
      ['user.email', 'user.signup_date', 'user.credit_score'],
      ['postgres'],
    ),
    res(
      'user_txn_stats',
      'online',
      ['user.id', 'user.transactions'],
      ['user.txn_count_7d', 'user.merchant_categories'],
      ['aggregation'],
    ),
    res('risk_tier', 'online', ['user.credit_score', 'user.txn_count_7d'], ['user.risk_tier'], []),
    res(
      'fraud_model',
      'online',
      ['transaction.amount', 'transaction.user_id', 'transaction.embedding'],
      ['transaction.is_fraud'],
      ['model'],
    ),
    {
      ...res('nightly_credit_backfill', 'offline', [], ['user.credit_score'], ['batch']),
      cron: '0 3 * * *',
      environments: ['production'],
    },
  ],
  namedQueries: [],
};
function f(ns: string, name: string, dtype: object, extra: Record<string, unknown>) {
  return {
    fqn: `${ns}.${name}`,
    name,
    namespace: ns,
    kind: 'scalar',
    dtype,
    tags: [],
    maxStalenessS: 0,
    ...extra,
  };
}
function res(name: string, kind: string, inputs: string[], outputs: string[], tags: string[]) {
  return {
    fqn: `resolvers.${name}`,
    kind,
    namespace: 'user',
    inputs: inputs.map((fqn) => ({ type: 'feature', param: fqn.split('.')[1], fqn })),
    outputs: outputs.map((fqn) => ({ param: fqn.split('.')[1], fqn })),
    tags,
    environments: [],
  };
}

interface Deployment {
  id: string;
  environment_id: string;
  status: string;
  created_at: string;
  activated_at: string | null;
  error: string | null;
  git: { commit: string; branch: string; author: string; message: string } | null;
  created_by: string;
  active: boolean;
  desired: boolean;
  graph_summary: { namespaces: number; features: number; resolvers: number; named_queries: number };
}
const deployments: Deployment[] = [];
const MESSAGES = [
  'Add 7-day transaction count',
  'Tighten fraud model threshold',
  'Cache credit score for a day',
  'Fix null merchant categories',
  'Bump platform to 0.4',
  'Add embedding feature for merchant text',
  'Rename risk buckets',
  'Remove unused device features',
  'Backfill credit scores nightly',
  'Lower staleness on is_fraud',
];
const AUTHORS = ['maria@acme.dev', 'li.wei@acme.dev', 'sam@acme.dev', 'ci-bot'];
let features = 9;
function seedHistory(envId: string, count: number, days: number, branch: string) {
  const times = Array.from({ length: count }, () => NOW - rand() * days * DAY).sort((a, b) => a - b);
  let active: Deployment | null = null;
  for (const t of times) {
    const r = rand();
    const status = r < 0.72 ? 'SUCCESS' : r < 0.84 ? 'FAILURE' : r < 0.92 ? 'BOOT_ERRORS' : 'CANCELLED';
    if (status === 'SUCCESS' && rand() < 0.4)
      features = Math.min(16, Math.max(6, features + (rand() < 0.75 ? 1 : -1)));
    const d: Deployment = {
      id: `dep_${hex(20)}`,
      environment_id: envId,
      status,
      created_at: iso(t),
      activated_at: status === 'SUCCESS' ? iso(t + 40_000) : null,
      error:
        status === 'FAILURE'
          ? 'graph validation failed: resolver risk_tier outputs user.risk_tier, which no namespace defines'
          : status === 'BOOT_ERRORS'
            ? 'data plane could not load the bundle: TypeError: Cannot read properties of undefined (reading "score")'
            : null,
      git: { commit: hex(40), branch, author: pick(AUTHORS), message: pick(MESSAGES) },
      created_by: 'user:maria@acme.dev',
      active: false,
      desired: false,
      graph_summary: {
        namespaces: 2,
        features,
        resolvers: Math.max(3, Math.round(features / 3)),
        named_queries: 0,
      },
    };
    deployments.push(d);
    if (status === 'SUCCESS') active = d;
  }
  const e = environments.find((x) => x.id === envId)!;
  if (active) {
    active.active = true;
    active.desired = true;
    e.active_deployment_id = active.id;
    e.desired_deployment_id = active.id;
  }
}
seedHistory('env_fraud_prod', 46, 34, 'main');
seedHistory('env_fraud_stg', 30, 20, 'develop');
features = 5;
seedHistory('env_recs_prod', 12, 50, 'main');
deployments.sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));

const tokens = [
  token('ci-deploy', ['deploy.create', 'deploy.read'], 40, 0.2, null),
  token('fraud-service', ['query.online'], 30, 0.001, null),
  token('analytics-notebook', ['query.offline', 'query.offline_read'], 20, 6, null),
  token('old-batch-job', ['query.offline'], 70, 45, 25),
];
function token(
  name: string,
  permissions: string[],
  createdDaysAgo: number,
  usedDaysAgo: number | null,
  revokedDaysAgo: number | null,
) {
  return {
    id: `tok_${hex(12)}`,
    client_id: `client-${hex(16)}`,
    name,
    environment_id: 'env_fraud_prod',
    permissions,
    created_at: iso(NOW - createdDaysAgo * DAY),
    last_used_at: usedDaysAgo === null ? null : iso(NOW - usedDaysAgo * DAY),
    revoked_at: revokedDaysAgo === null ? null : iso(NOW - revokedDaysAgo * DAY),
  };
}

const ACTIONS = [
  'auth.local_login',
  'tokens.create',
  'tokens.revoke',
  'deployments.create',
  'deployments.redeploy',
  'oauth.token',
  'oauth.token',
  'oauth.token',
];
const audit = Array.from({ length: 140 }, (_, i) => {
  const action = pick(ACTIONS);
  const r = rand();
  return {
    id: `aud_${i}`,
    at: iso(NOW - rand() * 14 * DAY),
    principal: action === 'oauth.token' ? `token:${pick(tokens).client_id}` : `user:${pick(AUTHORS)}`,
    action,
    target: action.startsWith('deployments')
      ? `dep_${hex(20)}`
      : action.startsWith('tokens')
        ? `tok_${hex(12)}`
        : null,
    outcome: r < 0.82 ? 'success' : r < 0.93 ? 'denied' : 'error',
    ip: `10.0.${Math.floor(rand() * 8)}.${Math.floor(rand() * 250)}`,
    trace_id: null,
  };
}).sort((a, b) => Date.parse(b.at) - Date.parse(a.at));

const sessions = new Set<string>();
const USERS = new Map([
  ['owner@example.com', { id: 'user_owner', email: 'owner@example.com', name: 'Owner' }],
]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function page<T>(items: readonly T[], url: URL) {
  const limit = Math.min(500, Number(url.searchParams.get('limit') ?? 50));
  const offset = Number(url.searchParams.get('cursor') ?? 0);
  const slice = items.slice(offset, offset + limit);
  return { items: slice, next_cursor: offset + limit < items.length ? String(offset + limit) : null };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function route(method: string, path: string, pattern: string): Record<string, string> | null {
  const [m, p] = pattern.split(' ') as [string, string];
  if (m !== method) return null;
  const a = p.split('/');
  const b = path.split('/');
  if (a.length !== b.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.startsWith(':')) params[a[i]!.slice(1)] = decodeURIComponent(b[i]!);
    else if (a[i] !== b[i]) return null;
  }
  return params;
}

interface Ctx {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly params: Record<string, string>;
  readonly cookie: string | undefined;
}
type RouteHandler = (ctx: Ctx) => unknown;

/** Routes that need no session. */
const PUBLIC_ROUTES: Record<string, RouteHandler> = {
  'POST /v1/auth/local-login': async ({ req, res }) => {
    const body = await readJson(req);
    const user = USERS.get(String(body.email ?? '').toLowerCase());
    if (!user) throw new HttpError(401, 'UNKNOWN_EMAIL', `${String(body.email)} is not a member or invited`);
    const sid = randomBytes(16).toString('hex');
    sessions.add(sid);
    res.setHeader('set-cookie', `slate_session=${sid}; HttpOnly; SameSite=Strict; Path=/`);
    return { user };
  },
  'POST /v1/auth/logout': ({ res, cookie }) => {
    if (cookie) sessions.delete(cookie);
    res.setHeader('set-cookie', 'slate_session=; Path=/; Max-Age=0');
    return { ok: true };
  },
};

const ROUTES: Record<string, RouteHandler> = {
  'GET /v1/me': () => ({
    user: USERS.get('owner@example.com'),
    teams: [{ id: 'team_acme', name: 'Acme Payments', role: 'owner' }],
  }),
  'GET /v1/teams': ({ url }) => page(teams, url),
  'GET /v1/projects': ({ url }) => page(projects, url),
  'GET /v1/environments': ({ url }) => page(environments, url),
  'GET /v1/environments/:id': ({ params }) => findEnv(params.id!),
  'GET /v1/data-planes': ({ url }) => {
    if (args['no-data-planes']) throw new HttpError(404, 'NOT_FOUND', 'no route');
    return page(dataPlanes, url);
  },
  'GET /v1/deployments': ({ url }) =>
    page(
      deployments.filter((d) => d.environment_id === url.searchParams.get('environment_id')),
      url,
    ),
  'GET /v1/deployments/:id': ({ params }) => ({ ...findDeployment(params.id!), graph }),
  'POST /v1/deployments/:id/redeploy': ({ params }) => {
    const source = findDeployment(params.id!);
    const e = findEnv(source.environment_id);
    const d: Deployment = {
      ...source,
      id: `dep_${hex(20)}`,
      status: 'DEPLOYING',
      created_at: iso(Date.now()),
      activated_at: null,
      active: false,
      desired: true,
    };
    for (const x of deployments) if (x.environment_id === e.id) x.desired = false;
    deployments.unshift(d);
    e.desired_deployment_id = d.id;
    setTimeout(() => {
      d.status = 'SUCCESS';
      d.activated_at = iso(Date.now());
      d.active = true;
      for (const x of deployments) if (x.environment_id === e.id && x !== d) x.active = false;
      e.active_deployment_id = d.id;
    }, 6_000);
    return { id: d.id, status: d.status, environment_id: d.environment_id, created_at: d.created_at };
  },
  'GET /v1/environments/:id/tokens': ({ params, url }) => {
    findEnv(params.id!);
    return page(
      tokens.filter((t) => t.environment_id === params.id),
      url,
    );
  },
  'POST /v1/environments/:id/tokens': async ({ params, req, res }) => {
    findEnv(params.id!);
    const body = await readJson(req);
    const t = {
      ...token(String(body.name), (body.permissions as string[]) ?? [], 0, null, null),
      environment_id: params.id!,
    };
    tokens.unshift(t);
    res.statusCode = 201;
    return { id: t.id, client_id: t.client_id, client_secret: `sk_${randomBytes(24).toString('base64url')}` };
  },
  'DELETE /v1/tokens/:id': ({ params }) => {
    const t = tokens.find((x) => x.id === params.id);
    if (!t) throw new HttpError(404, 'TOKEN_NOT_FOUND', `no token ${params.id}`);
    t.revoked_at = iso(Date.now());
    return t;
  },
  'GET /v1/audit-log': ({ url }) => page(audit, url),
};

function find(table: Record<string, RouteHandler>, method: string, path: string) {
  for (const [pattern, handler] of Object.entries(table)) {
    const params = route(method, path, pattern);
    if (params) return { handler, params };
  }
  return null;
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  const cookie = /slate_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  if (method !== 'GET' && url.pathname !== '/v1/auth/local-login' && req.headers['x-slate-csrf'] !== '1') {
    throw new HttpError(403, 'CSRF_HEADER_MISSING', 'x-slate-csrf header required');
  }
  const open = find(PUBLIC_ROUTES, method, url.pathname);
  if (open) return open.handler({ req, res, url, params: open.params, cookie });
  if (cookie === undefined || !sessions.has(cookie))
    throw new HttpError(401, 'UNAUTHENTICATED', 'sign in first');
  const found = find(ROUTES, method, url.pathname);
  if (!found) throw new HttpError(404, 'NOT_FOUND', `no route ${method} ${url.pathname}`);
  return found.handler({ req, res, url, params: found.params, cookie });
}

function findEnv(id: string): Env {
  const e = environments.find((x) => x.id === id);
  if (!e) throw new HttpError(404, 'ENVIRONMENT_NOT_FOUND', `no environment ${id}`);
  return e;
}
function findDeployment(id: string): Deployment {
  const d = deployments.find((x) => x.id === id);
  if (!d) throw new HttpError(404, 'DEPLOYMENT_NOT_FOUND', `no deployment ${id}`);
  return d;
}

const server = createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  handle(req, res).then(
    (body) => res.end(JSON.stringify(body)),
    (error: unknown) => {
      const e = error instanceof HttpError ? error : new HttpError(500, 'INTERNAL', 'internal server error');
      if (!(error instanceof HttpError)) console.error(error);
      res.statusCode = e.status;
      res.end(JSON.stringify({ detail: e.message, message: e.message, trace: null, code: e.code }));
    },
  );
});
server.listen(Number(args.port), '127.0.0.1', () => {
  console.log(`fake metadata-plane API on http://127.0.0.1:${args.port}`);
});
