import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDataPlane, type DataPlane } from '@slate/data-plane';
import { collectGraph } from '@slate/sdk';
import { createMemoryOnlineStore } from '@slate/stores';
import { freePort, linearOnnxModel } from '@slate/testing';
import { build } from 'esbuild';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseFactory } from '../../apps/metadata-plane/src/metadata-plane.suite.ts';
import { createMetadataPlane, type MetadataPlane } from '../../apps/metadata-plane/src/metadata-plane.ts';
import { createMemoryObjectStore } from '../../apps/metadata-plane/src/testing/memory-object-store.ts';
import { eventually } from '../../apps/metadata-plane/src/testing/plane-harness.ts';
import * as modelRepo from './fixtures/model-repo.ts';

const REGISTRATION = 'registration-token-for-tests';
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const SIGNATURE = {
  inputs: [{ name: 'x', type: 'float32', shape: ['batch', 2] }],
  outputs: [{ name: 'y', type: 'float32', shape: ['batch', 1] }],
};
// v1: y = 0.5·amount − 2·age + 1; v2: y = amount + age.
const V1 = linearOnnxModel({ weights: [0.5, -2], bias: 1 });
const V2 = linearOnnxModel({ weights: [1, 1], bias: 0 });
const byV1 = (a: number, b: number) => 0.5 * a - 2 * b + 1;
const byV2 = (a: number, b: number) => a + b;

/**
 * Models end to end: versions registered through the API, a deployment pinning `production`, the data
 * plane fetching the artifact and its workers serving the model feature; then the alias moved and a new
 * deployment rolled out under query load, with no failed query.
 */
