/**
 * Issue 13, deliverable 4: the seed product's client flow — token → who-am-i → online query → bulk (feather)
 * → multi → upload → offline query — run by a client written from the reference (client/, no Slate code)
 * against `examples/all-types` deployed with `slate apply` on both planes as separate processes. Each flow
 * runs twice: knowing only the API host (`api_server`), and with `engines[environment]` from the token
 * exchange; over HTTP and over gRPC. Expected values come from expected.ts, computed from the sample rows.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { requireService, testServices } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableRows } from './client/feather-codec.ts';
import { type GrpcBulkResult, GrpcCompatClient, hasGrpcTokenExchange } from './client/grpc-client.ts';
import { CompatHttpClient, type Route } from './client/http-client.ts';
import {
  CUSTOMER_IDS,
  expectedPurchases,
  expectedScalars,
  expectedStructs,
  NOW,
  SCALAR_OUTPUTS,
  STRUCT_OUTPUTS,
} from './expected.ts';
import { type Stack, startStack } from './stack.ts';

const services = await requireService('PostgreSQL', testServices.postgresUrl);
let stack: Stack;
const expected = expectedScalars;

beforeAll(async () => {
  if (!services) return;
  stack = await startStack();
  // The data plane opens the example's embedded PGlite SQL source on first use, which took 20–27 s on the
  // loaded CI machine (docs/compatibility.md); open it here so that no case below pays it in its timeout.
  const warm = new CompatHttpClient({ ...stack, route: 'engine' });
  await warm.exchangeToken();
  await warm.onlineQuery({ inputs: { 'customer.id': 1 }, outputs: ['customer.segment'] });
}, 300_000);
afterAll(async () => {
  await stack?.stop();
});

describe.skipIf(!services)('examples/all-types', () => {
  it('deploys with slate apply, lint-clean', () => {
    expect(stack.applyOutput).toMatch(/3 namespaces, 6 resolvers/);
    expect(stack.applyOutput).toMatch(/SUCCESS/);
    expect(stack.applyOutput).not.toMatch(/warning|error/i);
  });
});

const byField = (data: readonly { field: string; value: unknown }[]) =>
  Object.fromEntries(data.map((d) => [d.field, d.value]));

describe.skipIf(!services).each(['api-host', 'engine'] as const)(
  'over HTTP, knowing the %s',
  (route: Route) => {
    let client: CompatHttpClient;
    beforeAll(() => {
      client = new CompatHttpClient({ ...stack, route });
    });

    it('exchanges client credentials for a token naming the environment’s engine', async () => {
      const token = await client.exchangeToken();
      expect(token).toMatchObject({ token_type: 'Bearer', primary_environment: 'dev' });
      expect(token.expires_in).toBeGreaterThan(60);
      expect(token.engines).toEqual({ dev: stack.dataPlaneUrl });
      expect(client.queryServer()).toBe(route === 'api-host' ? stack.apiServer : stack.dataPlaneUrl);
    });

    it('answers who-am-i with the service token’s user, environment and team', async () => {
      expect(await client.whoAmI()).toEqual({
        user: expect.any(String),
        environment_id: 'dev',
        team_id: 'acme',
      });
    });

    it('answers an online query with every feature type, for each customer', async () => {
      for (const id of CUSTOMER_IDS) {
        const body = await client.onlineQuery({
          inputs: { 'customer.id': id },
          outputs: [...SCALAR_OUTPUTS, ...STRUCT_OUTPUTS, 'customer.purchases', 'customer.purchases.amount'],
          now: NOW,
          include_meta: true,
        });
        expect(body.errors).toEqual([]);
        const purchases = expectedPurchases(id);
        expect(byField(body.data)).toEqual({
          ...expected(id),
          ...expectedStructs(id, false),
          'customer.purchases': purchases,
          'customer.purchases.amount': { columns: ['purchase.amount'], values: [purchases.values[2]] },
        });
        expect(body.data.every((d) => d.pkey === id)).toBe(true);
        expect(body.meta).toMatchObject({ environment_id: 'dev', query_timestamp: NOW });
      }
    });

    it('encodes structs as objects when asked (encoding_options.encode_structs_as_objects)', async () => {
      const body = await client.onlineQuery({
        inputs: { 'customer.id': 2 },
        outputs: STRUCT_OUTPUTS,
        now: NOW,
        encoding_options: { encode_structs_as_objects: true },
      });
      expect(body.errors).toEqual([]);
      expect(byField(body.data)).toEqual(expectedStructs(2, true));
    });

    it('answers a bulk (feather) query: one row per customer, with has-many tables', async () => {
      const [result] = await client.featherQuery([
        {
          inputs: { 'customer.id': CUSTOMER_IDS },
          header: {
            outputs: [...SCALAR_OUTPUTS, ...STRUCT_OUTPUTS, 'customer.purchases'],
            now: CUSTOMER_IDS.map(() => NOW),
          },
        },
      ]);
      expect(result!.errors).toEqual([]);
      const rows = tableRows(result!.scalars!);
      expect(rows.map((row) => row['customer.id'])).toEqual(CUSTOMER_IDS);
      for (const [i, id] of CUSTOMER_IDS.entries()) {
        expect(rows[i]).toMatchObject({ ...expected(id), ...expectedStructs(id, true) });
      }
      const purchases = tableRows(result!.groups['customer.purchases']!);
      const expectedRows = CUSTOMER_IDS.flatMap((id) => {
        const { columns, values } = expectedPurchases(id);
        return values[0]!.map((_, r) =>
          Object.fromEntries([['customer.id', id], ...columns.map((c, k) => [c, values[k]![r]])]),
        );
      });
      expect(purchases).toEqual(expectedRows);
    });

    it('answers a multi query: several queries, in order, in one request', async () => {
      const results = await client.featherQuery([
        { inputs: { 'customer.id': [3] }, header: { outputs: ['customer.name', 'customer.total_spent'] } },
        { inputs: { 'store.id': [10, 30] }, header: { outputs: ['store.name', 'store.city'] } },
      ]);
      expect(results.map((r) => r.errors)).toEqual([[], []]);
      expect(tableRows(results[0]!.scalars!)).toMatchObject([
        {
          'customer.name': 'Alan Turing',
          'customer.total_spent': expectedScalars(3)['customer.total_spent'],
        },
      ]);
      expect(tableRows(results[1]!.scalars!)).toMatchObject([
        { 'store.id': 10, 'store.name': 'Camden', 'store.city': 'London' },
        { 'store.id': 30, 'store.name': 'Strijp', 'store.city': 'Eindhoven' },
      ]);
    });

    it('answers a feature nothing has uploaded with its declared default', async () => {
      // Customer 4's points are uploaded only by the gRPC cases, which run after these.
      const body = await client.onlineQuery({
        inputs: { 'customer.id': 4 },
        outputs: ['customer.loyalty_points'],
      });
      expect(body.errors).toEqual([]);
      expect(byField(body.data)).toEqual({ 'customer.loyalty_points': 0 });
    });

    it('uploads features (upload_features/multi), and queries then read them', async () => {
      const points = route === 'api-host' ? [101, 102] : [201, 202];
      const answer = await client.uploadFeatures({
        'customer.id': [1, 2],
        'customer.loyalty_points': points,
      });
      expect(answer).toMatchObject({ operation_id: expect.any(String) });
      expect(answer.errors ?? []).toEqual([]);
      // Read-your-writes, as the seed product's synchronous upload: the very next query reads the values (no
      // polling), although the data plane persists in the background (docs/compatibility.md).
      const read = async (id: number) =>
        byField(
          (await client.onlineQuery({ inputs: { 'customer.id': id }, outputs: ['customer.loyalty_points'] }))
            .data,
        )['customer.loyalty_points'];
      expect([await read(1), await read(2)]).toEqual(points);
    });

    it('runs an offline query: submitted, polled to completion, its Parquet downloaded', async () => {
      const outputs = [
        'customer.name',
        'customer.total_spent',
        'customer.segment',
        'customer.recent_purchases__604800__',
      ];
      const result = await client.offlineQuery({
        input: { columns: ['customer.id'], values: [CUSTOMER_IDS] },
        input_times: CUSTOMER_IDS.map(() => NOW),
        output: outputs,
        recompute_features: true,
        dataset_name: `compat-${route}`,
      });
      // The result links name the host the client knows: through the API host, the API host forwards them.
      expect(result.urls.length).toBeGreaterThan(0);
      const origin = new URL(route === 'api-host' ? stack.apiServer : stack.dataPlaneUrl).origin;
      for (const url of result.urls) expect(new URL(url).origin).toBe(origin);
      expect(result.columns).toEqual(
        expect.arrayContaining(outputs.map((fqn) => expect.objectContaining({ feature_fqn: fqn }))),
      );
      const rows: Record<string, unknown>[] = [];
      for (const [i, file] of result.files.entries()) {
        const path = join(tmpdir(), `${result.revisionId}-${i}.parquet`);
        writeFileSync(path, file);
        const duck = await DuckDBInstance.create(':memory:');
        const connection = await duck.connect();
        const reader = await connection.runAndReadAll(`select * from read_parquet('${path}')`);
        rows.push(...reader.getRowObjectsJS());
        connection.closeSync();
        duck.closeSync();
      }
      const got = rows
        .map((row) => [Number(row['customer.id']), ...outputs.map((fqn) => normalise(row[fqn]))])
        .sort((a, b) => (a[0] as number) - (b[0] as number));
      expect(got).toEqual(CUSTOMER_IDS.map((id) => [id, ...outputs.map((fqn) => expectedScalars(id)[fqn])]));
    });
  },
);

/** DuckDB's JS values as JSON carries them. */
function normalise(value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : (value ?? null);
}

