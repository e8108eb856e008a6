import { createMetadataPlane, type MetadataPlane } from '@slate/metadata-plane';
import { createLocalObjectStore } from '@slate/stores';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createTestPlane } from '../../apps/data-plane/src/http/fixtures/test-plane.ts';
import { createProductionTargets, type ProductionTargets } from './production-targets.ts';

/** One route to fuzz: where it is, how it authenticates, and what a valid request to it looks like. */
export interface FuzzRoute {
  /** `api`: a data-plane route the metadata plane forwards (sent to it, answered by a real data plane). */
  readonly plane: 'metadata' | 'data' | 'api';
  readonly method: string;
  /** Fastify's form: `/v1/environments/:id`. */
  readonly url: string;
  readonly params: readonly string[];
  /** Query parameters with their JSON Schemas (from the OpenAPI document). */
  readonly query: readonly { readonly name: string; readonly schema: unknown }[];
  /** The JSON body's schema (metadata plane, from the OpenAPI document). */
  readonly bodySchema?: unknown;
  /** A valid JSON body to mutate (data plane). */
  readonly bodySeed?: unknown;
  /** A valid binary body to byte-mutate (data plane's Arrow and byte-model routes). */
  readonly binarySeed?: Buffer;
  /** Headers of a caller allowed on the route (bearer token, registration token, data-plane token). */
  readonly auth: Readonly<Record<string, string>>;
  /**
   * A signed-in user's session cookie, for the API host's forwarded routes (the web playground's way in):
   * sent with a CSRF header and an `X-Chalk-Env-Id` that are each valid, missing or hostile.
   */
  readonly sessionAuth?: Readonly<Record<string, string>>;
}

export interface FuzzTargets {
  readonly routes: readonly FuzzRoute[];
  readonly apps: Readonly<Record<FuzzRoute['plane'], FastifyInstance>>;
  /** Names that exist (team, project, environment ids), so fuzzed requests also reach real rows. */
  readonly ids: readonly string[];
  /** The planes on real sockets behind the `api` routes, and the data plane's gRPC server. */
  readonly production: ProductionTargets;
  close(): Promise<void>;
}

/**
 * Both planes in process, nothing listening: the metadata plane embedded on PGlite (PostgreSQL compiled to
 * WebAssembly, so text columns refuse NUL as PostgreSQL does) with a seeded team, and the data plane over
 * the quickstart example. Metadata-plane routes come from its OpenAPI document, data-plane routes from its
 * route table (`onRoute`), and the API host's forwarded routes (`FORWARDED_ROUTES`, not in the OpenAPI
 * document) go to a second metadata plane with a real data plane behind it (`createProductionTargets`).
 */
