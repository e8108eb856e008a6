import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createDataPlane, type DataPlane } from '@slate/data-plane';
import { createMetadataPlane, type MetadataPlane } from '@slate/metadata-plane';
import { collectGraph } from '@slate/sdk';
import { createLocalObjectStore, createMemoryOnlineStore } from '@slate/stores';
import { freePort } from '@slate/testing';
import { build } from 'esbuild';
import { pino } from 'pino';
import { FORWARDED_ROUTES } from '../../apps/metadata-plane/src/forwarding/forwarded-routes.ts';
import * as repo from './fuzz-repo.ts';
import type { FuzzRoute } from './fuzz-targets.ts';

const REGISTRATION = 'fuzz-registration-token-production';

/** Both planes on real sockets, as a client with only `api_server` meets them, plus the data plane's gRPC port. */
export interface ProductionTargets {
  /** `FORWARDED_ROUTES`, each to be sent to the metadata plane (plane `api`). */
  readonly routes: readonly FuzzRoute[];
  readonly metadata: MetadataPlane;
  readonly dataPlane: DataPlane;
  /** `127.0.0.1:<port>` of the data plane's gRPC server (h2c). */
  readonly grpcAuthority: string;
  /** A service token's access token for environment `dev` (query, upload). */
  readonly token: string;
  close(): Promise<void>;
}

/**
 * A metadata plane (PGlite) listening, a real data plane registered with it (its own token verification
 * against the metadata plane's keys, its gRPC server on), and `fuzz-repo.ts` deployed to environment `dev`:
 * a forwarded request then crosses both planes as in production.
 */
export async function createProductionTargets(
  dir: string,
  bodySeeds: Readonly<Record<string, unknown>>,
): Promise<ProductionTargets> {
  const [mpPort, dpPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
  const api = `http://127.0.0.1:${mpPort}`;
  const objectStore = createLocalObjectStore({ root: join(dir, 'prod-objects') });
  await objectStore.init();
  const metadata = await createMetadataPlane({
    mode: 'production',
    database: { type: 'pglite', dataDir: join(dir, 'prod-db') },
    objectStore,
    apiServer: api,
    registrationToken: REGISTRATION,
    seed: {
      teams: [{ id: 'acme', name: 'Acme' }],
      projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
      environments: [{ id: 'dev', name: 'Dev', project_id: 'web', team_id: 'acme' }],
    },
    logger: pino({ level: 'silent' }),
  });
  let dataPlane: DataPlane | undefined;
  try {
    await metadata.listen({ port: mpPort });
    const onlineStore = createMemoryOnlineStore();
    await onlineStore.init();
    dataPlane = createDataPlane({
      name: 'fuzz-east',
      publicUrl: `http://127.0.0.1:${dpPort}`,
      metadataPlaneUrl: api,
      registrationToken: REGISTRATION,
      objectStore,
      onlineStore,
      stateDir: join(dir, 'prod-dp'),
      workers: 1,
      grpc: { port: grpcPort },
      logger: pino({ level: 'silent' }),
    });
    await dataPlane.start({ port: dpPort });
    await dataPlane.ready();
    const created = await metadata.services.createServiceToken({
      environmentId: 'dev',
      name: 'fuzz',
      permissions: ['deploy.create', 'deploy.read', 'query.online', 'query.offline', 'query.offline_read'],
    });
    const exchanged = await fetch(`${api}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: created.clientId,
        client_secret: created.clientSecret,
        grant_type: 'client_credentials',
      }),
    });
    const token = ((await exchanged.json()) as { access_token: string }).access_token;
    const auth = { authorization: `Bearer ${token}` };
    const bundle = await build({
      entryPoints: [new URL('./fuzz-repo.ts', import.meta.url).pathname],
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
    });
    const bytes = Buffer.from(bundle.outputFiles[0]!.contents);
    const deployed = await fetch(`${api}/v1/deployments`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        graph: collectGraph(repo).artifact,
        bundle_base64: bytes.toString('base64'),
        source_hash: createHash('sha256').update(bytes).digest('hex'),
      }),
    });
    if (deployed.status !== 201) throw new Error(`deploy failed: ${await deployed.text()}`);
    // Ready when the data plane answers through the API host.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const answer = await fetch(`${api}/v1/query/online`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: { 'user.id': 3 }, outputs: ['user.name'] }),
      });
      const text = await answer.text();
      if (answer.status === 200 && text.includes('user-3')) break;
      if (Date.now() > deadline) throw new Error(`not served through the API host: ${text}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const routes: FuzzRoute[] = FORWARDED_ROUTES.map((route) => {
      const seed = bodySeeds[route.url];
      return {
        plane: 'api',
        method: route.method,
        url: route.url,
        params: [...route.url.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]!),
        query: [],
        ...(Buffer.isBuffer(seed) ? { binarySeed: seed } : { bodySeed: seed ?? {} }),
        auth,
      };
    });
    const started = dataPlane;
    return {
      routes,
      metadata,
      dataPlane: started,
      grpcAuthority: `127.0.0.1:${grpcPort}`,
      token,
      close: async () => {
        await started.close();
        await metadata.close();
      },
    };
  } catch (error) {
    await dataPlane?.close();
    await metadata.close();
    throw error;
  }
}