/**
 * The gRPC flow: ping, single-row online query, bulk, multi and both uploads, against a client made by
 * `connect` (run after the token exchange).
 */
function grpcFlow(connect: () => GrpcCompatClient, uploadBase: number): void {
  let grpc: GrpcCompatClient;
  beforeAll(() => {
    grpc = connect();
  });
  afterAll(() => grpc?.close());
  const bulkRows = (result: GrpcBulkResult) => tableRows(result.scalars!);

  it('pings', async () => {
    expect(await grpc.ping(7)).toEqual({ num: 7 });
  });

  it('answers OnlineQuery with every feature type', async () => {
    for (const id of CUSTOMER_IDS) {
      const answer = await grpc.onlineQuery({
        inputs: { 'customer.id': id },
        outputs: [...SCALAR_OUTPUTS, ...STRUCT_OUTPUTS, 'customer.purchases'],
        now: NOW,
      });
      expect(answer.errors).toEqual([]);
      expect(answer.values).toEqual({
        ...expected(id),
        ...expectedStructs(id, false),
        'customer.purchases': expectedPurchases(id),
      });
    }
  });

  it('answers OnlineQueryBulk (Arrow in, Arrow out), has-many in groups_data', async () => {
    const result = await grpc.onlineQueryBulk({
      inputs: { 'customer.id': CUSTOMER_IDS },
      outputs: [...SCALAR_OUTPUTS, ...STRUCT_OUTPUTS, 'customer.purchases'],
      now: NOW,
    });
    expect(result.errors).toEqual([]);
    const rows = bulkRows(result);
    for (const [i, id] of CUSTOMER_IDS.entries())
      expect(rows[i]).toMatchObject({ 'customer.id': id, ...expected(id), ...expectedStructs(id, true) });
    const purchases = tableRows(result.groups['customer.purchases']!);
    expect(purchases.map((p) => p['purchase.id'])).toEqual(
      CUSTOMER_IDS.flatMap((id) => expectedPurchases(id).values[0]),
    );
  });

  it('answers OnlineQueryMulti, one response per query in order', async () => {
    const { results, errors } = await grpc.onlineQueryMulti([
      { inputs: { 'customer.id': [1] }, outputs: ['customer.name'] },
      { inputs: { 'store.id': [20] }, outputs: ['store.city'] },
    ]);
    expect(errors).toEqual([]);
    expect(results.map((r) => r.errors)).toEqual([[], []]);
    expect(bulkRows(results[0]!)).toMatchObject([{ 'customer.name': 'Ada Lovelace' }]);
    expect(bulkRows(results[1]!)).toMatchObject([{ 'store.city': 'Arlington' }]);
  });

  it('uploads with UploadFeatures and UploadFeaturesBulk; queries then read the values', async () => {
    const single = await grpc.uploadFeatures({
      'customer.id': [3],
      'customer.loyalty_points': [uploadBase + 3],
    });
    expect(single).toMatchObject({ errors: [], operation_id: expect.any(String) });
    const bulk = await grpc.uploadFeaturesBulk({
      'customer.id': [4],
      'customer.loyalty_points': [uploadBase + 4],
    });
    expect(bulk).toMatchObject({ errors: [] });
    const read = async () =>
      (
        await grpc.onlineQueryBulk({
          inputs: { 'customer.id': [3, 4] },
          outputs: ['customer.loyalty_points'],
        })
      )
        .scalars!.toArray()
        .map((row) => Number(row['customer.loyalty_points']));
    // Read-your-writes: no polling.
    expect(await read()).toEqual([uploadBase + 3, uploadBase + 4]);
  });
}

