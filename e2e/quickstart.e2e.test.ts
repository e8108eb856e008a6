/**
 * The README's promise, end to end: `slate up` boots the platform on free ports in a temporary folder,
 * deploys the quickstart, serves queries with the seed product's wire shapes, takes a changed resolver
 * with `slate apply` without failing a query, stops on Ctrl-C, and reuses its state on the next start.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { PGlite } from '@electric-sql/pglite';
import { freePort } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeMailDomains, transactions, users } from '../examples/quickstart/src/sample-data.ts';
import { GrpcCompatClient } from './compatibility/client/grpc-client.ts';

const repo = new URL('..', import.meta.url).pathname;
const slateBin = join(repo, 'packages/cli/bin/slate.js');
const work = mkdtempSync(join(tmpdir(), 'slate-e2e-'));
const project = join(work, 'quickstart');
const stateDir = join(work, 'state');
let apiPort: number;
let dataPlanePort: number;
let grpcPort: number;
let dataPlaneGrpcPort: number;
let up: { child: ChildProcess; output: () => string };

/** Starts `slate up` and resolves once it printed that it is up. */
async function startUp(): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(
    process.execPath,
    [
      slateBin,
      'up',
      '--project',
      project,
      '--state-dir',
      stateDir,
      '--port',
      String(apiPort),
      '--data-plane-port',
      String(dataPlanePort),
      '--grpc-port',
      String(grpcPort),
      '--data-plane-grpc-port',
      String(dataPlaneGrpcPort),
    ],
    { cwd: work, env: { ...process.env, FORCE_COLOR: '0' } },
  );
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`slate up did not start in time:\n${output}`)), 90_000);
    const check = () => {
      if (output.includes('Press Ctrl-C to stop')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`slate up exited with ${code}:\n${output}`)));
  });
  return { child, output: () => output };
}

async function stop(process: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => process.once('exit', (code) => resolve(code)));
  process.kill('SIGINT');
  return exited;
}

const credentials = () => JSON.parse(readFileSync(join(stateDir, 'credentials.json'), 'utf8'));

