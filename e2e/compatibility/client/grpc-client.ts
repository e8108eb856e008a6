/**
 * A client of the seed product's gRPC query service (`chalk.engine.v1.QueryService`, chalk.md §3.4) built
 * with `@grpc/grpc-js` and `@grpc/proto-loader` straight from the `.proto` files: another implementation
 * than the server's (Connect and protoc-gen-es), sharing only the wire definition. It queries as the seed
 * product's TS gRPC client does (bulk for one row too, metadata `x-chalk-env-id`, `x-chalk-deployment-type:
 * engine-grpc`, a bearer token).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { type Table, tableFromIPC } from 'apache-arrow';
import { arrowIpc } from './feather-codec.ts';

const protoRoot = fileURLToPath(new URL('../../../packages/grpc-api/proto', import.meta.url));
const AUTH_PROTO = 'chalk/server/v1/auth.proto';

type Unary = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response: unknown) => void,
) => void;
type ServiceClient = grpc.Client & Record<string, Unary>;
type ServiceConstructor = new (address: string, credentials: grpc.ChannelCredentials) => ServiceClient;

function loadServices(): { query: ServiceConstructor; auth: ServiceConstructor | undefined } {
  const files = ['chalk/engine/v1/query_server.proto'];
  const hasAuth = existsSync(`${protoRoot}/${AUTH_PROTO}`);
  if (hasAuth) files.push(AUTH_PROTO);
  const definition = protoLoader.loadSync(files, {
    includeDirs: [protoRoot],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    chalk: {
      engine: { v1: { QueryService: ServiceConstructor } };
      server?: { v1?: { AuthService?: ServiceConstructor } };
    };
  };
  return { query: loaded.chalk.engine.v1.QueryService, auth: loaded.chalk.server?.v1?.AuthService };
}

const services = loadServices();

/** Whether the protos declare the gRPC token exchange (`chalk.server.v1.AuthService`). */
export const hasGrpcTokenExchange = services.auth !== undefined;

/** `host:port` from a URL, as the seed product's clients strip the scheme. */
export function grpcAddress(url: string): string {
  return url.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
}

/** A `google.protobuf.Value` as proto-loader writes it (oneof `kind`). */
export function toProtoValue(value: unknown): Record<string, unknown> {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toProtoValue) } };
  return {
    structValue: {
      fields: Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, toProtoValue(v)])),
    },
  };
}

/** A decoded `google.protobuf.Value` as plain JSON. */
export function fromProtoValue(value: unknown): unknown {
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  switch (v.kind) {
    case 'numberValue':
      return v.numberValue;
    case 'stringValue':
      return v.stringValue;
    case 'boolValue':
      return v.boolValue;
    case 'listValue':
      return ((v.listValue as { values?: unknown[] }).values ?? []).map(fromProtoValue);
    case 'structValue':
      return Object.fromEntries(
        Object.entries((v.structValue as { fields?: Record<string, unknown> }).fields ?? {}).map(([k, f]) => [
          k,
          fromProtoValue(f),
        ]),
      );
    default:
      return null;
  }
}

/** A bulk answer with its Arrow tables decoded. */
export interface GrpcBulkResult {
  readonly scalars: Table | null;
  readonly groups: Record<string, Table>;
  readonly errors: Record<string, unknown>[];
}

export interface GrpcCompatClientOptions {
  /** `host:port` of the gRPC query server. */
  readonly address: string;
  readonly environment: string;
  readonly accessToken: string;
}

export class GrpcCompatClient {
  private readonly query: ServiceClient;

  constructor(private readonly options: GrpcCompatClientOptions) {
    this.query = new services.query(options.address, grpc.credentials.createInsecure());
  }

  /**
   * `chalk.server.v1.AuthService/GetToken` (the Go client's token exchange) on the API host's gRPC address.
   * @throws when the protos do not declare it.
   */
  static async exchangeToken(
    address: string,
    credentials: { clientId: string; clientSecret: string },
  ): Promise<Record<string, unknown>> {
    if (!services.auth) throw new Error('no chalk.server.v1.AuthService in the protos');
    const client = new services.auth(address, grpc.credentials.createInsecure());
    try {
      return await unary(
        client,
        'GetToken',
        {
          client_id: credentials.clientId,
          client_secret: credentials.clientSecret,
          grant_type: 'client_credentials',
        },
        new grpc.Metadata(),
      );
    } finally {
      client.close();
    }
  }

  close(): void {
    this.query.close();
  }