describe.skipIf(!services)(
  'over gRPC, straight to the data plane’s gRPC port (query server set explicitly)',
  () => {
    let token: string;
    beforeAll(async () => {
      token = await new CompatHttpClient({ ...stack, route: 'engine' }).accessToken();
    });
    grpcFlow(
      () => new GrpcCompatClient({ address: stack.dataPlaneGrpc, environment: 'dev', accessToken: token }),
      300,
    );
  },
);

/**
 * The Go client's way (chalk.md §3.2): `chalk.server.v1.AuthService/GetToken` on the API host, then queries
 * to the API host's gRPC address, or to `grpc_engines[environment]`. These need gRPC on the API host (branch
 * wt/grpchost); without it the token exchange fails and so does every case here.
 */
describe.skipIf(!services).each(['api-host', 'engine'] as const)(
  'over gRPC, knowing the %s (needs gRPC on the API host)',
  (route: Route) => {
    let token: Record<string, unknown> = {};
    beforeAll(async () => {
      if (!hasGrpcTokenExchange) return;
      token = await GrpcCompatClient.exchangeToken(stack.apiGrpc, stack).catch(() => ({}));
    });

    it('exchanges a token over gRPC (AuthService/GetToken), naming grpc_engines', () => {
      expect(hasGrpcTokenExchange, 'the protos declare no chalk.server.v1.AuthService').toBe(true);
      expect(token).toMatchObject({
        access_token: expect.any(String),
        token_type: 'Bearer',
        primary_environment: 'dev',
        engines: { dev: stack.dataPlaneUrl },
        grpc_engines: { dev: expect.stringContaining(stack.dataPlaneGrpc.split(':')[1]!) },
      });
    });

    grpcFlow(
      () =>
        new GrpcCompatClient({
          address:
            route === 'api-host'
              ? stack.apiGrpc
              : ((token.grpc_engines as Record<string, string> | undefined)?.dev ?? 'unknown:1').replace(
                  /^[a-z]+:\/\//,
                  '',
                ),
          environment: 'dev',
          accessToken: String(token.access_token ?? 'no-token'),
        }),
      route === 'api-host' ? 400 : 500,
    );
  },
);
