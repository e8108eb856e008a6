import { createHash } from 'node:crypto';
import { linearOnnxModel } from '@slate/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseFactory } from '../metadata-plane.suite.ts';
import { createMetadataPlane, type MetadataPlane } from '../metadata-plane.ts';
import { createMemoryObjectStore } from '../testing/memory-object-store.ts';
import { type Caller, harness } from '../testing/plane-harness.ts';

const SEED = {
  teams: [{ id: 'acme', name: 'Acme' }],
  projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
  environments: [
    { id: 'dev', name: 'Development', project_id: 'web', team_id: 'acme' },
    { id: 'prod', name: 'Production', project_id: 'web', team_id: 'acme' },
  ],
  team_invites: [
    { id: 'i1', team: 'acme', email: 'owner@acme.test', role: 'owner' },
    { id: 'i2', team: 'acme', email: 'viewer@acme.test', role: 'viewer' },
  ],
};

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const SIGNATURE = {
  inputs: [{ name: 'x', type: 'float32', shape: ['batch', 2] }],
  outputs: [{ name: 'y', type: 'float32', shape: ['batch', 1] }],
};

/** The model registry over HTTP: parts, versions, aliases and their history, against a real database. */
export function runModelsSuite(label: string, factory: DatabaseFactory): void {
  describe(`model registry (${label})`, () => {
    let plane: MetadataPlane;
    const store = createMemoryObjectStore();
    const { call, login } = harness(() => plane);
    let owner: Caller;
    let viewer: Caller;

    /** Uploads `bytes` as parts of `partSize` bytes with a raw octet-stream body each. */
    const upload = async (env: string, bytes: Uint8Array, partSize: number, caller = owner) => {
      const parts: { sha256: string; size: number }[] = [];
      for (let at = 0; at < bytes.length; at += partSize) {
        const part = bytes.subarray(at, at + partSize);
        const res = await plane.app.inject({
          method: 'PUT',
          url: `/v1/environments/${env}/model-parts/${sha(part)}`,
          headers: {
            cookie: (caller as { cookie: string }).cookie,
            'x-slate-csrf': '1',
            'content-type': 'application/octet-stream',
          },
          payload: Buffer.from(part),
        });
        expect(res.statusCode, res.body).toBe(200);
        parts.push({ sha256: sha(part), size: part.length });
      }
      return { sha256: sha(bytes), size: bytes.length, parts };
    };

    beforeAll(async () => {
      plane = await createMetadataPlane({
        mode: 'embedded',
        database: await factory.create(),
        objectStore: store,
        apiServer: 'http://mp.test:4000',
        registrationToken: 'registration-token-for-tests',
        seed: SEED,
        logger: pino({ level: 'silent' }),
      });
      owner = await login('owner@acme.test');
      viewer = await login('viewer@acme.test');
    });
    afterAll(async () => {
      await plane?.close();
      await factory.cleanup();
    });

    it('registers versions from parts, checks the whole sha256, and stores parts content-addressed', async () => {
      const bytes = linearOnnxModel({ weights: [0.5, -2], bias: 1 });
      const artifact = await upload('dev', bytes, 64);
      expect(artifact.parts.length).toBeGreaterThan(1);
      const created = await call('POST', '/v1/environments/dev/models/fraud_model/versions', owner, {
        artifact,
        ...SIGNATURE,
        metadata: { framework: 'hand-built' },
        metrics: { auc: 0.91 },
        training_dataset_revision: 'ds_rev_7',
      });
      expect(created.status, created.raw).toBe(201);
      expect(created.body).toMatchObject({
        name: 'fraud_model',
        version: 1,
        sha256: sha(bytes),
        size: bytes.length,
        metrics: { auc: 0.91 },
        training_dataset_revision: 'ds_rev_7',
      });
      // The parts are in the `model` bucket under the environment, keyed by their own hash.
      const stored = await store.get('model', `env/dev/models/parts/${artifact.parts[0]!.sha256}`);
      expect(stored).toEqual(bytes.subarray(0, 64));

      const second = await call('POST', '/v1/environments/dev/models/fraud_model/versions', owner, {
        artifact,
        ...SIGNATURE,
      });
      expect(second.body.version).toBe(2);
      const versions = await call('GET', '/v1/environments/dev/models/fraud_model/versions', viewer);
      expect((versions.body.items as { version: number }[]).map((v) => v.version)).toEqual([2, 1]);

      // Downloading the parts in order gives back the artifact.
      const chunks: Buffer[] = [];
      for (const part of artifact.parts) {
        const res = await plane.app.inject({
          method: 'GET',
          url: `/v1/environments/dev/model-parts/${part.sha256}`,
          headers: { cookie: (viewer as { cookie: string }).cookie },
        });
        expect(res.headers['content-type']).toBe('application/octet-stream');
        chunks.push(res.rawPayload);
      }
      expect(sha(Buffer.concat(chunks))).toBe(sha(bytes));
    });

    it('refuses a part whose bytes do not match its sha256, and a version whose parts do not add up', async () => {
      const bytes = linearOnnxModel({ weights: [1, 1], bias: 0 });
      const res = await plane.app.inject({
        method: 'PUT',
        url: `/v1/environments/dev/model-parts/${sha(new Uint8Array([1, 2, 3]))}`,
        headers: {
          cookie: (owner as { cookie: string }).cookie,
          'x-slate-csrf': '1',
          'content-type': 'application/octet-stream',
        },
        payload: Buffer.from(bytes),
      });
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(res.body).code).toBe('ARTIFACT_SHA256_MISMATCH');

      const artifact = await upload('dev', bytes, 1024);
      const wrongWhole = await call('POST', '/v1/environments/dev/models/m2/versions', owner, {
        artifact: { ...artifact, sha256: 'a'.repeat(64) },
        ...SIGNATURE,
      });
      expect([wrongWhole.status, wrongWhole.body.code]).toEqual([400, 'ARTIFACT_SHA256_MISMATCH']);
      const missing = await call('POST', '/v1/environments/dev/models/m2/versions', owner, {
        artifact: { ...artifact, parts: [{ sha256: 'b'.repeat(64), size: 10 }] },
        ...SIGNATURE,
      });
      expect([missing.status, missing.body.code]).toEqual([400, 'MODEL_PART_MISSING']);
      // A part tampered with in the bucket after upload is caught when a version is registered from it.
      await store.put('model', `env/dev/models/parts/${artifact.parts[0]!.sha256}`, new Uint8Array([9]));
      const tampered = await call('POST', '/v1/environments/dev/models/m2/versions', owner, {
        artifact,
        ...SIGNATURE,
      });
      expect([tampered.status, tampered.body.code]).toEqual([400, 'ARTIFACT_SHA256_MISMATCH']);
      // Environments do not share parts: prod never saw this upload.
      const otherEnv = await call('POST', '/v1/environments/prod/models/m2/versions', owner, {
        artifact: await upload('dev', linearOnnxModel({ weights: [3], bias: 3 }), 4096),
        ...SIGNATURE,
      });
      expect(otherEnv.body.code).toBe('MODEL_PART_MISSING');
    });

    it('validates signatures and names with clear codes', async () => {
      const badName = await call('GET', '/v1/environments/dev/models/no-dashes/versions', viewer);
      expect(badName.status).toBe(400);
      const badSignature = await call('POST', '/v1/environments/dev/models/m3/versions', owner, {
        artifact: { sha256: 'c'.repeat(64), size: 1, parts: [{ sha256: 'c'.repeat(64), size: 1 }] },
        inputs: [{ name: 'x', type: 'complex128', shape: [1] }],
        outputs: SIGNATURE.outputs,
      });
      expect(badSignature.status).toBe(400);
      const unknownModel = await call('GET', '/v1/environments/dev/models/nope/versions', viewer);
      expect([unknownModel.status, unknownModel.body.code]).toEqual([404, 'MODEL_NOT_FOUND']);
      const unknownVersion = await call('GET', '/v1/environments/dev/models/fraud_model/versions/99', viewer);
      expect([unknownVersion.status, unknownVersion.body.code]).toEqual([404, 'MODEL_VERSION_NOT_FOUND']);
      const unknownAlias = await call(
        'GET',
        '/v1/environments/dev/models/fraud_model/versions/canary',
        viewer,
      );
      expect([unknownAlias.status, unknownAlias.body.code]).toEqual([404, 'MODEL_ALIAS_NOT_FOUND']);
    });

    it('moves aliases atomically with compare-and-set, keeps the history, and lets viewers only read', async () => {
      const path = '/v1/environments/dev/models/fraud_model/aliases/production';
      const first = await call('PUT', path, owner, { version: 1, expected_version: null });
      expect(first.body).toMatchObject({ alias: 'production', from_version: null, to_version: 1 });
      const stale = await call('PUT', path, owner, { version: 2, expected_version: null });
      expect([stale.status, stale.body.code]).toEqual([409, 'MODEL_ALIAS_CHANGED']);
      const moved = await call('PUT', path, owner, { version: 2, expected_version: 1 });
      expect(moved.body).toMatchObject({ from_version: 1, to_version: 2 });
      const noSuchVersion = await call('PUT', path, owner, { version: 42 });
      expect(noSuchVersion.body.code).toBe('MODEL_VERSION_NOT_FOUND');
      expect((await call('PUT', path, viewer, { version: 1 })).status).toBe(403);

      // Concurrent promotions to different versions: every move lands in order in the history, and the
      // alias ends at the version of the last move.
      await Promise.all([1, 2, 1, 2, 1].map((version) => call('PUT', path, owner, { version })));
      const history = await call('GET', '/v1/environments/dev/models/fraud_model/alias-history', viewer);
      const moves = history.body.items as { from_version: number | null; to_version: number }[];
      expect(moves).toHaveLength(7);
      for (let i = 0; i + 1 < moves.length; i++)
        expect(moves[i]!.from_version).toBe(moves[i + 1]!.to_version);
      const byAlias = await call(
        'GET',
        '/v1/environments/dev/models/fraud_model/versions/production',
        viewer,
      );
      expect(byAlias.body.version).toBe(moves[0]!.to_version);
      expect(byAlias.body.aliases).toEqual(['production']);

      const list = await call('GET', '/v1/environments/dev/models', viewer);
      expect(list.body.items).toEqual([
        expect.objectContaining({
          name: 'fraud_model',
          latest_version: 2,
          aliases: { production: moves[0]!.to_version },
        }),
      ]);
      const audit = await call('GET', '/v1/audit-log?action=models.*', owner);
      const actions = (audit.body.items as { action: string }[]).map((e) => e.action);
      expect(actions).toContain('models.move_alias');
      expect(actions).toContain('models.register_version');
      expect(actions).toContain('models.upload_part');
    });
  });
}
