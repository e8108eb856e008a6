import { createHash, randomBytes } from 'node:crypto';
import type { DataPlane } from '@slate/data-plane';
import type { MetadataPlane } from '@slate/metadata-plane';
import { freePort } from '@slate/testing';
import { FORWARDED_ROUTES } from '../../apps/metadata-plane/src/forwarding/forwarded-routes.ts';
import { deployRepository, startInProcessPlanes } from '../support/in-process-planes.ts';
import { accessToken } from '../support/index.ts';
import * as repo from './fuzz-repo.ts';
import type { FuzzRoute } from './fuzz-targets.ts';

const REGISTRATION = 'fuzz-registration-token-production';

/** Both planes on real sockets, as a client with only `api_server` meets them, plus both gRPC ports. */
export interface ProductionTargets {
  /** `FORWARDED_ROUTES`, each to be sent to the metadata plane (plane `api`). */
  readonly routes: readonly FuzzRoute[];
  readonly metadata: MetadataPlane;
  readonly dataPlane: DataPlane;
  /** `127.0.0.1:<port>` of the data plane's gRPC server (h2c). */
  readonly grpcAuthority: string;
  /** `127.0.0.1:<port>` of the API host's own gRPC server (h2c): `AuthService/GetToken`, the forwarder. */
  readonly apiGrpcAuthority: string;
  /** `127.0.0.1:<port>` of the API host's HTTP port (`AuthService/GetToken` over Connect there). */
  readonly apiAuthority: string;
  /** A service token's access token for environment `dev` (query, upload). */
  readonly token: string;
  /** That service token's credentials (valid `GetToken` calls). */
  readonly credentials: { readonly clientId: string; readonly clientSecret: string };
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
  const grpcPort = await freePort();
  const apiGrpcPort = await freePort();
  const planes = await startInProcessPlanes({
    dir,
    prefix: 'prod-',
    registrationToken: REGISTRATION,
    environments: [{ id: 'dev', name: 'Dev' }],
    dataPlaneName: 'fuzz-east',
    dataPlaneGrpcPort: grpcPort,
    metadataGrpc: { dataPlanePort: grpcPort },
  });
  const { metadata, api } = planes;
  try {
    await metadata.listenGrpc({ port: apiGrpcPort });
    const created = await metadata.services.createServiceToken({
      environmentId: 'dev',
      name: 'fuzz',
      permissions: ['deploy.create', 'deploy.read', 'query.online', 'query.offline', 'query.offline_read'],
    });
    const token = await accessToken(api, {
      client_id: created.clientId,
      client_secret: created.clientSecret,
    });
    const auth = { authorization: `Bearer ${token}` };
    const deployed = await deployRepository(api, token, new URL('./fuzz-repo.ts', import.meta.url), repo);
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
    // A member of acme with a session as a sign-in leaves one (only the cookie's sha256 is stored).
    const session = randomBytes(24).toString('base64url');
    await metadata.services.db
      .insertInto('users')
      .values({ id: 'u_fuzz', email: 'fuzz@example.com', name: 'Fuzz' })
      .execute();
    await metadata.services.db
      .insertInto('team_members')
      .values({ user_id: 'u_fuzz', team_id: 'acme', role: 'developer' })
      .execute();
    await metadata.services.db
      .insertInto('sessions')
      .values({
        id_hash: createHash('sha256').update(session).digest('hex'),
        user_id: 'u_fuzz',
        expires_at: new Date(Date.now() + 24 * 3_600_000),
      })
      .execute();
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
        sessionAuth: { cookie: `slate_session=${session}` },
      };
    });
    return {
      routes,
      metadata,
      dataPlane: planes.dataPlane,
      grpcAuthority: `127.0.0.1:${grpcPort}`,
      apiGrpcAuthority: `127.0.0.1:${apiGrpcPort}`,
      apiAuthority: new URL(api).host,
      token,
      credentials: { clientId: created.clientId, clientSecret: created.clientSecret },
      close: planes.close,
    };
  } catch (error) {
    await planes.close();
    throw error;
  }
}
