/**
 * The client against the real data-plane HTTP server (over loopback) serving the quickstart example. Only
 * the metadata plane's token exchange is answered here, by signing a token with a key the data plane trusts.
 */
import { createDataPlaneServer, createOnlineStoreFeatureWriter, ServedEnvironments } from '@slate/data-plane';
import { createEngine, createInProcessRuntime } from '@slate/engine';
import { collectGraph } from '@slate/sdk';
import { createMemoryOnlineStore } from '@slate/stores';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as quickstart from '../../../examples/quickstart/src/index.ts';
import { transactions, users } from '../../../examples/quickstart/src/sample-data.ts';
import { createSlateClient, type SlateClient } from './index.ts';

const issuer = 'http://metadata.test';
const onlineStore = createMemoryOnlineStore();
let app: ReturnType<typeof createDataPlaneServer>;
let client: SlateClient;

beforeAll(async () => {
  const { artifact, functions } = collectGraph(quickstart);
  const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'EdDSA' };
  const served = new ServedEnvironments();
  served.upsert({ id: 'dev', name: 'Development', teamId: 'acme', projectId: 'fraud' });
  await onlineStore.init();
  served.activate('dev', {
    id: 'cdep1',
    engine: createEngine({
      graph: artifact,
      runtime: createInProcessRuntime(functions),
      onlineStore,
      environment: 'dev',
      deploymentId: 'cdep1',
    }),
  });
  app = createDataPlaneServer({
    served,
    verifier: (await import('@slate/data-plane')).createTokenVerifier({
      jwksUrl: `${issuer}/jwks`,
      issuer,
      keys: createLocalJWKSet({ keys: [jwk] }),
    }),
    logger: pino({ level: 'silent' }),
    isReady: () => true,
    featureWriter: createOnlineStoreFeatureWriter(onlineStore),
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const accessToken = await new SignJWT({ env: 'dev', perms: ['query.online', 'deploy.read'] })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
    .setIssuer(issuer)
    .setAudience('slate')
    .setSubject('tok_1')
    .setExpirationTime('1h')
    .sign(pair.privateKey);
  const tokenExchange: typeof fetch = async (input, init) => {
    if (String(input).endsWith('/v1/oauth/token'))
      return Response.json({
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: 3600,
        primary_environment: 'dev',
      });
    return fetch(input, init);
  };
  client = createSlateClient({
    apiServer: issuer,
    clientId: 'id',
    clientSecret: 'secret',
    queryServer: url,
    fetch: tokenExchange,
  });
});

afterAll(async () => {
  await app.close();
});

const nameOf = (id: number) => users.find((u) => u.id === id)?.name;

describe('queryBulk', () => {
  it('answers every row, with int64 columns read back as numbers', async () => {
    const result = await client.queryBulk({
      inputs: { 'user.id': [2, 4, 42] },
      outputs: ['user.name', 'user.transaction_count'],
    });
    expect(result.rows.map((row) => row['user.name'])).toEqual([nameOf(2), nameOf(4), null]);
    expect(result.rows.map((row) => row['user.transaction_count'])).toEqual(
      [2, 4, 42].map((id) => (id === 42 ? 0 : transactions.filter((t) => t.user_id === id).length)),
    );
    expect(result.rows.map((row) => row['user.id'])).toEqual([2, 4, 42]);
    expect(result.errors).toEqual([
      expect.objectContaining({ code: 'RESOLVER_FAILED', feature: 'user.name' }),
    ]);
    expect(result.meta).toMatchObject({ deployment_id: 'cdep1', environment_id: 'dev' });
  });

  it('returns has-many outputs as group tables', async () => {
    const result = await client.queryBulk({ inputs: { 'user.id': [3] }, outputs: ['user.transactions'] });
    const group = result.groups['user.transactions']!;
    expect(group.toArray().map((row) => Number(row.toJSON()['transaction.id']))).toEqual(
      transactions.filter((t) => t.user_id === 3).map((t) => t.id),
    );
  });
});

describe('multiQuery', () => {
  it('answers several queries in request order', async () => {
    const ids = [5, 1, 4, 2, 3, 5, 1, 4, 2, 3, 1, 2];
    const results = await client.multiQuery(
      ids.map((id) => ({ inputs: { 'user.id': [id] }, outputs: ['user.name'] })),
    );
    expect(results.map((r) => r.rows[0]?.['user.name'])).toEqual(ids.map(nameOf));
  });

  it('reports an unknown output in its own query', async () => {
    const [ok, bad] = await client.multiQuery([
      { inputs: { 'user.id': [1] }, outputs: ['user.name'] },
      { inputs: { 'user.id': [1] }, outputs: ['user.nope'] },
    ]);
    expect(ok!.errors).toEqual([]);
    expect(bad!.rows).toEqual([]);
    expect(bad!.errors[0]).toMatchObject({ code: 'PARSE_FAILED', feature: 'user.nope' });
  });
});

describe('uploadFeatures and deleteFeatures', () => {
  it('stores rows the data plane then holds, and deletes them', async () => {
    const uploaded = await client.uploadFeatures({
      'transaction.id': [9001, 9002],
      'transaction.amount': [12.5, 99],
    });
    expect(uploaded.operation_id).toEqual(expect.any(String));
    const keys = [9001, 9002].map((pkey) => ({ feature: 'transaction.amount', pkey }));
    expect((await onlineStore.get('dev', keys)).map((v) => v?.value)).toEqual([12.5, 99]);
    expect(
      await client.deleteFeatures({ namespace: 'transaction', features: ['amount'], primaryKeys: [9001] }),
    ).toEqual({
      errors: [],
    });
    expect((await onlineStore.get('dev', keys)).map((v) => v?.value ?? null)).toEqual([null, 99]);
  });

  it('throws the data plane’s error for rows it refuses', async () => {
    await expect(client.uploadFeatures({ 'transaction.amount': [1] })).rejects.toMatchObject({
      kind: 'input',
      code: 'INVALID_QUERY',
    });
  });
});

describe('environmentGraph', () => {
  it('lists the active deployment’s features and resolvers', async () => {
    const graph = await client.environmentGraph();
    expect(graph.deployment_id).toBe('cdep1');
    expect(graph.features.map((f) => f.fqn)).toContain('user.risk_score');
    expect(graph.resolvers.find((r) => r.fqn === 'get_user')?.feature_outputs).toEqual([
      'user.name',
      'user.email',
    ]);
  });
});
