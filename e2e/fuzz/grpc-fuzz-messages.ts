import { create, type DescMessage, fromJson, type JsonValue, toBinary } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { AuthService, QueryService } from '@slate/grpc-api';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import fc from 'fast-check';
import { byteMutation, hostileJson, hostileString } from './hostile-values.ts';

/** One unary method the gRPC fuzzer calls: its path, its input message, a valid message, hostile ones. */
export interface FuzzMethod {
  /** `/chalk.engine.v1.QueryService/Ping`. */
  readonly path: string;
  readonly name: string;
  readonly input: DescMessage;
  /** A valid request, encoded. */
  readonly valid: Buffer;
  /** The message with hostile values in its fields, encoded (the valid one when a value cannot encode). */
  readonly hostile: fc.Arbitrary<Buffer>;
}

const arrow = (columns: Record<string, unknown[]>) =>
  tableToIPC(tableFromArrays(columns as Parameters<typeof tableFromArrays>[0]), 'stream');

/** A valid request of each `QueryService` method over `fuzz-repo.ts`, as the message's init object. */
const VALID_QUERY: Readonly<Record<string, Record<string, unknown>>> = {
  Ping: { num: 7 },
  OnlineQuery: {
    inputs: { 'user.id': { kind: { case: 'numberValue', value: 3 } } },
    outputs: [{ expr: { case: 'featureFqn', value: 'user.name' } }],
    responseOptions: { includeMeta: true },
  },
  OnlineQueryBulk: {
    inputsFeather: arrow({ 'user.id': [1, 2, 3] }),
    outputs: [
      { expr: { case: 'featureFqn', value: 'user.name' } },
      { expr: { case: 'featureFqn', value: 'user.risk_score' } },
    ],
  },
  OnlineQueryMulti: {
    queries: [
      {
        query: {
          case: 'singleRequest',
          value: {
            inputs: { 'user.id': { kind: { case: 'numberValue', value: 4 } } },
            outputs: [{ expr: { case: 'featureFqn', value: 'user.risk_score' } }],
          },
        },
      },
    ],
  },
  UploadFeaturesBulk: { inputsFeather: arrow({ 'user.id': [50, 51], 'user.nickname': ['a', 'b'] }) },
  UploadFeatures: { inputsTable: arrow({ 'user.id': [60], 'user.nickname': ['c'] }) },
};

/** A protobuf Value from any JSON; numbers JSON cannot carry become strings. */
const toValue = (json: unknown) => {
  try {
    return fromJson(ValueSchema, json as JsonValue);
  } catch {
    return fromJson(ValueSchema, String(json));
  }
};

const str = hostileString.map((s) => s.slice(0, 20_000));

/** Hostile field values of each `QueryService` method, as init objects. */
function hostileQueryFields(): Record<string, fc.Arbitrary<unknown>> {
  const value = hostileJson.map(toValue);
  const outputs = fc.array(
    str.map((s) => ({ expr: { case: 'featureFqn', value: s } })),
    { maxLength: 4 },
  );
  const single = fc.record({
    inputs: fc.dictionary(fc.oneof(str, fc.constantFrom('user.id', 'user.name')), value, { maxKeys: 4 }),
    outputs,
    staleness: fc.dictionary(str, str, { maxKeys: 2 }),
    now: fc.option(
      fc.record({
        seconds: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        nanos: fc.integer(),
      }),
      { nil: undefined },
    ),
    context: fc.record({ tags: fc.array(str, { maxLength: 3 }), correlationId: str, queryName: str }),
    responseOptions: fc.record({
      includeMeta: fc.boolean(),
      metadata: fc.dictionary(str, str, { maxKeys: 2 }),
    }),
  });
  const table = byteMutation(Buffer.from(arrow({ 'user.id': [1, 2], 'user.nickname': ['x', 'y'] })));
  const bulk = fc.record({
    inputsFeather: table,
    outputs,
    bodyType: fc.integer({ min: -1, max: 99 }),
    now: fc.array(fc.record({ seconds: fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }) }), { maxLength: 3 }),
  });
  return {
    Ping: fc.record({ num: fc.integer() }),
    OnlineQuery: single,
    OnlineQueryBulk: bulk,
    OnlineQueryMulti: fc.record({
      queries: fc.array(
        fc.oneof(
          single.map((value) => ({ query: { case: 'singleRequest', value } })),
          bulk.map((value) => ({ query: { case: 'bulkRequest', value } })),
          fc.constant({}),
        ),
        { maxLength: 70 },
      ),
    }),
    UploadFeaturesBulk: fc.record({ inputsFeather: table, bodyType: fc.integer({ min: -1, max: 99 }) }),
    UploadFeatures: fc.record({ inputsTable: table }),
  };
}

function fuzzMethod(
  service: { readonly typeName: string },
  method: { readonly name: string; readonly input: DescMessage },
  valid: Record<string, unknown>,
  hostileFields: fc.Arbitrary<unknown>,
): FuzzMethod {
  const validBytes = Buffer.from(toBinary(method.input, create(method.input, valid as never)));
  return {
    path: `/${service.typeName}/${method.name}`,
    name: method.name,
    input: method.input,
    valid: validBytes,
    hostile: hostileFields.map((fields) => {
      try {
        return Buffer.from(toBinary(method.input, create(method.input, fields as never)));
      } catch {
        return validBytes;
      }
    }),
  };
}

/** Every `chalk.engine.v1.QueryService` method (a data plane's gRPC port; forwarded by the API host's). */
export function queryServiceMethods(): FuzzMethod[] {
  const hostile = hostileQueryFields();
  return QueryService.methods.map((method) =>
    fuzzMethod(QueryService, method, VALID_QUERY[method.name]!, hostile[method.name]!),
  );
}

/** A service token's credentials, for valid `GetToken` requests. */
export interface FuzzCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

/**
 * `chalk.server.v1.AuthService/GetToken` (the API host's gRPC port, and its HTTP port over Connect): valid
 * with `credentials`, or with hostile ids, secrets, grants, scopes and lifetimes.
 */
export function authServiceMethods(credentials: FuzzCredentials): FuzzMethod[] {
  const getToken = AuthService.method.getToken;
  const hostile = fc.record(
    {
      clientId: fc.oneof(str, fc.constant(credentials.clientId)),
      clientSecret: fc.oneof(str, fc.constant(credentials.clientSecret)),
      grantType: fc.oneof(fc.constant('client_credentials'), str),
      scope: str,
      expiresAt: fc.record({
        seconds: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        nanos: fc.integer(),
      }),
    },
    { requiredKeys: ['clientId', 'clientSecret', 'grantType'] },
  );
  return [
    fuzzMethod(
      AuthService,
      getToken,
      { ...credentials, grantType: 'client_credentials', scope: 'query' },
      hostile,
    ),
  ];
}
