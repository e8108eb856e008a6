import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createDataPlane, type DataPlane } from '@slate/data-plane';
import { collectGraph } from '@slate/sdk';
import { createMemoryOnlineStore } from '@slate/stores';
import { freePort } from '@slate/testing';
import { build } from 'esbuild';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseFactory } from '../../apps/metadata-plane/src/metadata-plane.suite.ts';
import { createMetadataPlane, type MetadataPlane } from '../../apps/metadata-plane/src/metadata-plane.ts';
import { createMemoryObjectStore } from '../../apps/metadata-plane/src/testing/memory-object-store.ts';
import { eventually } from '../../apps/metadata-plane/src/testing/plane-harness.ts';
import * as secretRepo from './fixtures/secret-repo.ts';

const REGISTRATION = 'registration-token-for-tests';

/**
 * Secrets end to end: written through the API, sealed to the data plane's X25519 key, delivered in the
 * desired state, opened by the data plane and read by a resolver through `context.secret`, while the
 * value never shows in any metadata-plane response, log line or table.
 */
export function runSecretsSuite(label: string, factory: DatabaseFactory): void {
  describe(`write-only secrets (${label})`, () => {
    let plane: MetadataPlane;
    let dataPlane: DataPlane;
    let api: string;
    let engine: string;
    let stateDir: string;
    const logLines: string[] = [];
    const responses: string[] = [];
    const values = [
      `s3cr3t-${randomBytes(12).toString('hex')}`,
      `rotated-${randomBytes(12).toString('hex')}`,
    ];
    const objectStore = createMemoryObjectStore();
    let token: string;

    const request = async (method: string, path: string, body?: unknown, bearer = token) => {
      const res = await fetch(`${api}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${bearer}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      responses.push(`${method} ${path} ${res.status} ${JSON.stringify([...res.headers])} ${text}`);
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };
    const queryApiKey = async () => {
      const res = await fetch(`${engine}/v1/query/online`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: { 'vault.id': 1 }, outputs: ['vault.api_key', 'vault.missing'] }),
      });
      const body = (await res.json()) as { data?: { field: string; value: unknown }[] };
      return Object.fromEntries((body.data ?? []).map((d) => [d.field, d.value]));
    };

    beforeAll(async () => {
      const mpPort = await freePort();
      const dpPort = await freePort();
      api = `http://127.0.0.1:${mpPort}`;
      engine = `http://127.0.0.1:${dpPort}`;
      stateDir = await mkdtemp(join(tmpdir(), 'slate-secrets-'));
      const capture = new Writable({
        write(chunk, _encoding, done) {
          logLines.push(String(chunk));
          done();
        },
      });
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
        // Trace level: the most the metadata plane ever logs.
        logger: pino({ level: 'trace' }, capture),
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
        name: 'secrets',
        permissions: ['deploy.create', 'deploy.read', 'query.online', 'secrets.write', 'secrets.list'],
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
    }, 60_000);
    afterAll(async () => {
      await dataPlane?.close();
      await plane?.close();
      await factory.cleanup();
      await rm(stateDir, { recursive: true, force: true });
    });

    it('keeps the data plane private key in its state folder and registers only the public key', async () => {
      const key = await stat(join(stateDir, 'keys', 'x25519.json'));
      expect(key.mode & 0o777).toBe(0o600);
      const planes = await sql<{ public_key: string }>`select public_key from data_planes`.execute(
        plane.services.db,
      );
      expect(planes.rows).toHaveLength(1);
      expect(planes.rows[0]?.public_key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('delivers a secret to resolvers through context.secret, and a changed one after a reload', async () => {
      const bundle = await build({
        entryPoints: [new URL('./fixtures/secret-repo.ts', import.meta.url).pathname],
        bundle: true,
        platform: 'node',
        format: 'esm',
        write: false,
      });
      const bytes = Buffer.from(bundle.outputFiles[0]!.contents);
      const deployed = await request('POST', '/v1/deployments', {
        graph: collectGraph(secretRepo).artifact,
        bundle_base64: bytes.toString('base64'),
        source_hash: createHash('sha256').update(bytes).digest('hex'),
      });
      expect(deployed.status).toBe(201);
      await eventually(
        async () => ((await queryApiKey())['vault.api_key'] === 'unset' ? true : undefined),
        20_000,
      );

      const put = await request('PUT', '/v1/environments/dev/secrets/API_KEY', { value: values[0] });
      expect(put.status).toBe(200);
      expect(Object.keys(put.body).sort()).toEqual([
        'created_at',
        'environment_id',
        'name',
        'updated_at',
        'updated_by',
      ]);
      expect(
        await eventually(async () => {
          const got = await queryApiKey();
          return got['vault.api_key'] === values[0] ? got : undefined;
        }, 20_000),
      ).toEqual({ 'vault.api_key': values[0], 'vault.missing': 'unset' });

      const again = await request('PUT', '/v1/environments/dev/secrets/API_KEY', { value: values[1] });
      expect(again.status).toBe(200);
      await eventually(
        async () => ((await queryApiKey())['vault.api_key'] === values[1] ? true : undefined),
        20_000,
      );
    });

    it('lists names and update times only', async () => {
      const list = await request('GET', '/v1/environments/dev/secrets');
      expect(list.status).toBe(200);
      const items = list.body.items as Record<string, unknown>[];
      expect(items.map((i) => i.name)).toEqual(['API_KEY']);
      expect(Object.keys(items[0]!).sort()).toEqual([
        'created_at',
        'environment_id',
        'name',
        'updated_at',
        'updated_by',
      ]);
      const desired = await sql<{ sealed: string }>`select sealed from secrets`.execute(plane.services.db);
      expect(desired.rows[0]?.sealed).toMatch(
        /^slate-sealed-v1\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/,
      );
    });

    it('never shows a secret value in a response, a log line or any table', async () => {
      // Exercise the read paths once more so their answers are in `responses`.
      await request('GET', '/v1/environments/dev/secrets');
      await request('GET', '/v1/environments/dev');
      await request('GET', '/v1/deployments?environment_id=dev');
      await request('GET', '/v1/data-planes');
      const haystacks = {
        responses: responses.join('\n'),
        logs: logLines.join(''),
        tables: await dumpEveryTable(plane),
      };
      expect(haystacks.logs.length).toBeGreaterThan(1000); // the capture did see the request logs
      expect(haystacks.tables).toContain('API_KEY');
      for (const value of values) {
        const encodings = [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('hex')];
        for (const [where, text] of Object.entries(haystacks)) {
          for (const encoded of encodings) {
            expect(text.includes(encoded), `${where} contains a secret`).toBe(false);
          }
        }
      }
    });
  });
}

/** Every row of every table in every user schema (pg-boss's too), as text. */
async function dumpEveryTable(plane: MetadataPlane): Promise<string> {
  const { db } = plane.services;
  const tables = await sql<{ table_schema: string; table_name: string }>`
    select table_schema, table_name from information_schema.tables
    where table_schema not in ('pg_catalog', 'information_schema') and table_type = 'BASE TABLE'
    order by 1, 2`.execute(db);
  expect(tables.rows.map((t) => t.table_name)).toEqual(
    expect.arrayContaining(['secrets', 'audit_log', 'job']),
  );
  const out: string[] = [];
  for (const t of tables.rows) {
    const rows = await sql`select * from ${sql.table(`${t.table_schema}.${t.table_name}`)}`.execute(db);
    out.push(`${t.table_schema}.${t.table_name} ${JSON.stringify(rows.rows)}`);
  }
  return out.join('\n');
}
