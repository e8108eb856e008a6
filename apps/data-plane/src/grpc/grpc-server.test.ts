/**
 * The gRPC API against a listening data-plane gRPC server (real engine, token verification and online
 * store), through a client built by @grpc/grpc-js + @grpc/proto-loader from the same `.proto` files: a
 * different protobuf implementation (protobufjs) from the server's, and none of the server's code.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Int32, Table, tableFromIPC, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueryGateway } from '../gateway/query-gateway.ts';
import { createConcurrencyLimiter } from '../http/concurrency-limit.ts';
import { createOnlineStoreFeatureWriter } from '../http/feature-writer.ts';
import * as accounts from '../http/fixtures/account-module.ts';
import { createTestPlane, type TestPlane } from '../http/fixtures/test-plane.ts';
import { createGrpcServer, type GrpcServer } from './grpc-server.ts';

const protoDir = fileURLToPath(new URL('../../../../packages/grpc-api/proto', import.meta.url));

/** A proto-loader client is untyped: its messages are plain objects shaped by the `.proto` files. */
type Loose = ReturnType<typeof JSON.parse>;
type Reply = { error: grpc.ServiceError | null; response: Loose };
type Client = grpc.Client & Record<string, Loose>;

let plane: TestPlane;
let server: GrpcServer;
let client: Client;
let token: string;

