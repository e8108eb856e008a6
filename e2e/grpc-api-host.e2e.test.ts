/**
 * gRPC through the API host (issue 13 item 3): a client that knows only the API host's gRPC address
 * exchanges its credentials with `chalk.server.v1.AuthService/GetToken` and queries, bulk-queries,
 * multi-queries and uploads with `chalk.engine.v1.QueryService`; the metadata plane forwards each call to
 * the environment's data plane. The client is @grpc/grpc-js + @grpc/proto-loader built from the `.proto`
 * files (protobufjs), none of the servers' code; Arrow bodies are written here with apache-arrow. Both
 * planes run in this process, on real sockets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as connectH2 } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { DataPlane } from '@slate/data-plane';
import type { MetadataPlane } from '@slate/metadata-plane';
import { freePort } from '@slate/testing';
import { Int32, Table, tableFromIPC, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as repo from './forwarding/forwarding-repo.ts';
import { deployRepository, startInProcessPlanes } from './support/in-process-planes.ts';

const REGISTRATION = 'registration-token-for-grpc-forwarding';
const protoDir = fileURLToPath(new URL('../packages/grpc-api/proto', import.meta.url));

/** proto-loader clients are untyped: messages are plain objects shaped by the `.proto` files. */
type Loose = ReturnType<typeof JSON.parse>;
type Client = grpc.Client & Record<string, Loose>;
type Reply = { error: grpc.ServiceError | null; response: Loose; trailers: grpc.Metadata | null };