export async function createFuzzTargets(objectsDir: string): Promise<FuzzTargets> {
  const objectStore = createLocalObjectStore({ root: objectsDir });
  await objectStore.init();
  const registrationToken = 'fuzz-registration-token';
  const metadata: MetadataPlane = await createMetadataPlane({
    mode: 'embedded',
    database: { type: 'pglite' },
    objectStore,
    apiServer: 'http://127.0.0.1:4000/',
    registrationToken,
    seed: {
      teams: [{ id: 'acme', name: 'Acme' }],
      projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
      environments: [{ id: 'dev', name: 'Dev', project_id: 'web', team_id: 'acme' }],
      team_invites: [{ id: 'i1', team: 'acme', email: 'alice@acme.test', role: 'admin' }],
    },
    logger: pino({ level: 'silent' }),
  });
  await metadata.app.inject({
    method: 'POST',
    url: '/v1/auth/local-login',
    payload: { email: 'alice@acme.test' },
  });
  const alice = await metadata.services.db
    .selectFrom('users')
    .select('id')
    .where('email', '=', 'alice@acme.test')
    .executeTakeFirstOrThrow();
  const userToken = await metadata.services.issueUserAccessToken(alice.id, 'dev');
  const registered = await metadata.app.inject({
    method: 'POST',
    url: '/v1/data-planes/register',
    headers: { authorization: `Bearer ${registrationToken}` },
    payload: { name: 'fuzz', url: 'http://127.0.0.1:4001' },
  });
  const dataPlaneToken = (registered.json() as { token: string }).token;
  const document = (
    await metadata.app.inject({
      method: 'GET',
      url: '/openapi.json',
      headers: { authorization: `Bearer ${userToken}` },
    })
  ).json() as OpenApi;
  const routes: FuzzRoute[] = [];
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const security = Object.keys(operation.security?.[0] ?? {})[0];
      const token =
        security === 'registration'
          ? registrationToken
          : security === 'dataPlane'
            ? dataPlaneToken
            : userToken;
      routes.push({
        plane: 'metadata',
        method: method.toUpperCase(),
        url: path.replace(/\{([^}]+)\}/g, ':$1'),
        params: (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
        query: (operation.parameters ?? [])
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, schema: p.schema })),
        bodySchema: operation.requestBody?.content?.['application/json']?.schema,
        auth: security ? { authorization: `Bearer ${token}` } : {},
      });
    }
  }

  const dataRoutes: { method: string; url: string }[] = [];
  const data = await createTestPlane({ server: { onRoute: (route) => dataRoutes.push(route) } });
  await data.app.ready();
  const dataToken = await data.token();
  for (const route of dataRoutes) {
    const seed = dataPlaneSeeds[route.url];
    routes.push({
      plane: 'data',
      method: route.method,
      url: route.url,
      params: [...route.url.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]!),
      query: [],
      ...(Buffer.isBuffer(seed) ? { binarySeed: seed } : { bodySeed: seed ?? {} }),
      auth: { authorization: `Bearer ${dataToken}` },
    });
  }
  const production = await createProductionTargets(objectsDir, dataPlaneSeeds);
  routes.push(...production.routes);
  return {
    routes,
    apps: { metadata: metadata.app, data: data.app, api: production.metadata.app },
    production,
    ids: ['acme', 'web', 'dev', 'prod', 'fuzz', 'cdep1', alice.id, 'user.id', 'user.name'],
    close: async () => {
      await production.close();
      await data.app.close();
      await metadata.close();
    },
  };
}

interface OpenApi {
  readonly paths: Record<
    string,
    Record<
      string,
      {
        readonly parameters?: readonly {
          readonly name: string;
          readonly in: string;
          readonly schema?: unknown;
        }[];
        readonly requestBody?: { readonly content?: Record<string, { readonly schema?: unknown }> };
        readonly security?: readonly Record<string, unknown>[];
      }
    >
  >;
}

const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};

/** The seed product's byte model: magic, then length-prefixed JSON attrs, sections and named byte blobs. */
function uploadModel(attrs: Record<string, unknown>, tableBytes: Uint8Array): Buffer {
  const json = (value: unknown) => {
    const text = Buffer.from(JSON.stringify(value));
    return [u64(text.length), text];
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

const featherHeader = Buffer.from(JSON.stringify({ outputs: ['user.name', 'user.risk_score'] }));
const featherTable = Buffer.from(tableToIPC(tableFromArrays({ 'user.id': [1, 2, 3] }), 'stream'));

/** Valid bodies of the data plane's routes (quickstart features), mutated by the fuzzer. */
const dataPlaneSeeds: Record<string, unknown> = {
  '/v1/query/online': {
    inputs: { 'user.id': 1 },
    outputs: ['user.name', 'user.risk_score'],
    include_meta: true,
  },
  '/v1/upload/single': { inputs: { 'user.id': 7, 'user.name': 'fuzz' } },
  '/v1/features/rows': { namespace: 'user', primary_keys: [1, 2] },
  '/v1/features/drop': { features: ['user.name'] },
  '/v1/runs/trigger': { resolver_fqn: 'get_user' },
  '/v1/query/feather': Buffer.concat([
    Buffer.from('chal1'),
    u64(featherHeader.length),
    featherHeader,
    u64(featherTable.length),
    featherTable,
  ]),
  '/v1/upload_features/multi': uploadModel(
    { features: ['user.id', 'user.name'], table_compression: 'uncompressed' },
    tableToIPC(tableFromArrays({ 'user.id': [100, 101, 102], 'user.name': ['a', 'b', 'c'] }), 'stream'),
  ),
};
