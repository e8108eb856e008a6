import { createEngine, createInProcessRuntime } from '@slate/engine';
import { collectGraph } from '@slate/sdk';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import * as quickstart from '../../../../examples/quickstart/src/index.ts';
import { createTokenVerifier } from '../auth/token-verifier.ts';
import { ServedEnvironments } from '../deployments/served-environments.ts';
import { createDataPlaneServer } from './server.ts';

const issuer = 'http://metadata.test';
const { artifact, functions } = collectGraph(quickstart);
type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let signingKey: SigningKey;
let foreignKey: SigningKey;
let app: ReturnType<typeof createDataPlaneServer>;
let served: ServedEnvironments;

function engineFor(deploymentId: string) {
  return createEngine({
    graph: artifact,
    runtime: createInProcessRuntime(functions),
    environment: 'dev',
    deploymentId,
  });
}

async function token(
  claims: Record<string, unknown> = {},
  options: { key?: SigningKey; expiresIn?: string; kid?: string } = {},
) {
  return new SignJWT({
    client_id: 'token-abc',
    kind: 'service_token',
    env: 'dev',
    team: 'acme',
    perms: ['query.online'],
    ...claims,
  })
    .setProtectedHeader({ alg: 'EdDSA', kid: options.kid ?? 'k1' })
    .setIssuer(issuer)
    .setAudience('slate')
    .setSubject('tok_1')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '1h')
    .sign(options.key ?? signingKey);
}

/** Log lines at warn level or above, in order. */
const logged: string[] = [];

async function query(body: unknown, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/query/online',
    headers: { authorization: `Bearer ${await token()}`, 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

beforeAll(async () => {
  const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  signingKey = pair.privateKey;
  foreignKey = (await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'EdDSA' };
  const verifier = createTokenVerifier({
    jwksUrl: `${issuer}/.well-known/jwks.json`,
    issuer,
    keys: createLocalJWKSet({ keys: [jwk] }),
  });
  served = new ServedEnvironments();
  served.upsert({ id: 'dev', name: 'Development', teamId: 'acme', projectId: 'fraud' });
  served.upsert({ id: 'prod', name: 'Production', teamId: 'acme', projectId: 'fraud' });
  served.activate('dev', { id: 'cdep1', engine: engineFor('cdep1') });
  // Warnings and errors are kept: an answered query must log none (e.g. no error raised after the reply).
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logged.push(line) });
  app = createDataPlaneServer({ served, verifier, logger, isReady: () => true });
});

describe('authentication', () => {
  const unauthenticated = {
    detail: expect.any(String),
    message: expect.any(String),
    trace: null,
    code: 'UNAUTHENTICATED',
  };

  it('refuses a request without a token', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/query/online',
      payload: { inputs: {}, outputs: [] },
    });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual(unauthenticated);
  });

  it('refuses a token signed by another key', async () => {
    const response = await query(
      { inputs: { 'user.id': 1 }, outputs: ['user.name'] },
      { authorization: `Bearer ${await token({}, { key: foreignKey })}` },
    );
    expect(response.statusCode).toBe(401);
  });

  it('refuses an expired token', async () => {
    const expired = await token({}, { expiresIn: '-1m' });
    const response = await query(
      { inputs: { 'user.id': 1 }, outputs: ['user.name'] },
      { authorization: `Bearer ${expired}` },
    );
    expect(response.statusCode).toBe(401);
    expect(response.json().message).toMatch(/expired/);
  });

  it('refuses a tampered token', async () => {
    const [header, payload, signature] = (await token()).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, env: 'prod' })).toString('base64url');
    const response = await query(
      { inputs: { 'user.id': 1 }, outputs: ['user.name'] },
      { authorization: `Bearer ${header}.${forged}.${signature}` },
    );
    expect(response.statusCode).toBe(401);
  });

  it('refuses to serve another environment than the token’s', async () => {
    const response = await query(
      { inputs: { 'user.id': 1 }, outputs: ['user.name'] },
      { 'x-chalk-env-id': 'prod' },
    );
    expect(response.statusCode).toBe(403);
    expect(response.json().code).toBe('UNAUTHORIZED');
  });

  it('refuses a token without the query.online permission', async () => {
    const response = await query(
      { inputs: { 'user.id': 1 }, outputs: ['user.name'] },
      { authorization: `Bearer ${await token({ perms: ['deploy.read'] })}` },
    );
    expect(response.statusCode).toBe(403);
  });

  it('answers who-am-i from the token', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/v1/who-am-i',
      headers: { authorization: `Bearer ${await token()}` },
    });
    expect(response.json()).toEqual({ user: 'tok_1', environment_id: 'dev', team_id: 'acme' });
  });
});