function loadClient(file: string, service: string, address: string): Client {
  const definition = protoLoader.loadSync(file, {
    includeDirs: [protoDir],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  let node: Loose = grpc.loadPackageDefinition(definition);
  for (const part of service.split('.')) node = node[part];
  return new (node as grpc.ServiceClientConstructor)(address, grpc.credentials.createInsecure()) as Client;
}

function call(
  client: Client,
  method: string,
  request: Record<string, unknown>,
  meta: grpc.Metadata = new grpc.Metadata(),
  deadlineMs?: number,
): Promise<Reply> {
  return new Promise((resolve) => {
    let trailers: grpc.Metadata | null = null;
    const options = deadlineMs ? { deadline: Date.now() + deadlineMs } : {};
    const pending = client[method](
      request,
      meta,
      options,
      (error: grpc.ServiceError | null, response: Loose) =>
        resolve({ error, response, trailers: error?.metadata ?? trailers }),
    );
    pending.on('status', (status: grpc.StatusObject) => {
      trailers = status.metadata;
    });
  });
}

const fqn = (feature: string) => ({ feature_fqn: feature });
const num = (value: number) => ({ numberValue: value });
const ids = (values: number[]) =>
  Buffer.from(tableToIPC(new Table({ 'account.id': vectorFromArray(values, new Int32()) }), 'stream'));

describe('gRPC through the API host', () => {
  let plane: MetadataPlane;
  let dataPlane: DataPlane;
  let apiUrl: string;
  let dir: string;
  let engine: string;
  let dpGrpcPort: number;
  let auth: Client;
  let query: Client;
  let clientId: string;
  let tokenId: string;
  let clientSecret: string;
  let token: string;
  let apiGrpcOrigin: string;

  const withToken = (headers: Record<string, string> = {}, bearer: string | null = token) => {
    const meta = new grpc.Metadata();
    if (bearer !== null) meta.set('authorization', `Bearer ${bearer}`);
    meta.set('x-chalk-deployment-type', 'engine-grpc');
    for (const [key, value] of Object.entries(headers)) meta.set(key, value);
    return meta;
  };
  const single = async (outputs: string[], id: number, headers: Record<string, string> = {}) =>
    call(
      query,
      'OnlineQuery',
      { inputs: { 'account.id': num(id) }, outputs: outputs.map(fqn) },
      withToken(headers),
    );
  const valuesOf = (response: Loose) =>
    Object.fromEntries(
      (response.data.results as Loose[]).map((r) => [r.field, r.value.numberValue ?? r.value.stringValue]),
    );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slate-grpc-host-'));
    const mpGrpcPort = await freePort();
    dpGrpcPort = await freePort();
    const planes = await startInProcessPlanes({
      dir,
      registrationToken: REGISTRATION,
      environments: [
        { id: 'dev', name: 'Development' },
        { id: 'prod', name: 'Production' },
      ],
      dataPlaneName: 'east',
      dataPlaneGrpcPort: dpGrpcPort,
      metadataGrpc: { dataPlanePort: dpGrpcPort, maxInFlight: 1 },
    });
    ({ metadata: plane, dataPlane, api: apiUrl, engine } = planes);
    const grpcPort = await plane.listenGrpc({ port: mpGrpcPort });
    apiGrpcOrigin = `http://127.0.0.1:${grpcPort}`;
    const created = await plane.services.createServiceToken({
      environmentId: 'dev',
      name: 'grpc-forwarding',
      permissions: ['deploy.create', 'deploy.read', 'query.online'],
    });
    ({ clientId, clientSecret } = created);
    tokenId = created.id;
    auth = loadClient('chalk/server/v1/auth.proto', 'chalk.server.v1.AuthService', `127.0.0.1:${grpcPort}`);
    query = loadClient(
      'chalk/engine/v1/query_server.proto',
      'chalk.engine.v1.QueryService',
      `127.0.0.1:${grpcPort}`,
    );
    const exchanged = await call(auth, 'GetToken', {
      client_id: clientId,
      client_secret: clientSecret,
      grant_type: 'client_credentials',
    });
    expect(exchanged.error).toBeNull();
    token = exchanged.response.access_token;

    const deployed = await deployRepository(
      apiUrl,
      token,
      new URL('./forwarding/forwarding-repo.ts', import.meta.url),
      repo,
    );
    expect(deployed.status).toBe(201);
    // Ready when the data plane answers through the API host's gRPC port.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const answer = await single(['account.doubled'], 1);
      if (!answer.error && valuesOf(answer.response)['account.doubled'] === 2) break;
      if (Date.now() > deadline) throw new Error(`not served through the API host: ${answer.error?.message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 90_000);
  afterAll(async () => {
    auth?.close();
    query?.close();
    await dataPlane?.close();
    await plane?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('exchanges client credentials over gRPC, naming the engines and the environment', async () => {
    const { error, response } = await call(auth, 'GetToken', {
      client_id: clientId,
      client_secret: clientSecret,
      grant_type: 'client_credentials',
    });
    expect(error).toBeNull();
    expect(response.token_type).toBe('Bearer');
    expect(response.access_token.split('.')).toHaveLength(3);
    expect(response.expires_in).toBeGreaterThan(0);
    expect(response.primary_environment).toBe('dev');
    expect(response.engines).toEqual({ dev: engine });
    expect(response.grpc_engines).toEqual({ dev: `http://127.0.0.1:${dpGrpcPort}` });
    expect(response.environment_id_to_name).toEqual({ dev: 'Development' });
    const expiresAt = Number(response.expires_at.seconds) * 1000;
    expect(Math.abs(expiresAt - (Date.now() + response.expires_in * 1000))).toBeLessThan(60_000);
  });

  it('answers wrong credentials UNAUTHENTICATED with the HTTP exchange message, and a bad grant INVALID_ARGUMENT', async () => {
    const wrong = await call(auth, 'GetToken', {
      client_id: clientId,
      client_secret: 'not-the-secret',
      grant_type: 'client_credentials',
    });
    expect(wrong.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(wrong.error?.details).toBe('Client ID and secret are invalid');
    // Audited as the HTTP exchange is: action oauth.token, the client id as target, the outcome; a success
    // names the service token that presented its secret, a refusal stays anonymous.
    const audited = await plane.services.db
      .selectFrom('audit_log')
      .select(['outcome', 'team_id', 'principal'])
      .where('action', '=', 'oauth.token')
      .where('target', '=', clientId)
      .execute();
    expect(audited).toContainEqual({ outcome: 'failure:401', team_id: null, principal: 'anonymous' });
    expect(audited).toContainEqual({ outcome: 'success', team_id: 'acme', principal: `token:${tokenId}` });
    const grant = await call(auth, 'GetToken', {
      client_id: clientId,
      client_secret: clientSecret,
      grant_type: 'password',
    });
    expect(grant.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    // Found by the fuzzer: a NUL in the id reached PostgreSQL's lookup and answered INTERNAL.
    for (const credentials of [
      { client_id: `${clientId.slice(0, 5)}\u0000${clientId.slice(5)}`, client_secret: clientSecret },
      { client_id: clientId, client_secret: `${clientSecret}\u0000` },
    ]) {
      const nul = await call(auth, 'GetToken', { ...credentials, grant_type: 'client_credentials' });
      expect(nul.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(nul.error?.details).toContain('NUL');
    }
  });

  it("relays GetToken on the data plane's gRPC port to the metadata plane, with the same refusals", async () => {
    const engineAuth = loadClient(
      'chalk/server/v1/auth.proto',
      'chalk.server.v1.AuthService',
      `127.0.0.1:${dpGrpcPort}`,
    );
    try {
      const { error, response } = await call(engineAuth, 'GetToken', {
        client_id: clientId,
        client_secret: clientSecret,
        grant_type: 'client_credentials',
      });
      expect(error).toBeNull();
      expect(response.primary_environment).toBe('dev');
      expect(response.grpc_engines).toEqual({ dev: `http://127.0.0.1:${dpGrpcPort}` });
      // The relayed token queries the engine directly.
      const direct = loadClient(
        'chalk/engine/v1/query_server.proto',
        'chalk.engine.v1.QueryService',
        `127.0.0.1:${dpGrpcPort}`,
      );
      const answer = await call(
        direct,
        'OnlineQuery',
        { inputs: { 'account.id': num(4) }, outputs: [fqn('account.doubled')] },
        withToken({}, response.access_token),
      );
      direct.close();
      expect(answer.error).toBeNull();
      expect(valuesOf(answer.response)).toEqual({ 'account.doubled': 8 });
      const wrong = await call(engineAuth, 'GetToken', {
        client_id: clientId,
        client_secret: 'not-the-secret',
        grant_type: 'client_credentials',
      });
      expect(wrong.error?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(wrong.error?.details).toBe('Client ID and secret are invalid');
    } finally {
      engineAuth.close();
    }
  });

  it('answers GetToken with the Connect protocol over HTTP/1.1 at api_server, as the Go client calls it', async () => {
    // Connect's unary JSON form, written by hand from the protocol: POST /<service>/<method>, JSON body.
    const exchange = (secret: string) =>
      fetch(`${apiUrl}/chalk.server.v1.AuthService/GetToken`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'connect-protocol-version': '1' },
        body: JSON.stringify({ clientId, clientSecret: secret, grantType: 'client_credentials' }),
      });
    const ok = await exchange(clientSecret);
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as Record<string, unknown>;
    expect(body.primaryEnvironment).toBe('dev');
    expect(String(body.accessToken).split('.')).toHaveLength(3);
    expect(body.grpcEngines).toEqual({ dev: `http://127.0.0.1:${dpGrpcPort}` });
    const wrong = await exchange('not-the-secret');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({
      code: 'unauthenticated',
      message: 'Client ID and secret are invalid',
    });
  });

  it('forwards Ping and OnlineQuery to the data plane', async () => {
    const ping = await call(query, 'Ping', { num: 41 }, withToken());
    expect(ping.error).toBeNull();
    expect(ping.response.num).toBe(41);
    const { error, response } = await single(['account.doubled', 'account.note'], 21, {
      'x-request-id': 'grpc-host-1',
    });
    expect(error).toBeNull();
    expect(valuesOf(response)).toEqual({ 'account.doubled': 42, 'account.note': 'computed-21' });
  });

  it('forwards OnlineQueryBulk: one row per input, as Arrow', async () => {
    const { error, response } = await call(
      query,
      'OnlineQueryBulk',
      { inputs_feather: ids([3, 4, 5]), outputs: [fqn('account.doubled')] },
      withToken(),
    );
    expect(error).toBeNull();
    expect(response.errors).toEqual([]);
    const table = tableFromIPC(response.scalars_data);
    expect([...(table.getChild('account.doubled')?.toArray() ?? [])].map(Number)).toEqual([6, 8, 10]);
  });

  it('forwards OnlineQueryMulti, each query answered in order', async () => {
    const { error, response } = await call(
      query,
      'OnlineQueryMulti',
      {
        queries: [
          { single_request: { inputs: { 'account.id': num(8) }, outputs: [fqn('account.doubled')] } },
          { bulk_request: { inputs_feather: ids([9, 10]), outputs: [fqn('account.doubled')] } },
        ],
      },
      withToken(),
    );
    expect(error).toBeNull();
    const [first, second] = response.responses;
    expect(first.single_response.data.results[0].value).toMatchObject(num(16));
    const table = tableFromIPC(second.bulk_response.scalars_data);
    expect([...(table.getChild('account.doubled')?.toArray() ?? [])].map(Number)).toEqual([18, 20]);
  });

  it('forwards UploadFeatures; the next query reads the uploaded value', async () => {
    const table = new Table({
      'account.id': vectorFromArray([31], new Int32()),
      'account.note': vectorFromArray(['uploaded-31'], new Utf8()),
    });
    const upload = await call(
      query,
      'UploadFeatures',
      { inputs_table: Buffer.from(tableToIPC(table, 'file')) },
      withToken(),
    );
    expect(upload.error).toBeNull();
    expect(upload.response.errors).toEqual([]);
    const { response } = await single(['account.note'], 31);
    expect(valuesOf(response)).toEqual({ 'account.note': 'uploaded-31' });
  });

  it('refuses a missing or forged token UNAUTHENTICATED before anything is forwarded', async () => {
    const none = await call(query, 'Ping', { num: 1 }, withToken({}, null));
    expect(none.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(none.trailers?.get('x-slate-error-code')).toEqual(['AUTHENTICATION_REQUIRED']);
    const [head, body] = token.split('.');
    const forged = await call(
      query,
      'OnlineQuery',
      { inputs: {}, outputs: [] },
      withToken({}, `${head}.${body}.AAAA`),
    );
    expect(forged.error?.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("answers the forwarder's own refusals in the caller's protocol: Connect as 401 JSON, gRPC-Web in a trailer frame", async () => {
    // Found by fuzzing the API host's gRPC port: they came as gRPC trailers only, so a Connect client read
    // 200 with an empty message, and a gRPC-Web client no status at all.
    const session = connectH2(apiGrpcOrigin);
    const post = (contentType: string, body: Buffer) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
        const stream = session.request({
          ':method': 'POST',
          ':path': '/chalk.engine.v1.QueryService/Ping',
          'content-type': contentType,
          authorization: 'Bearer not-a-token',
        });
        const chunks: Buffer[] = [];
        let headers: Record<string, unknown> = {};
        stream.on('response', (h) => {
          headers = h;
        });
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () =>
          resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks) }),
        );
        stream.on('error', reject);
        stream.end(body);
      });
    try {
      const connectAnswer = await post('application/proto', Buffer.alloc(0));
      expect(connectAnswer.status).toBe(401);
      expect(connectAnswer.headers['content-type']).toBe('application/json');
      expect(JSON.parse(connectAnswer.body.toString('utf8'))).toMatchObject({ code: 'unauthenticated' });
      const webAnswer = await post('application/grpc-web+proto', Buffer.from([0, 0, 0, 0, 0]));
      expect(webAnswer.status).toBe(200);
      expect(webAnswer.body[0]).toBe(0x80);
      const trailer = webAnswer.body.subarray(5, 5 + webAnswer.body.readUInt32BE(1)).toString('latin1');
      expect(trailer).toMatch(/grpc-status: ?16\r\n/);
    } finally {
      session.close();
    }
  });

  it('keeps environments apart: a dev token naming prod in x-chalk-env-id is refused', async () => {
    const { error } = await single(['account.doubled'], 1, { 'x-chalk-env-id': 'prod' });
    expect(error?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(error?.details).toMatch(/prod/);
  });

  it('passes the deadline on: a call slower than its deadline ends DEADLINE_EXCEEDED', async () => {
    const started = Date.now();
    const { error } = await call(
      query,
      'OnlineQuery',
      { inputs: { 'account.id': num(1) }, outputs: [fqn('account.slow')] },
      withToken(),
      300,
    );
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('answers RESOURCE_EXHAUSTED when its in-flight bound (1 here) is full', async () => {
    const slow = call(
      query,
      'OnlineQuery',
      { inputs: { 'account.id': num(2) }, outputs: [fqn('account.slow')] },
      withToken({ 'x-chalk-timeout': '60s' }),
      1500,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const refused = await call(query, 'Ping', { num: 1 }, withToken());
    expect(refused.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.trailers?.get('retry-after')).toEqual(['1']);
    await slow;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await call(query, 'Ping', { num: 2 }, withToken());
    expect(after.error).toBeNull();
  });

  it("limits GetToken as POST /v1/oauth/token: a client id's burst (10) spent, RESOURCE_EXHAUSTED with retry-after", async () => {
    // All at once: sent one by one, a loaded machine can take long enough between calls for the bucket
    // (1 token a second) to refill, and the burst is then never seen spent.
    const started = Date.now();
    const replies = await Promise.all(
      Array.from({ length: 16 }, () =>
        call(auth, 'GetToken', {
          client_id: 'probe-client',
          client_secret: 'guess',
          grant_type: 'client_credentials',
        }),
      ),
    );
    const seconds = Math.ceil((Date.now() - started) / 1000);
    const codes = replies.map((reply) => reply.error?.code ?? grpc.status.OK);
    const refused = replies.find((reply) => reply.error?.code === grpc.status.RESOURCE_EXHAUSTED);
    // Wrong credentials while the burst lasts (plus what refilled meanwhile), refused before any check after.
    const checked = codes.filter((code) => code === grpc.status.UNAUTHENTICATED).length;
    expect(
      codes.every((code) => code === grpc.status.UNAUTHENTICATED || code === grpc.status.RESOURCE_EXHAUSTED),
    ).toBe(true);
    expect(checked).toBeGreaterThanOrEqual(10);
    expect(checked).toBeLessThanOrEqual(10 + seconds);
    expect(refused?.error?.metadata.get('retry-after')?.[0]).toMatch(/^\d+$/);
  });
});