async function accessToken(): Promise<string> {
  const { client_id, client_secret } = credentials();
  const response = await fetch(`http://127.0.0.1:${apiPort}/v1/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id, client_secret, grant_type: 'client_credentials' }),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

async function queryOnline(body: unknown, token: string) {
  const response = await fetch(`http://127.0.0.1:${dataPlanePort}/v1/query/online`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'x-chalk-env-id': 'dev',
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: responses are asserted field by field below.
  return { status: response.status, body: (await response.json()) as any };
}

/** The example's risk score for a user, from the sample data by a plain loop. */
function expectedRisk(id: number): number {
  const user = users.find((u) => u.id === id)!;
  let count = 0;
  let total = 0;
  for (const t of transactions) {
    if (t.user_id !== id) continue;
    count++;
    total += t.amount;
  }
  const freeMail = (freeMailDomains as readonly string[]).includes(user.email.split('@')[1]!) ? 0.2 : 0;
  return (
    Math.round(Math.min(1, 0.05 * count + Math.round(total * 100) / 100 / 5000 + freeMail) * 1000) / 1000
  );
}

const cli = (args: string[]) =>
  promisify(execFile)(process.execPath, [slateBin, ...args], {
    cwd: work,
    env: {
      ...process.env,
      SLATE_API_SERVER: `http://127.0.0.1:${apiPort}`,
      SLATE_CLIENT_ID: credentials().client_id,
      SLATE_CLIENT_SECRET: credentials().client_secret,
    },
  });

beforeAll(async () => {
  cpSync(join(repo, 'examples/quickstart'), project, {
    recursive: true,
    filter: (source) => !source.includes('node_modules'),
  });
  // The copy resolves @slate/sdk from the repository, as an installed project would from its own node_modules.
  symlinkSync(join(repo, 'node_modules'), join(work, 'node_modules'), 'dir');
  apiPort = await freePort();
  dataPlanePort = await freePort();
  grpcPort = await freePort();
  dataPlaneGrpcPort = await freePort();
  up = await startUp();
}, 120_000);

afterAll(async () => {
  if (up?.child.exitCode === null) await stop(up.child);
  rmSync(work, { recursive: true, force: true });
});

describe('slate up, end to end', () => {
  it('writes credentials for the seeded environment', () => {
    expect(up.output()).toContain('sign in as owner@example.com');
    expect(credentials()).toEqual({
      client_id: expect.stringMatching(/^token-/),
      client_secret: expect.any(String),
      api_server: `http://127.0.0.1:${apiPort}`,
      environment: 'dev',
    });
  });

  it('exchanges client credentials for a token as the seed product does', async () => {
    const { client_id, client_secret } = credentials();
    const response = await fetch(`http://127.0.0.1:${apiPort}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id, client_secret, grant_type: 'client_credentials' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: expect.any(Number),
      primary_environment: 'dev',
      engines: { dev: `http://127.0.0.1:${dataPlanePort}` },
    });
  });

  it("serves the seed product's gRPC API at the API host: token exchange, then a query forwarded to the data plane", async () => {
    expect(up.output()).toContain(
      `127.0.0.1:${grpcPort} (API host), 127.0.0.1:${dataPlaneGrpcPort} (data plane)`,
    );
    const { client_id, client_secret } = credentials();
    const token = await GrpcCompatClient.exchangeToken(`127.0.0.1:${grpcPort}`, {
      clientId: client_id,
      clientSecret: client_secret,
    });
    expect(token.grpc_engines).toEqual({ dev: `http://127.0.0.1:${dataPlaneGrpcPort}` });
    const client = new GrpcCompatClient({
      address: `127.0.0.1:${grpcPort}`,
      environment: 'dev',
      accessToken: token.access_token as string,
    });
    try {
      const answer = await client.onlineQuery({ inputs: { 'user.id': 1 }, outputs: ['user.risk_score'] });
      expect(answer.errors).toEqual([]);
      expect(answer.values['user.risk_score']).toBeCloseTo(expectedRisk(1), 6);
    } finally {
      client.close();
    }
  });

  it('refuses bad credentials with the exact 401 body', async () => {
    const response = await fetch(`http://127.0.0.1:${apiPort}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: credentials().client_id,
        client_secret: 'wrong',
        grant_type: 'client_credentials',
      }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      detail: 'Client ID and secret are invalid',
      message: 'Client ID and secret are invalid',
      trace: null,
    });
  });

  it('answers an online query for every sample user', async () => {
    const token = await accessToken();
    for (const user of users) {
      const { status, body } = await queryOnline(
        { inputs: { 'user.id': user.id }, outputs: ['user.name', 'user.risk_score'] },
        token,
      );
      expect(status).toBe(200);
      expect(body.errors).toEqual([]);
      expect(body.data.map((d: { field: string; value: unknown }) => [d.field, d.value])).toEqual([
        ['user.name', user.name],
        ['user.risk_score', expectedRisk(user.id)],
      ]);
    }
  });

  it('persists computed values through the result bus to the offline store, read back point-in-time', async () => {
    const token = await accessToken();
    // The online queries above computed these; background persistence wrote them offline.
    const ask = async () => {
      const submitted = await fetch(`http://127.0.0.1:${dataPlanePort}/v4/offline_query`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          input: { columns: ['user.id'], values: [[1, 3]] },
          input_times: [new Date().toISOString(), new Date().toISOString()],
          output: ['user.name', 'user.risk_score'],
        }),
      });
      const dataset = (await submitted.json()) as { revisions: { revision_id: string }[] };
      const revision = dataset.revisions[0]!.revision_id;
      let result: { is_finished: boolean; urls: string[] } = { is_finished: false, urls: [] };
      for (let i = 0; i < 100 && !result.is_finished; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        result = await fetch(`http://127.0.0.1:${dataPlanePort}/v2/offline_query/${revision}`, {
          headers: { authorization: `Bearer ${token}` },
        }).then((r) => r.json() as Promise<typeof result>);
      }
      const rows: Record<string, unknown>[] = [];
      for (const url of result.urls) {
        const part = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
        const file = join(work, `${revision}.parquet`);
        writeFileSync(file, new Uint8Array(await part.arrayBuffer()));
        const duck = await DuckDBInstance.create(':memory:');
        const connection = await duck.connect();
        const reader = await connection.runAndReadAll(
          `select * from read_parquet('${file}') order by "user.id"`,
        );
        rows.push(...reader.getRowObjectsJS());
        connection.closeSync();
        duck.closeSync();
      }
      return rows.map((row) => [Number(row['user.id']), row['user.name'], row['user.risk_score']]);
    };
    await expect.poll(ask, { timeout: 20_000, interval: 500 }).toEqual([
      [1, 'Ada Lovelace', expectedRisk(1)],
      [3, 'Alan Turing', expectedRisk(3)],
    ]);
  });

  it('answers malformed JSON with 400 PARSE_FAILED', async () => {
    const { status, body } = await queryOnline('{"inputs": ', await accessToken());
    expect(status).toBe(400);
    expect(body.code).toBe('PARSE_FAILED');
  });

  it('reports an undefined output and a feature without a resolver in scope', async () => {
    const token = await accessToken();
    const undefinedOutput = await queryOnline(
      { inputs: { 'user.id': 1 }, outputs: ['user.favourite_colour'] },
      token,
    );
    expect(undefinedOutput.body.errors).toEqual([
      {
        code: 'PARSE_FAILED',
        category: 'REQUEST',
        feature: 'user.favourite_colour',
        message: "Query output referenced undefined feature 'user.favourite_colour'",
      },
    ]);
    const noResolver = await queryOnline(
      { inputs: { 'user.email': 'kim@gmail.com' }, outputs: ['user.email_domain', 'user.name'] },
      token,
    );
    expect(noResolver.body.data).toEqual([
      expect.objectContaining({ field: 'user.email_domain', value: 'gmail.com' }),
    ]);
    expect(noResolver.body.errors).toEqual([
      expect.objectContaining({ code: 'RESOLVER_NOT_FOUND', feature: 'user.name' }),
    ]);
  });

  it('takes an edited resolver with slate apply, failing no query in between', async () => {
    const token = await accessToken();
    const resolvers = join(project, 'src/resolvers.ts');
    writeFileSync(
      resolvers,
      readFileSync(resolvers, 'utf8').replace('.toLowerCase() })', '.toUpperCase() })'),
    );

    let applying = true;
    const failures: unknown[] = [];
    const domains = new Set<string>();
    const traffic = (async () => {
      while (applying) {
        const { status, body } = await queryOnline(
          { inputs: { 'user.id': 1 }, outputs: ['user.email_domain'] },
          token,
        );
        if (status !== 200 || body.errors.length > 0) failures.push(body);
        else domains.add(body.data[0].value);
      }
    })();
    const applied = await cli(['apply', '--dir', project]);
    const after = await queryOnline({ inputs: { 'user.id': 1 }, outputs: ['user.email_domain'] }, token);
    applying = false;
    await traffic;

    expect(applied.stdout).toMatch(/SUCCESS/);
    expect(after.body.data[0].value).toBe('ANALYTICAL.IO');
    expect(failures).toEqual([]);
    expect(domains.has('analytical.io')).toBe(true);
  });

  it('rolls back to the first deployment with slate deployments rollback, and the data plane serves it again', async () => {
    const token = await accessToken();
    const { stdout } = await cli(['deployments', 'list', '--json']);
    const listed = JSON.parse(stdout) as { items: { id: string; created_at: string }[] };
    const oldest = [...listed.items].sort((a, b) => a.created_at.localeCompare(b.created_at))[0]!;
    expect(listed.items.length).toBeGreaterThanOrEqual(2);
    const rolledBack = await cli(['deployments', 'rollback', oldest.id]);
    expect(rolledBack.stdout).toMatch(/SUCCESS/);
    const { body } = await queryOnline(
      { inputs: { 'user.id': 1 }, outputs: ['user.email_domain'], include_meta: true },
      token,
    );
    expect(body.data[0].value).toBe('analytical.io');
    expect(body.meta.deployment_id).toBe(oldest.id);
    // Back to the edited code, so later tests see the deployment they expect.
    const forward = await cli(['apply', '--dir', project, '--force']);
    expect(forward.stdout).toMatch(/SUCCESS/);
  });

  it('answers slate query from the command line', async () => {
    const { stdout } = await cli([
      'query',
      '--in',
      'user.id=2',
      '--out',
      'user.name',
      '--out',
      'user.transaction_count',
    ]);
    expect(stdout).toContain('Grace Hopper');
    expect(stdout).toMatch(/user\.transaction_count\s+1\b/);
  });

  it('answers the SQL file resolver from the app_db data source as a plain SQL query does', async () => {
    const db = new PGlite();
    await db.exec(readFileSync(join(project, 'data/app_db.sql'), 'utf8'));
    const plain = await db.query<{ user_id: number; plan: string; seats: number }>(
      'select user_id, plan, seats from plans',
    );
    await db.close();
    const expected = new Map(plain.rows.map((row) => [row.user_id, [row.plan, row.seats]]));
    const token = await accessToken();
    for (const user of users) {
      const { body } = await queryOnline(
        { inputs: { 'user.id': user.id }, outputs: ['user.plan', 'user.seats'] },
        token,
      );
      expect(body.errors).toEqual([]);
      expect(body.data.map((d: { value: unknown }) => d.value)).toEqual(
        expected.get(user.id) ?? [null, null],
      );
    }
  });

  it('serves values from a streaming resolver online, fed by the example producer', async () => {
    const token = await accessToken();
    const produced = await promisify(execFile)(
      process.execPath,
      [join(project, 'scripts/produce-page-views.mjs'), `http://127.0.0.1:${dataPlanePort}`],
      { env: { ...process.env, SLATE_TOKEN: token } },
    );
    expect(produced.stdout).toContain('published 5 messages to page-views');
    const lastPages = async () => {
      const pages: unknown[] = [];
      for (const id of [1, 2, 3]) {
        const { body } = await queryOnline({ inputs: { 'user.id': id }, outputs: ['user.last_page'] }, token);
        pages.push(body.data[0]?.value);
      }
      return pages;
    };
    // User 1's latest view wins; user 2 viewed nothing; the skipped and malformed messages change nothing.
    await expect.poll(lastPages, { timeout: 20_000, interval: 200 }).toEqual(['/docs', null, '/checkout']);
    // The windowed stream on the same topic counts the views per user in both windows (2, none, 1).
    const viewCounts = async () => {
      const counts: unknown[] = [];
      for (const id of [1, 2, 3]) {
        const { body } = await queryOnline(
          {
            inputs: { 'user.id': id },
            outputs: ['user.num_page_views__600__', 'user.num_page_views__3600__'],
          },
          token,
        );
        counts.push(body.data.map((d: { value: unknown }) => d.value));
      }
      return counts;
    };
    await expect.poll(viewCounts, { timeout: 20_000, interval: 200 }).toEqual([
      [2, 2],
      [0, 0],
      [1, 1],
    ]);
  });

  it('runs the scheduled resolver on demand and reports the run', async () => {
    const token = await accessToken();
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const triggered = await fetch(`http://127.0.0.1:${dataPlanePort}/v1/runs/trigger`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ resolver_fqn: 'user_directory', idempotency_key: 'e2e-directory' }),
    });
    expect(triggered.status).toBe(200);
    const run = (await triggered.json()) as { id: string; status: string };
    expect(run.status).toBe('received');
    const status = async () =>
      (await fetch(`http://127.0.0.1:${dataPlanePort}/v1/runs/${run.id}`, { headers }).then((r) =>
        r.json(),
      )) as { status: string; rows: number };
    await expect
      .poll(status, { timeout: 20_000, interval: 200 })
      .toMatchObject({ status: 'succeeded', rows: users.length });
    const again = await fetch(`http://127.0.0.1:${dataPlanePort}/v1/runs/trigger`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ resolver_fqn: 'user_directory', idempotency_key: 'e2e-directory' }),
    });
    expect(((await again.json()) as { id: string }).id).toBe(run.id);
  });

  it('stops on Ctrl-C and reuses its state on the next start', async () => {
    expect(await stop(up.child)).toBe(0);
    expect(up.output()).toContain('▸ stopped');
    const before = credentials();
    up = await startUp();
    expect(up.output()).toMatch(/is unchanged: still serving deployment c[a-z0-9]{24}/);
    expect(credentials()).toEqual(before);
    const { body } = await queryOnline(
      { inputs: { 'user.id': 1 }, outputs: ['user.email_domain'] },
      await accessToken(),
    );
    expect(body.data[0].value).toBe('ANALYTICAL.IO');
  });
});