describe('POST /v1/query/online', () => {
  it('answers in the seed product’s shape', async () => {
    const before = logged.length;
    const response = await query(
      { inputs: { 'user.id': 1 }, outputs: ['user.name', 'user.email_domain'], include_meta: true },
      { 'x-chalk-env-id': 'dev' },
    );
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.errors).toEqual([]);
    expect(body.data).toEqual([
      {
        field: 'user.name',
        value: 'Ada Lovelace',
        pkey: 1,
        ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        valid: true,
        error: null,
        meta: {
          chosen_resolver_fqn: 'get_user',
          cache_hit: false,
          primitive_type: "<class 'str'>",
          version: 1,
        },
      },
      expect.objectContaining({ field: 'user.email_domain', value: 'analytical.io', pkey: 1 }),
    ]);
    expect(body.meta).toMatchObject({
      deployment_id: 'cdep1',
      environment_id: 'dev',
      environment_name: 'Development',
      query_hash: expect.any(String),
      query_id: expect.any(String),
      execution_duration_s: expect.any(Number),
    });
    expect(logged.slice(before)).toEqual([]);
  });

  it('leaves meta out unless asked', async () => {
    const body = (await query({ inputs: { 'user.id': 2 }, outputs: ['user.name'] })).json();
    expect(body.meta).toBeUndefined();
    expect(body.data[0].meta).toBeUndefined();
  });

  it('returns has-many outputs column-major', async () => {
    const body = (await query({ inputs: { 'user.id': 5 }, outputs: ['user.transactions'] })).json();
    expect(body.data[0].value).toEqual({
      columns: ['transaction.id', 'transaction.user_id', 'transaction.amount', 'transaction.at'],
      values: [
        [501, 502],
        [5, 5],
        [45, 5],
        ['2026-01-07T14:30:00.000Z', '2026-01-08T10:05:00.000Z'],
      ],
    });
  });

  it('names the has-many columns when there are no rows', async () => {
    // Found by the compatibility suite: user 4 (no transactions) got `{columns: [], values: []}`.
    const body = (await query({ inputs: { 'user.id': 4 }, outputs: ['user.transactions'] })).json();
    expect(body.data[0].value).toEqual({
      columns: ['transaction.id', 'transaction.user_id', 'transaction.amount', 'transaction.at'],
      values: [[], [], [], []],
    });
  });

  it('answers a has-many sub-feature as the has-many table restricted to that column', async () => {
    const body = (
      await query({ inputs: { 'user.id': 5 }, outputs: ['user.transactions.amount', 'user.name'] })
    ).json();
    expect(body.errors).toEqual([]);
    expect(body.data.map((d: { field: string }) => d.field)).toEqual([
      'user.transactions.amount',
      'user.name',
    ]);
    expect(body.data[0]).toMatchObject({
      valid: true,
      value: { columns: ['transaction.amount'], values: [[45, 5]] },
    });
  });

  it('still refuses a has-many sub-path that names nothing with PARSE_FAILED', async () => {
    const body = (await query({ inputs: { 'user.id': 5 }, outputs: ['user.transactions.nope'] })).json();
    expect(body.errors).toEqual([
      expect.objectContaining({ code: 'PARSE_FAILED', feature: 'user.transactions.nope' }),
    ]);
  });

  it('answers malformed JSON with 400 PARSE_FAILED', async () => {
    const response = await query('{"inputs": {');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      code: 'PARSE_FAILED',
      trace: null,
      errors: [{ code: 'PARSE_FAILED', category: 'REQUEST' }],
    });
  });

  it('answers a body of the wrong shape with 400 INVALID_QUERY', async () => {
    const response = await query({ inputs: 'user.id=1', outputs: 'user.name' });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('INVALID_QUERY');
  });

  it('reports an undefined output feature as the seed product does', async () => {
    const body = (
      await query({ inputs: { 'user.id': 1 }, outputs: ['user.nope'], include_meta: true })
    ).json();
    expect(body.data).toEqual([]);
    expect(body.errors).toEqual([
      {
        code: 'PARSE_FAILED',
        category: 'REQUEST',
        feature: 'user.nope',
        message: "Query output referenced undefined feature 'user.nope'",
      },
    ]);
    expect(body.meta.query_hash).toBeNull();
  });

  it('reports RESOLVER_NOT_FOUND and still answers the other outputs', async () => {
    const body = (
      await query({
        inputs: { 'user.email': 'eve@example.org' },
        outputs: ['user.name', 'user.email_domain'],
      })
    ).json();
    expect(body.data).toEqual([
      expect.objectContaining({ field: 'user.email_domain', value: 'example.org' }),
    ]);
    expect(body.errors).toEqual([
      expect.objectContaining({ code: 'RESOLVER_NOT_FOUND', category: 'REQUEST', feature: 'user.name' }),
    ]);
  });

  it('reports a failing resolver on the feature and in errors', async () => {
    const body = (await query({ inputs: { 'user.id': 42 }, outputs: ['user.name'] })).json();
    expect(body.data[0]).toMatchObject({
      field: 'user.name',
      value: null,
      valid: false,
      error: { code: 'RESOLVER_FAILED', resolver: 'get_user' },
    });
    expect(body.errors[0]).toMatchObject({
      code: 'RESOLVER_FAILED',
      category: 'FIELD',
      feature: 'user.name',
    });
    // Stack traces are off unless the server is told otherwise: no server file paths leave it.
    expect(body.errors[0].exception).toMatchObject({ kind: expect.any(String), stacktrace: '' });
    expect(JSON.stringify(body)).not.toContain('/src/');
  });

  it('answers 503 for an environment with no deployment yet', async () => {
    const response = await query(
      { inputs: { 'user.id': 1 }, outputs: ['user.name'] },
      { authorization: `Bearer ${await token({ env: 'prod' })}` },
    );
    expect(response.statusCode).toBe(503);
    expect(response.json().code).toBe('NO_ACTIVE_DEPLOYMENT');
  });

  it('swaps deployments without failing a query in flight', async () => {
    const ask = async (i: number) => {
      const response = await query({
        inputs: { 'user.id': (i % 5) + 1 },
        outputs: ['user.risk_score'],
        include_meta: true,
      });
      return { status: response.statusCode, deployment: response.json().meta?.deployment_id as string };
    };
    const before = Array.from({ length: 100 }, (_, i) => ask(i));
    await Promise.race(before);
    served.activate('dev', { id: 'cdep2', engine: engineFor('cdep2') });
    const after = Array.from({ length: 100 }, (_, i) => ask(i));
    const first = await Promise.all(before);
    const second = await Promise.all(after);
    expect([...first, ...second].every((r) => r.status === 200)).toBe(true);
    expect(first.some((r) => r.deployment === 'cdep1')).toBe(true);
    expect(second.every((r) => r.deployment === 'cdep2')).toBe(true);
  });
});