  private metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${this.options.accessToken}`);
    metadata.set('x-chalk-env-id', this.options.environment);
    metadata.set('x-chalk-deployment-type', 'engine-grpc');
    return metadata;
  }

  ping(num: number): Promise<Record<string, unknown>> {
    return unary(this.query, 'Ping', { num }, this.metadata());
  }

  /** `OnlineQuery`: one row; the answer's values decoded from `google.protobuf.Value`. */
  async onlineQuery(request: {
    inputs: Record<string, unknown>;
    outputs: readonly string[];
    now?: string;
    includeMeta?: boolean;
  }): Promise<{
    values: Record<string, unknown>;
    results: Record<string, unknown>[];
    errors: Record<string, unknown>[];
    meta: unknown;
  }> {
    const response = await unary(
      this.query,
      'OnlineQuery',
      {
        inputs: Object.fromEntries(Object.entries(request.inputs).map(([k, v]) => [k, toProtoValue(v)])),
        outputs: request.outputs.map((fqn) => ({ feature_fqn: fqn })),
        ...(request.now ? { now: timestamp(request.now) } : {}),
        response_options: { include_meta: request.includeMeta ?? false },
      },
      this.metadata(),
    );
    const results = (response.data as { results?: Record<string, unknown>[] } | null)?.results ?? [];
    return {
      values: Object.fromEntries(results.map((r) => [r.field as string, fromProtoValue(r.value)])),
      results,
      errors: (response.errors as Record<string, unknown>[]) ?? [],
      meta: response.response_meta,
    };
  }

  /** The `OnlineQueryBulkRequest` message for column-major inputs. */
  static bulkRequest(request: {
    inputs: Record<string, readonly unknown[]>;
    outputs: readonly string[];
    now?: string;
  }): Record<string, unknown> {
    const rows = Object.values(request.inputs)[0]?.length ?? 0;
    return {
      inputs_feather: Buffer.from(arrowIpc(request.inputs)),
      outputs: request.outputs.map((fqn) => ({ feature_fqn: fqn })),
      now: request.now ? Array.from({ length: rows }, () => timestamp(request.now!)) : [],
      body_type: 'FEATHER_BODY_TYPE_RECORD_BATCHES',
    };
  }

  /** `OnlineQueryBulk`: Arrow in, Arrow out. */
  async onlineQueryBulk(
    request: Parameters<typeof GrpcCompatClient.bulkRequest>[0],
  ): Promise<GrpcBulkResult> {
    return bulkResult(
      await unary(this.query, 'OnlineQueryBulk', GrpcCompatClient.bulkRequest(request), this.metadata()),
    );
  }

  /** `OnlineQueryMulti` of bulk queries: one result per query, in order. */
  async onlineQueryMulti(
    queries: readonly Parameters<typeof GrpcCompatClient.bulkRequest>[0][],
  ): Promise<{ results: GrpcBulkResult[]; errors: Record<string, unknown>[] }> {
    const response = await unary(
      this.query,
      'OnlineQueryMulti',
      {
        queries: queries.map((q) => ({ bulk_request: GrpcCompatClient.bulkRequest(q) })),
      },
      this.metadata(),
    );
    const responses = (response.responses as Record<string, unknown>[]) ?? [];
    return {
      results: responses.map((r) => {
        if (!r.bulk_response)
          throw new Error(`multi answered ${JSON.stringify(Object.keys(r))}, not bulk_response`);
        return bulkResult(r.bulk_response as Record<string, unknown>);
      }),
      errors: (response.errors as Record<string, unknown>[]) ?? [],
    };
  }

  /** `UploadFeaturesBulk`: rows as Arrow IPC, one column per feature. */
  async uploadFeaturesBulk(columns: Record<string, readonly unknown[]>): Promise<Record<string, unknown>> {
    return unary(
      this.query,
      'UploadFeaturesBulk',
      {
        inputs_feather: Buffer.from(arrowIpc(columns)),
        body_type: 'FEATHER_BODY_TYPE_RECORD_BATCHES',
      },
      this.metadata(),
    );
  }

  /** `UploadFeatures`: rows as Arrow IPC in `inputs_table`; answers `{errors, operation_id}`. */
  async uploadFeatures(columns: Record<string, readonly unknown[]>): Promise<Record<string, unknown>> {
    return unary(
      this.query,
      'UploadFeatures',
      { inputs_table: Buffer.from(arrowIpc(columns)) },
      this.metadata(),
    );
  }
}

function timestamp(iso: string): { seconds: number; nanos: number } {
  const ms = Date.parse(iso);
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

function bulkResult(response: Record<string, unknown>): GrpcBulkResult {
  const scalars = response.scalars_data as Buffer | undefined;
  const groups = (response.groups_data as Record<string, Buffer> | undefined) ?? {};
  return {
    scalars: scalars && scalars.length > 0 ? tableFromIPC(scalars) : null,
    groups: Object.fromEntries(Object.entries(groups).map(([name, bytes]) => [name, tableFromIPC(bytes)])),
    errors: (response.errors as Record<string, unknown>[]) ?? [],
  };
}

function unary(
  client: ServiceClient,
  method: string,
  request: unknown,
  metadata: grpc.Metadata,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    client[method]!.call(client, request, metadata, { deadline: Date.now() + 30_000 }, (error, response) =>
      error ? reject(error) : resolve(response as Record<string, unknown>),
    );
  });
}