/** A server with its own small caps, for the limit tests. */
async function startServer(options: {
  maxInFlight?: number;
  maxRequestBytes?: number;
  maxQueriesPerMulti?: number;
}): Promise<{ server: GrpcServer; client: Client }> {
  const gateway = createQueryGateway({
    served: plane.served,
    verifier: plane.verifier,
    limiter: createConcurrencyLimiter({ maxInFlight: options.maxInFlight ?? 64 }),
    featureWriter: createOnlineStoreFeatureWriter(plane.onlineStore),
  });
  const started = createGrpcServer({
    gateway,
    logger: pino({ level: 'silent' }),
    maxRequestBytes: options.maxRequestBytes,
    maxQueriesPerMulti: options.maxQueriesPerMulti,
  });
  const port = await started.listen({ port: 0 });
  const definition = protoLoader.loadSync('chalk/engine/v1/query_server.proto', {
    includeDirs: [protoDir],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as Loose;
  const Service = loaded.chalk.engine.v1.QueryService as grpc.ServiceClientConstructor;
  return {
    server: started,
    client: new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as Client,
  };
}

beforeAll(async () => {
  plane = await createTestPlane({ module: accounts });
  token = await plane.token();
  ({ server, client } = await startServer({}));
});

afterAll(async () => {
  client?.close();
  await server?.close();
});

function metadata(headers: Record<string, string> = {}, bearer: string | null = token): grpc.Metadata {
  const meta = new grpc.Metadata();
  if (bearer !== null) meta.set('authorization', `Bearer ${bearer}`);
  meta.set('x-chalk-deployment-type', 'engine-grpc');
  for (const [key, value] of Object.entries(headers)) meta.set(key, value);
  return meta;
}

function call(
  method: string,
  request: Record<string, unknown>,
  meta: grpc.Metadata = metadata(),
  options: { deadlineMs?: number; on?: Client } = {},
): Promise<Reply> {
  const target = options.on ?? client;
  const callOptions = options.deadlineMs ? { deadline: Date.now() + options.deadlineMs } : {};
  return new Promise((resolve) => {
    target[method](request, meta, callOptions, (error: grpc.ServiceError | null, response: Loose) =>
      resolve({ error, response }),
    );
  });
}

const fqn = (feature: string) => ({ feature_fqn: feature });
const num = (value: number) => ({ numberValue: value });
const str = (value: string) => ({ stringValue: value });

/** Arrow IPC of account ids and card numbers, written here with apache-arrow, not by the server. */
function accountRows(ids: number[], cards?: string[]): Buffer {
  const columns: Record<string, Loose> = { 'account.id': vectorFromArray(ids, new Int32()) };
  if (cards) columns['account.card_number'] = vectorFromArray(cards, new Utf8());
  return Buffer.from(tableToIPC(new Table(columns), 'stream'));
}

/** Expected brand, from the fixture's rule written out again: cards starting with 4 are visa. */
const brandOf = (card: string) => (card.startsWith('4') ? 'visa' : 'other');

describe('Ping', () => {
  it('echoes num for an authenticated caller', async () => {
    const { error, response } = await call('Ping', { num: 41 });
    expect(error).toBeNull();
    expect(response?.num).toBe(41);
  });

  it('refuses a caller without a token', async () => {
    const { error } = await call('Ping', { num: 1 }, metadata({}, null));
    expect(error?.code).toBe(grpc.status.UNAUTHENTICATED);
  });
});

describe('OnlineQuery', () => {
  it('answers feature values, pkey, meta and errors as the JSON API does', async () => {
    const { error, response } = await call('OnlineQuery', {
      inputs: { 'account.id': num(7), 'account.card_number': str('4242') },
      outputs: [fqn('account.card_brand'), fqn('account.nickname')],
      context: { correlation_id: 'c-grpc-1' },
      response_options: { include_meta: true, metadata: { team: 'risk' } },
    });
    expect(error).toBeNull();
    const results = Object.fromEntries(
      response!.data.results.map((r: Loose) => [r.field, r] as const),
    ) as Record<string, Loose>;
    expect(results['account.card_brand'].value).toMatchObject(str(brandOf('4242')));
    expect(results['account.nickname'].value).toMatchObject(str('account-7'));
    expect(results['account.nickname'].pkey).toMatchObject(num(7));
    expect(results['account.nickname'].meta).toMatchObject({
      cache_hit: false,
      primitive_type: "<class 'str'>",
    });
    expect(response!.errors).toEqual([]);
    expect(response!.response_meta).toMatchObject({
      environment_id: 'dev',
      environment_name: 'Development',
      deployment_id: 'cdep1',
      metadata: { team: 'risk' },
    });
    expect(response!.response_meta.query_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reports an unknown output as a PARSE_FAILED request error, not a failed call', async () => {
    const { error, response } = await call('OnlineQuery', {
      inputs: { 'account.id': num(1) },
      outputs: [fqn('account.nope')],
    });
    expect(error).toBeNull();
    expect(response!.data?.results ?? []).toEqual([]);
    expect(response!.errors).toHaveLength(1);
    expect(response!.errors[0]).toMatchObject({
      code: 'ERROR_CODE_PARSE_FAILED',
      category: 'ERROR_CODE_CATEGORY_REQUEST',
      feature: 'account.nope',
      message: "Query output referenced undefined feature 'account.nope'",
    });
  });

  it('runs a named query given by x-chalk-query-name', async () => {
    const { error, response } = await call(
      'OnlineQuery',
      { inputs: { 'account.card_number': str('5100') } },
      metadata({ 'x-chalk-query-name': 'brand_check' }),
    );
    expect(error).toBeNull();
    expect(response!.data.results.map((r: Loose) => [r.field, r.value.stringValue])).toEqual([
      ['account.card_brand', brandOf('5100')],
    ]);
  });

  it('honours x-chalk-timeout as the resolvers’ deadline', async () => {
    const { error, response } = await call(
      'OnlineQuery',
      { inputs: { 'account.id': num(3) }, outputs: [fqn('account.slow_score')] },
      metadata({ 'x-chalk-timeout': '100' }),
    );
    expect(error).toBeNull();
    expect(response!.errors).toContainEqual(
      expect.objectContaining({ code: 'ERROR_CODE_RESOLVER_TIMED_OUT', feature: 'account.slow_score' }),
    );
  });

  it('answers DEADLINE_EXCEEDED when the call’s own deadline passes first', async () => {
    const { error } = await call(
      'OnlineQuery',
      { inputs: { 'account.id': num(3) }, outputs: [fqn('account.slow_score')] },
      metadata(),
      { deadlineMs: 100 },
    );
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });
});

describe('OnlineQueryBulk', () => {
  it('answers one scalar row per input row as Arrow IPC', async () => {
    const ids = [1, 2, 3];
    const cards = ['4000', '5000', '4999'];
    const { error, response } = await call('OnlineQueryBulk', {
      inputs_feather: accountRows(ids, cards),
      outputs: [fqn('account.card_brand'), fqn('account.nickname')],
      body_type: 'FEATHER_BODY_TYPE_RECORD_BATCHES',
    });
    expect(error).toBeNull();
    expect(response!.errors).toEqual([]);
    const table = tableFromIPC(response!.scalars_data);
    expect(table.numRows).toBe(3);
    expect(table.getChild('account.card_brand')?.toArray()).toEqual(cards.map(brandOf));
    expect(table.getChild('account.nickname')?.toArray()).toEqual(ids.map((id) => `account-${id}`));
    expect(response!.response_meta).toMatchObject({ environment_id: 'dev', deployment_id: 'cdep1' });
  });
});

describe('OnlineQueryMulti', () => {
  it('answers each query in order, and a query it cannot read with its own error', async () => {
    const { error, response } = await call('OnlineQueryMulti', {
      queries: [
        {
          single_request: {
            inputs: { 'account.id': num(5) },
            outputs: [fqn('account.nickname')],
          },
        },
        {
          bulk_request: {
            inputs_feather: accountRows([8, 9]),
            outputs: [fqn('account.nickname')],
          },
        },
        {
          single_request: {
            inputs: { 'account.id': num(5) },
            outputs: [{ feature_expression: { output_column_name: 'x', namespace: 'account' } }],
          },
        },
      ],
    });
    expect(error).toBeNull();
    const [first, second, third] = response!.responses;
    expect(first.single_response.data.results[0].value).toMatchObject(str('account-5'));
    expect(tableFromIPC(second.bulk_response.scalars_data).getChild('account.nickname')?.toArray()).toEqual([
      'account-8',
      'account-9',
    ]);
    expect(third.single_response.errors[0]).toMatchObject({
      code: 'ERROR_CODE_INVALID_QUERY',
      message: expect.stringMatching(/feature expression/),
    });
  });
});

describe('UploadFeatures and UploadFeaturesBulk', () => {
  it('stores uploaded values that queries then serve', async () => {
    const table = new Table({
      'account.id': vectorFromArray([21, 22], new Int32()),
      'account.nickname': vectorFromArray(['up-21', 'up-22'], new Utf8()),
    });
    const upload = await call('UploadFeatures', { inputs_table: Buffer.from(tableToIPC(table, 'file')) });
    expect(upload.error).toBeNull();
    expect(upload.response!.operation_id).toMatch(/\S/);
    expect(upload.response!.errors).toEqual([]);

    const bulkTable = new Table({
      'account.id': vectorFromArray([23], new Int32()),
      'account.nickname': vectorFromArray(['up-23'], new Utf8()),
    });
    const bulkUpload = await call('UploadFeaturesBulk', {
      inputs_feather: Buffer.from(tableToIPC(bulkTable, 'stream')),
    });
    expect(bulkUpload.error).toBeNull();
    expect(bulkUpload.response!.errors).toEqual([]);

    const { response } = await call('OnlineQueryBulk', {
      inputs_feather: accountRows([21, 22, 23, 24]),
      outputs: [fqn('account.nickname')],
    });
    expect(tableFromIPC(response!.scalars_data).getChild('account.nickname')?.toArray()).toEqual([
      'up-21',
      'up-22',
      'up-23',
      'account-24',
    ]);
  });
});

describe('authentication and scope', () => {
  const query = { inputs: { 'account.id': num(1) }, outputs: [fqn('account.nickname')] };

  it('refuses a call without a token', async () => {
    const { error } = await call('OnlineQuery', query, metadata({}, null));
    expect(error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(error?.details).toMatch(/Bearer token is required/);
    expect(error?.metadata.get('x-slate-error-code')).toEqual(['UNAUTHENTICATED']);
  });

  it('refuses a tampered token', async () => {
    const { error } = await call('OnlineQuery', query, metadata({}, `${token.slice(0, -4)}AAAA`));
    expect(error?.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('refuses another environment named in x-chalk-env-id', async () => {
    const { error } = await call('OnlineQuery', query, metadata({ 'x-chalk-env-id': 'prod' }));
    expect(error?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(error?.details).toMatch(/scoped to environment dev, not prod/);
  });

  it('accepts the token’s own environment by id or name', async () => {
    for (const env of ['dev', 'Development']) {
      const { error } = await call('OnlineQuery', query, metadata({ 'x-chalk-env-id': env }));
      expect(error).toBeNull();
    }
  });

  it('refuses a token without the query permission', async () => {
    const weak = await plane.token({ perms: ['deploy.read'] });
    const { error } = await call('UploadFeatures', { inputs_table: accountRows([1]) }, metadata({}, weak));
    expect(error?.code).toBe(grpc.status.PERMISSION_DENIED);
  });
});

describe('bad input is INVALID_ARGUMENT, never INTERNAL', () => {
  const garbage = Buffer.from('definitely not arrow');
  const cases: [string, string, Record<string, unknown>, Record<string, string>?][] = [
    ['no outputs', 'OnlineQuery', { inputs: { 'account.id': num(1) } }],
    ['an empty output', 'OnlineQuery', { inputs: { 'account.id': num(1) }, outputs: [{}] }],
    [
      'a branch',
      'OnlineQuery',
      { inputs: { 'account.id': num(1) }, outputs: [fqn('account.nickname')], context: { branch_id: 'b1' } },
    ],
    [
      'a bad x-chalk-timeout',
      'OnlineQuery',
      { inputs: { 'account.id': num(1) }, outputs: [fqn('account.nickname')] },
      { 'x-chalk-timeout': 'soon' },
    ],
    [
      'an unknown named query',
      'OnlineQuery',
      { inputs: { 'account.id': num(1) }, context: { query_name: 'nope' } },
    ],
    ['bulk without a body', 'OnlineQueryBulk', { outputs: [fqn('account.nickname')] }],
    [
      'bulk with a body that is not Arrow',
      'OnlineQueryBulk',
      { inputs_feather: garbage, outputs: [fqn('account.nickname')] },
    ],
    ['an empty multi-query', 'OnlineQueryMulti', { queries: [] }],
    ['an upload that is not Arrow', 'UploadFeatures', { inputs_table: garbage }],
    [
      'an upload of an unknown feature',
      'UploadFeaturesBulk',
      {
        inputs_feather: Buffer.from(
          tableToIPC(
            new Table({
              'account.id': vectorFromArray([1], new Int32()),
              'account.nope': vectorFromArray(['x'], new Utf8()),
            }),
            'stream',
          ),
        ),
      },
    ],
    [
      'an upload without the primary key',
      'UploadFeatures',
      {
        inputs_table: Buffer.from(
          tableToIPC(new Table({ 'account.nickname': vectorFromArray(['x'], new Utf8()) }), 'stream'),
        ),
      },
    ],
  ];
  it.each(cases)('%s', async (_name, method, request, headers) => {
    const { error } = await call(method, request, metadata(headers ?? {}));
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).not.toMatch(/internal error/);
  });

  it('a message that is not protobuf', async () => {
    const error = await new Promise<grpc.ServiceError | null>((resolve) => {
      client.makeUnaryRequest(
        '/chalk.engine.v1.QueryService/OnlineQuery',
        (value: Buffer) => value,
        (value: Buffer) => value,
        Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]),
        metadata(),
        (err) => resolve(err),
      );
    });
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

describe('limits', () => {
  it('refuses calls past the environment’s in-flight cap with RESOURCE_EXHAUSTED', async () => {
    const small = await startServer({ maxInFlight: 1 });
    try {
      const slow = { inputs: { 'account.id': num(4) }, outputs: [fqn('account.slow_score')] };
      const [first, second] = await Promise.all([
        call('OnlineQuery', slow, metadata(), { on: small.client }),
        new Promise<Reply>((resolve) =>
          setTimeout(() => resolve(call('OnlineQuery', slow, metadata(), { on: small.client })), 100),
        ),
      ]);
      expect(first.error).toBeNull();
      expect(first.response!.data.results[0].value).toMatchObject(num(40));
      expect(second.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    } finally {
      small.client.close();
      await small.server.close();
    }
  });

  it('refuses a request message over the size limit with RESOURCE_EXHAUSTED', async () => {
    const small = await startServer({ maxRequestBytes: 4096 });
    try {
      const ids = Array.from({ length: 5000 }, (_, i) => i);
      const { error } = await call(
        'OnlineQueryBulk',
        { inputs_feather: accountRows(ids), outputs: [fqn('account.nickname')] },
        metadata(),
        { on: small.client },
      );
      expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    } finally {
      small.client.close();
      await small.server.close();
    }
  });

  it('refuses a multi-query with more queries than allowed', async () => {
    const small = await startServer({ maxQueriesPerMulti: 2 });
    try {
      const single = {
        single_request: { inputs: { 'account.id': num(1) }, outputs: [fqn('account.nickname')] },
      };
      const { error } = await call('OnlineQueryMulti', { queries: [single, single, single] }, metadata(), {
        on: small.client,
      });
      expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    } finally {
      small.client.close();
      await small.server.close();
    }
  });
});