export function runModelsEndToEndSuite(label: string, factory: DatabaseFactory): void {
  describe(`models end to end (${label})`, () => {
    let plane: MetadataPlane;
    let dataPlane: DataPlane;
    let api: string;
    let engine: string;
    let stateDir: string;
    let token: string;
    let bundle: Buffer;
    const objectStore = createMemoryObjectStore();

    const request = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${api}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };
    const register = async (bytes: Uint8Array) => {
      const put = await fetch(`${api}/v1/environments/dev/model-parts/${sha(bytes)}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      expect(put.status).toBe(200);
      const created = await request('POST', '/v1/environments/dev/models/fraud_model/versions', {
        artifact: {
          sha256: sha(bytes),
          size: bytes.length,
          parts: [{ sha256: sha(bytes), size: bytes.length }],
        },
        ...SIGNATURE,
      });
      expect(created.status).toBe(201);
      return created.body.version as number;
    };
    const deploy = (graph = collectGraph(modelRepo).artifact) =>
      request('POST', '/v1/deployments', {
        graph,
        bundle_base64: bundle.toString('base64'),
        source_hash: sha(bundle),
      });
    const score = async (amount: number, age: number) => {
      const res = await fetch(`${engine}/v1/query/online`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: { 'txn.amount': amount, 'txn.age': age }, outputs: ['txn.score'] }),
      });
      const body = (await res.json()) as { data?: { field: string; value: unknown }[]; errors?: unknown[] };
      return {
        status: res.status,
        value: body.data?.[0]?.value as number | undefined,
        errors: body.errors ?? [],
      };
    };

    beforeAll(async () => {
      const mpPort = await freePort();
      const dpPort = await freePort();
      api = `http://127.0.0.1:${mpPort}`;
      engine = `http://127.0.0.1:${dpPort}`;
      stateDir = await mkdtemp(join(tmpdir(), 'slate-models-e2e-'));
      plane = await createMetadataPlane({
        mode: 'production',
        database: await factory.create(),
        objectStore,
        apiServer: api,
        registrationToken: REGISTRATION,
        seed: {
          teams: [{ id: 'acme', name: 'Acme' }],
          projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
          environments: [{ id: 'dev', name: 'Development', project_id: 'web', team_id: 'acme' }],
        },
        logger: pino({ level: 'silent' }),
      });
      await plane.listen({ port: mpPort });
      const onlineStore = createMemoryOnlineStore();
      await onlineStore.init();
      dataPlane = createDataPlane({
        name: 'east',
        publicUrl: engine,
        metadataPlaneUrl: api,
        registrationToken: REGISTRATION,
        objectStore,
        onlineStore,
        stateDir,
        workers: 1,
        logger: pino({ level: 'silent' }),
      });
      await dataPlane.start({ port: dpPort });
      await dataPlane.ready();
      const created = await plane.services.createServiceToken({
        environmentId: 'dev',
        name: 'models',
        permissions: ['deploy.create', 'deploy.read', 'query.online', 'models.read', 'models.write'],
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
      token = ((await exchanged.json()) as { access_token: string }).access_token;
      const built = await build({
        entryPoints: [new URL('./fixtures/model-repo.ts', import.meta.url).pathname],
        bundle: true,
        platform: 'node',
        format: 'esm',
        write: false,
      });
      bundle = Buffer.from(built.outputFiles[0]!.contents);
    }, 120_000);
    afterAll(async () => {
      await dataPlane?.close();
      await plane?.close();
      await factory.cleanup();
      await rm(stateDir, { recursive: true, force: true });
    });

    it('refuses a deployment naming a model or alias that does not exist', async () => {
      const unknown = await deploy();
      expect([unknown.status, unknown.body.code]).toEqual([404, 'MODEL_NOT_FOUND']);
      expect(await register(V1)).toBe(1);
      const noAlias = await deploy();
      expect([noAlias.status, noAlias.body.code]).toEqual([404, 'MODEL_ALIAS_NOT_FOUND']);
    });

    it('pins production at deploy time, serves it, and rolls an alias move out with no failed query', async () => {
      expect(await register(V2)).toBe(2);
      const promote = (version: number) =>
        request('PUT', '/v1/environments/dev/models/fraud_model/aliases/production', { version });
      expect((await promote(1)).status).toBe(200);
      const first = await deploy();
      expect(first.status).toBe(201);
      const deployment = await request('GET', `/v1/deployments/${first.body.id}`);
      expect((deployment.body.graph as { pinnedModels: unknown[] }).pinnedModels).toEqual([
        expect.objectContaining({ name: 'fraud_model', alias: 'production', version: 1, sha256: sha(V1) }),
      ]);
      await eventually(async () => {
        const got = await score(3, 2);
        return got.value !== undefined && Math.abs(got.value - byV1(3, 2)) < 1e-5 ? true : undefined;
      }, 60_000);

      // The alias moves; the running deployment keeps v1 until a new deployment pins v2.
      expect((await promote(2)).status).toBe(200);
      expect((await score(3, 2)).value).toBeCloseTo(byV1(3, 2), 5);

      let stop = false;
      const outcomes: {
        status: number;
        value: number | undefined;
        errors: unknown[];
        a: number;
        b: number;
      }[] = [];
      const load = Promise.all(
        Array.from({ length: 4 }, async (_, worker) => {
          for (let i = 0; !stop; i++) {
            const a = worker + i * 0.5;
            const b = 1 - worker * 0.25;
            outcomes.push({ ...(await score(a, b)), a, b });
          }
        }),
      );
      try {
        const second = await deploy();
        expect(second.status).toBe(201);
        await eventually(async () => {
          const got = await score(3, 2);
          return got.value !== undefined && Math.abs(got.value - byV2(3, 2)) < 1e-5 ? true : undefined;
        }, 120_000);
      } finally {
        stop = true;
        await load;
      }
      const failed = outcomes.filter(
        (o) =>
          o.status !== 200 ||
          o.errors.length > 0 ||
          o.value === undefined ||
          (Math.abs(o.value - byV1(o.a, o.b)) > 1e-4 && Math.abs(o.value - byV2(o.a, o.b)) > 1e-4),
      );
      expect(outcomes.length).toBeGreaterThan(0);
      expect(failed).toEqual([]);
    }, 300_000);
  });
}
