/**
 * `slate apply`, `query` and `deployments` against a minimal stand-in for the planes (token exchange,
 * deployments, online query), written here because the real planes are built concurrently. End-to-end
 * runs against the real planes live in `e2e/`.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CliContext } from '../cli-context.ts';
import { runCli } from '../main.ts';
import { createTempFeatureRepo, type TempFeatureRepo, validRepoFiles } from '../temp-feature-repo.ts';

interface Stored {
  id: string;
  status: string;
  source_hash: string;
  desired: boolean;
  body: Record<string, unknown>;
}

let server: Server;
let baseUrl: string;
let deployments: Stored[];
/** The status a new deployment reaches after one poll. */
let finalStatus: string;
let queries: unknown[];

function reply(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const view = (d: Stored) => ({
  id: d.id,
  status: d.status,
  environment_id: 'env_dev',
  created_at: '2024-01-01T00:00:00.000Z',
  source_hash: d.source_hash,
  desired: d.desired,
  active: d.desired && d.status === 'SUCCESS',
  error: d.status === 'BOOT_ERRORS' ? "resolver get_name: Cannot find module 'pg'" : null,
});

async function handle(req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
  const url = new URL(req.url ?? '/', baseUrl);
  if (url.pathname === '/v1/oauth/token') {
    return reply(res, 200, {
      access_token: 'tok',
      token_type: 'Bearer',
      expires_in: 3600,
      primary_environment: 'env_dev',
      engines: { env_dev: `${baseUrl}/engine` },
      environment_id_to_name: { env_dev: 'dev' },
    });
  }
  if (req.headers.authorization !== 'Bearer tok') return reply(res, 401, { detail: 'no', message: 'no' });
  if (url.pathname === '/engine/v1/query/online') {
    queries.push(body);
    return reply(res, 200, {
      data: [{ field: 'user.name', value: 'user 7', error: null, meta: { chosen_resolver_fqn: 'get_name' } }],
      errors: [],
      meta: { query_id: 'q1', execution_duration_s: 0.0021 },
    });
  }
  if (url.pathname === '/v1/deployments' && req.method === 'POST') {
    for (const d of deployments) d.desired = false;
    const stored: Stored = {
      id: `cdep${deployments.length + 1}`,
      status: 'PENDING',
      source_hash: String(body.source_hash),
      desired: true,
      body,
    };
    deployments.unshift(stored);
    return reply(res, 200, view(stored));
  }
  if (url.pathname === '/v1/deployments' && req.method === 'GET') {
    return reply(res, 200, { items: deployments.map(view), next_cursor: null });
  }
  if (url.pathname === '/v1/environments/env_dev') {
    const active = deployments.find((d) => d.desired && d.status === 'SUCCESS');
    return reply(res, 200, {
      id: 'env_dev',
      name: 'dev',
      project_id: 'proj',
      team_id: 'team',
      active_deployment_id: active?.id ?? null,
    });
  }
  const rollout = /^\/v1\/deployments\/([^/]+)\/rollout$/.exec(url.pathname);
  const rolling = deployments.find((d) => d.id === rollout?.[1]);
  if (rolling) {
    const current = view(rolling);
    if (rolling.status === 'PENDING') rolling.status = finalStatus;
    const serving = current.status === 'SUCCESS' ? rolling.id : null;
    return reply(res, 200, {
      deployment_id: rolling.id,
      environment_id: 'env_dev',
      status: current.status,
      desired: current.desired,
      active: current.active,
      error: current.error,
      instances: [
        {
          data_plane_id: 'dp',
          instance_id: 'default',
          healthy: true,
          serving,
          loaded: serving === rolling.id,
        },
      ],
    });
  }
  const match = /^\/v1\/deployments\/([^/]+)(\/redeploy)?$/.exec(url.pathname);
  const found = deployments.find((d) => d.id === match?.[1]);
  if (!found)
    return reply(res, 404, { detail: 'no', message: 'no such deployment', code: 'DEPLOYMENT_NOT_FOUND' });
  if (match?.[2]) {
    for (const d of deployments) d.desired = false;
    const again: Stored = { ...found, id: `cdep${deployments.length + 1}`, status: 'PENDING', desired: true };
    deployments.unshift(again);
    return reply(res, 200, view(again));
  }
  const current = view(found);
  if (found.status === 'PENDING') found.status = finalStatus;
  return reply(res, 200, { ...current, graph: found.body.graph });
}

let repo: TempFeatureRepo;
beforeAll(async () => {
  repo = await createTempFeatureRepo(validRepoFiles);
  server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => reply(res, 500, { detail: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await repo.remove();
});
beforeEach(() => {
  deployments = [];
  finalStatus = 'SUCCESS';
  queries = [];
});

async function slate(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const context: CliContext = {
    cwd: repo.dir,
    env: { SLATE_CLIENT_ID: 'id', SLATE_CLIENT_SECRET: 'secret', SLATE_API_SERVER: baseUrl },
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
  };
  const code = await runCli(['node', 'slate', ...args], context);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('slate apply', () => {
  it('uploads the graph and bundle, waits, and reports each step', async () => {
    const run = await slate('apply');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('▸ collecting graph… 1 namespace, 1 resolver');
    expect(lines[1]).toMatch(/^▸ bundling… \d+ kB$/);
    expect(lines[2]).toBe(`▸ target  ${baseUrl} · team team · project proj · environment dev (env_dev)`);
    expect(lines[3]).toBe('▸ diff against nothing: no deployment is active');
    expect(lines[4]).toBe('  + feature user.id');
    expect(lines[5]).toBe('  + feature user.name');
    expect(lines[6]).toBe('  + resolver get_name');
    expect(lines).toContain('▸ validation… accepted as deployment cdep1 (PENDING)');
    expect(lines).toContain('▸ rollout… PENDING');
    expect(lines).toContain('▸ rollout… SUCCESS');
    expect(lines).toContain('  ✓ dp/default serves cdep1');
    expect(lines.at(-1)).toMatch(/^▸ ready: deployment cdep1 serves dev \(env_dev\) after \d+\.\ds$/);

    const sent = deployments[0]!.body;
    const bundle = Buffer.from(String(sent.bundle_base64), 'base64');
    expect(sent.source_hash).toBe(createHash('sha256').update(bundle).digest('hex'));
    expect(bundle.toString('utf8')).toContain('String(id)');
    expect(sent).toMatchObject({ environment_id: 'env_dev', graph: { project: 'tiny', version: 1 } });
  });

  it('does nothing when the same bundle already serves, unless --force', async () => {
    expect((await slate('apply')).code).toBe(0);
    const again = await slate('apply');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('▸ unchanged: deployment cdep1 already serves this bundle');
    expect(deployments).toHaveLength(1);
    expect((await slate('apply', '--force')).code).toBe(0);
    expect(deployments).toHaveLength(2);
  });

  it('exits 1 with the server error when the deployment ends BOOT_ERRORS', async () => {
    finalStatus = 'BOOT_ERRORS';
    const run = await slate('apply');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/rollout… BOOT_ERRORS after/);
    expect(run.stderr).toBe(
      "error[DEPLOYMENT_BOOT_ERRORS]: deployment cdep1 ended BOOT_ERRORS: resolver get_name: Cannot find module 'pg'\n",
    );
  });

  it('--no-await --json returns the recorded deployment on stdout, progress on stderr', async () => {
    const run = await slate('apply', '--no-await', '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      deployment: { id: 'cdep1', status: 'PENDING' },
      unchanged: false,
      source_hash: deployments[0]!.source_hash,
      lint: [],
    });
    expect(run.stderr).toContain('▸ validation… accepted as deployment cdep1 (PENDING)');
  });
});

describe('slate query', () => {
  it('sends the parsed inputs and prints a table', async () => {
    const run = await slate(
      'query',
      '--in',
      'user.id=7',
      '--out',
      'user.name',
      '--include-meta',
      '--tag',
      't',
    );
    expect(run.code).toBe(0);
    expect(queries).toEqual([
      { inputs: { 'user.id': 7 }, outputs: ['user.name'], context: { tags: ['t'] }, include_meta: true },
    ]);
    expect(run.stdout.split('\n')).toEqual([
      'feature    value   error  resolver  cache',
      '─────────  ──────  ─────  ────────  ─────',
      'user.name  user 7         get_name',
      'query q1 · 2.1 ms',
      '',
    ]);
  });

  it('--json prints the raw response', async () => {
    const run = await slate('query', '--in', 'user.id=7', '--out', 'user.name', '--json');
    expect(JSON.parse(run.stdout)).toEqual({
      data: [{ field: 'user.name', value: 'user 7', error: null, meta: { chosen_resolver_fqn: 'get_name' } }],
      errors: [],
      meta: { query_id: 'q1', execution_duration_s: 0.0021 },
    });
  });
});

describe('slate deployments', () => {
  it('lists and rolls back', async () => {
    await slate('apply');
    await slate('apply', '--force');
    const list = await slate('deployments', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^\* +cdep2 +SUCCESS/m);
    const rollback = await slate('deployments', 'rollback', 'cdep1');
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toContain('▸ redeploying cdep1 as cdep3… PENDING');
    expect(deployments[0]).toMatchObject({ id: 'cdep3', status: 'SUCCESS', desired: true });
    const missing = await slate('deployments', 'rollback', 'nope');
    expect(missing.code).toBe(4);
    expect(missing.stderr).toBe('error[DEPLOYMENT_NOT_FOUND]: no such deployment\n');
  });
});
