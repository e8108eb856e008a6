import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import * as accounts from './fixtures/account-module.ts';
import { createTestPlane, type TestPlane } from './fixtures/test-plane.ts';

let quickstart: TestPlane;
let plane: TestPlane;
beforeAll(async () => {
  quickstart = await createTestPlane();
  plane = await createTestPlane({ module: accounts });
});

async function call(
  target: TestPlane,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return target.app.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${await target.token()}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
}

/** A byte model built here from chalk.md §3.6, independently of the server's codec. */
function uploadModel(attrs: Record<string, unknown>, tableBytes: Uint8Array): Buffer {
  const json = (value: unknown) => {
    const text = Buffer.from(JSON.stringify(value));
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(text.length));
    return [length, text];
  };
  return Buffer.concat([
    Buffer.from('CHALK_BYTE_TRANSMISSION'),
    ...json(attrs),
    ...json({}),
    ...json({ table_bytes: tableBytes.length }),
    Buffer.from(tableBytes),
    ...json({}),
  ]);
}

describe('POST /v1/upload/single', () => {
  it('stores the values, which cached features then serve', async () => {
    const response = await call(plane, 'POST', '/v1/upload/single', {
      inputs: { 'account.id': 7, 'account.nickname': 'uploaded-seven' },
      outputs: ['account.id', 'account.nickname'],
      context: { tags: [] },
      correlation_id: 'c-1',
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      data: [{ field: 'account.nickname', value: 'uploaded-seven', error: null, ts: expect.any(String) }],
      errors: [],
    });
    const stored = await plane.onlineStore.get('dev', [{ feature: 'account.nickname', pkey: 7 }]);
    expect(stored[0]?.value).toBe('uploaded-seven');
    const query = await call(plane, 'POST', '/v1/query/online', {
      inputs: { 'account.id': 7 },
      outputs: ['account.nickname'],
      include_meta: true,
    });
    expect(query.json().data[0]).toMatchObject({ value: 'uploaded-seven', meta: { cache_hit: true } });
  });

  it.each([
    [
      { inputs: { 'account.id': 1, 'account.nope': 'x' } },
      'PARSE_FAILED',
      /undefined feature 'account.nope'/,
    ],
    [{ inputs: { 'account.id': 1, 'account.slow_score': 'high' } }, 'PARSE_FAILED', /expected an integer/],
    [{ inputs: { 'account.nickname': 'no key' } }, 'INVALID_QUERY', /primary key 'account.id'/],
    [{ inputs: 'account.id=1' }, 'INVALID_REQUEST', /inputs/],
  ])('refuses %j with 400 %s', async (body, code, message) => {
    const response = await call(plane, 'POST', '/v1/upload/single', body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code, detail: expect.stringMatching(message), trace: null });
    expect(response.json().errors.length).toBeGreaterThan(0);
  });

  it.each([['a key with spaces'], ['x'.repeat(129)], ['é']])(
    'refuses a malformed Idempotency-Key (%#) with 400 INVALID_IDEMPOTENCY_KEY',
    async (key) => {
      const response = await plane.app.inject({
        method: 'POST',
        url: '/v1/upload/single',
        headers: {
          authorization: `Bearer ${await plane.token()}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        payload: { inputs: { 'account.id': 8, 'account.nickname': 'eight' } },
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'INVALID_IDEMPOTENCY_KEY' });
    },
  );
});

describe('POST /v1/upload_features/multi', () => {
  const post = async (body: Buffer) =>
    plane.app.inject({
      method: 'POST',
      url: '/v1/upload_features/multi',
      headers: {
        authorization: `Bearer ${await plane.token()}`,
        'content-type': 'application/octet-stream',
      },
      payload: body,
    });

  it('stores every row of an Arrow table', async () => {
    const table = tableFromArrays({
      'account.id': new BigInt64Array([100n, 101n, 102n]),
      'account.nickname': ['a', 'b', 'c'],
    });
    const response = await post(
      uploadModel(
        { features: ['account.id', 'account.nickname'], table_compression: 'uncompressed' },
        tableToIPC(table, 'stream'),
      ),
    );
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ operation_id: expect.any(String), errors: [] });
    const stored = await plane.onlineStore.get(
      'dev',
      [100, 101, 102].map((pkey) => ({ feature: 'account.nickname', pkey })),
    );
    expect(stored.map((s) => s?.value)).toEqual(['a', 'b', 'c']);
  });

  it.each([
    ['not a byte model', Buffer.from('hello'), 'PARSE_FAILED'],
    ['no table_bytes', uploadModel({ features: [] }, new Uint8Array()).subarray(0, 40), 'PARSE_FAILED'],
    ['a table that is not Arrow', uploadModel({ features: [] }, Buffer.from('garbage!')), 'PARSE_FAILED'],
    [
      'an unknown feature',
      uploadModel({}, tableToIPC(tableFromArrays({ 'account.id': [1], 'account.zzz': [2] }))),
      'PARSE_FAILED',
    ],
    [
      'listed features missing from the table',
      uploadModel({ features: ['account.nickname'] }, tableToIPC(tableFromArrays({ 'account.id': [1] }))),
      'INVALID_QUERY',
    ],
  ])('refuses %s with 400', async (_name, body, code) => {
    const response = await post(body);
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe(code);
  });
});

describe('DELETE /v1/features/rows', () => {
  it('removes the listed rows from the online store and leaves others', async () => {
    await plane.onlineStore.set('dev', [
      { feature: 'account.nickname', pkey: 200, value: 'x', observedAt: 1 },
      { feature: 'account.nickname', pkey: 201, value: 'y', observedAt: 1 },
    ]);
    const response = await call(plane, 'DELETE', '/v1/features/rows', {
      namespace: 'account',
      features: ['nickname'],
      tags: null,
      primary_keys: [200],
      retain_offline: true,
      retain_online: false,
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ errors: [] });
    const stored = await plane.onlineStore.get('dev', [
      { feature: 'account.nickname', pkey: 200 },
      { feature: 'account.nickname', pkey: 201 },
    ]);
    expect(stored.map((s) => s?.value ?? null)).toEqual([null, 'y']);
  });

  it('refuses an unknown namespace or feature', async () => {
    const a = await call(plane, 'DELETE', '/v1/features/rows', { namespace: 'nope', primary_keys: [1] });
    const b = await call(plane, 'DELETE', '/v1/features/rows', {
      namespace: 'account',
      features: ['nope'],
      primary_keys: [1],
    });
    expect([a.statusCode, b.statusCode]).toEqual([400, 400]);
    expect(b.json().message).toMatch(/account.nope/);
  });
});

describe('introspection', () => {
  it('describes the active deployment’s graph', async () => {
    const response = await call(quickstart, 'GET', '/v1/environment/graph');
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.deployment_id).toBe('cdep1');
    const fqns = quickstart.graph.namespaces.flatMap((ns) => ns.features.map((f) => f.fqn));
    expect(body.features.map((f: { fqn: string }) => f.fqn)).toEqual(fqns);
    expect(body.features.find((f: { fqn: string }) => f.fqn === 'user.name')).toEqual({
      fqn: 'user.name',
      name: 'name',
      detail: expect.objectContaining({ namespace: 'user', dtype: 'string' }),
      tags: ['team:fraud'],
      created_at: null,
      updated_at: null,
      etl_offline_to_online: false,
    });
    expect(body.resolvers.find((r: { fqn: string }) => r.fqn === 'risk_score')).toEqual({
      fqn: 'risk_score',
      execution_kind: 'online',
      tags: [],
      feature_inputs: ['user.transaction_count', 'user.total_spend', 'user.email_domain'],
      feature_outputs: ['user.risk_score'],
      cron: null,
      updated_at: null,
    });
  });

  it('answers a deployment’s graph by id, and 404 for one not served here', async () => {
    const ok = await call(quickstart, 'GET', '/v1/deployments/cdep1/graph');
    expect(ok.json().deployment_id).toBe('cdep1');
    const missing = await call(quickstart, 'GET', '/v1/deployments/cother/graph');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('DEPLOYMENT_NOT_FOUND');
  });
});

describe('triggered runs', () => {
  it.each([
    ['POST', '/v1/runs/trigger', { resolver_fqn: 'get_user' }],
    ['GET', '/v1/runs/run_1', undefined],
  ] as const)('%s %s answers a clear 400 without background persistence', async (method, url, body) => {
    const response = await call(quickstart, method, url, body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      code: 'INVALID_QUERY',
      detail: expect.stringMatching(/need background persistence/),
    });
  });
});

describe('query headers', () => {
  const query = (body: unknown, headers: Record<string, string>) =>
    call(plane, 'POST', '/v1/query/online', body, headers);

  it('honours X-Chalk-Timeout as a deadline for resolvers (any header case)', async () => {
    for (const name of ['X-Chalk-Timeout', 'x-chalk-timeout', 'X-CHALK-TIMEOUT']) {
      const response = await query(
        { inputs: { 'account.id': 3 }, outputs: ['account.slow_score'] },
        { [name]: '50' },
      );
      expect(response.statusCode).toBe(200);
      expect(response.json().errors).toEqual([
        expect.objectContaining({ code: 'RESOLVER_TIMED_OUT', feature: 'account.slow_score' }),
      ]);
    }
  });

  it('lets the resolver finish without a timeout', async () => {
    const response = await query({ inputs: { 'account.id': 3 }, outputs: ['account.slow_score'] }, {});
    expect(response.json().data[0].value).toBe(30);
  });

  it('runs the named query of X-Chalk-Query-Name when the body names no outputs', async () => {
    const response = await query(
      { inputs: { 'account.card_number': '4111' } },
      { 'X-Chalk-Query-Name': 'brand_check' },
    );
    expect(response.json().data).toEqual([
      expect.objectContaining({ field: 'account.card_brand', value: 'visa' }),
    ]);
    const unknown = await query(
      { inputs: { 'account.card_number': '4111' } },
      { 'x-chalk-query-name': 'nope' },
    );
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: 'INVALID_QUERY', detail: expect.stringMatching(/'nope'/) });
  });

  it('takes a query_name that matches no named query as a label, answering the outputs asked for', async () => {
    const response = await query(
      {
        inputs: { 'account.card_number': '4111' },
        outputs: ['account.card_brand'],
        query_name: 'checkout_page',
        query_name_version: '2',
      },
      {},
    );
    expect(response.statusCode).toBe(200);
    expect(response.json().data).toEqual([
      expect.objectContaining({ field: 'account.card_brand', value: 'visa' }),
    ]);
  });

  it.each([
    [{ 'X-Chalk-Branch-Id': 'my-branch' }, /branch/],
    [{ 'x-chalk-branch-id': 'my-branch' }, /branch/],
    [{ 'X-Chalk-Deployment-Type': 'branch' }, /branch/],
    [{ 'X-Chalk-Deployment-Type': 'spaceship' }, /X-Chalk-Deployment-Type/],
    [{ 'X-Chalk-Timeout': 'soon' }, /X-Chalk-Timeout/],
    [{ 'X-Chalk-Timeout': '-5' }, /X-Chalk-Timeout/],
  ])('refuses %j with a clear 400', async (headers, message) => {
    const response = await query({ inputs: { 'account.id': 1 }, outputs: ['account.nickname'] }, headers);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'INVALID_QUERY', detail: expect.stringMatching(message) });
  });

  it('accepts the engine deployment type in any case', async () => {
    for (const value of ['engine', 'ENGINE', 'engine-grpc']) {
      const response = await query(
        { inputs: { 'account.id': 1 }, outputs: ['account.nickname'] },
        { 'X-Chalk-Deployment-Type': value },
      );
      expect(response.statusCode).toBe(200);
    }
  });
});

describe('a data plane without a feature writer', () => {
  it('answers uploads 503 UPLOADS_UNAVAILABLE, after checking the token’s permission', async () => {
    const readOnly = await createTestPlane({ module: accounts, server: { featureWriter: undefined } });
    const upload = await call(readOnly, 'POST', '/v1/upload/single', { inputs: { 'account.id': 1 } });
    expect(upload.statusCode).toBe(503);
    expect(upload.json().code).toBe('UPLOADS_UNAVAILABLE');
    const denied = await readOnly.app.inject({
      method: 'POST',
      url: '/v1/upload/single',
      headers: {
        authorization: `Bearer ${await readOnly.token({ perms: ['deploy.read'] })}`,
        'content-type': 'application/json',
      },
      payload: JSON.stringify({ inputs: { 'account.id': 1 } }),
    });
    expect(denied.statusCode).toBe(403);
  });
});
