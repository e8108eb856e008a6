/**
 * An upload whose answer is lost is retried by `@slate/client` with the same `Idempotency-Key`, and stored
 * once (issue 11). The real platform runs in this process (`startPlatform`: metadata plane on PGlite, a data
 * plane with background persistence to Parquet) serving the quickstart example; the client reaches the data
 * plane through a proxy that forwards an upload, lets the data plane apply it, and then drops the
 * connection instead of passing the answer on. Values are counted in the offline store (Parquet, read here
 * with a store of its own): each pkey once.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSlateClient, type SlateClient } from '@slate/client';
import { CredentialsFileSchema, type Platform, startPlatform } from '@slate/platform';
import { createLocalObjectStore, createParquetOfflineStore, type OfflineStore } from '@slate/stores';
import { freePort } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDeployment } from '../packages/cli/src/deploy/apply-deployment.ts';

const repo = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'slate-upload-idempotency-'));
const project = join(work, 'quickstart');
let platform: Platform;
let proxy: Server;
let offline: OfflineStore;
let client: SlateClient;
/** Upload answers the proxy still has to drop. */
let dropUploads = 0;
/** Idempotency-Key headers of the uploads that reached the proxy, in order. */
const keysSeen: (string | undefined)[] = [];

/**
 * Forwards every request to the data plane; an upload while `dropUploads > 0` is forwarded and answered by
 * the data plane (so stored), but its caller's connection is destroyed instead of getting that answer.
 */
function startDroppingProxy(target: string): Promise<Server> {
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const isUpload = request.url === '/v1/upload_features/multi';
    if (isUpload) keysSeen.push(request.headers['idempotency-key'] as string | undefined);
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'host',
      ),
    );
    const upstream = await fetch(`${target}${request.url}`, {
      method: request.method,
      headers,
      body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
    });
    const body = Buffer.from(await upstream.arrayBuffer());
    if (isUpload && upstream.status === 200 && dropUploads > 0) {
      dropUploads--;
      request.socket.destroy();
      return;
    }
    response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? '' });
    response.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Offline rows of `user.name` for these pkeys, once the marker upload (sent after them) is stored. */
async function offlineNames(pkeys: readonly number[], marker: number): Promise<Map<number, number>> {
  await client.uploadFeatures({ 'user.id': [marker], 'user.name': ['marker'] });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const rows = await offline.scan('dev', { features: ['user.name'] });
    if (rows.some((row) => Number(row.pkey) === marker)) {
      const counts = new Map<number, number>(pkeys.map((pkey) => [pkey, 0]));
      for (const row of rows) {
        const pkey = Number(row.pkey);
        if (counts.has(pkey)) counts.set(pkey, counts.get(pkey)! + 1);
      }
      return counts;
    }
    if (Date.now() > deadline) throw new Error(`marker ${marker} never reached the offline store`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  cpSync(join(repo, 'examples/quickstart'), project, {
    recursive: true,
    filter: (source) => !source.includes('node_modules'),
  });
  symlinkSync(join(repo, 'node_modules'), join(work, 'node_modules'), 'dir');
  const dataPlanePort = await freePort();
  platform = await startPlatform({
    stateDir: join(work, 'state'),
    host: '127.0.0.1',
    port: await freePort(),
    dataPlanePort,
    seedFile: join(project, 'seed.yaml'),
  });
  await applyDeployment({ dir: project, client: platform.client, typeCheck: false });
  proxy = await startDroppingProxy(`http://127.0.0.1:${dataPlanePort}`);
  const credentials = CredentialsFileSchema.parse(JSON.parse(readFileSync(platform.credentialsPath, 'utf8')));
  client = createSlateClient({
    apiServer: credentials.api_server,
    queryServer: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    clientId: credentials.client_id,
    clientSecret: credentials.client_secret,
  });
  offline = createParquetOfflineStore({
    objectStore: createLocalObjectStore({ root: join(work, 'state', 'buckets') }),
    threads: 1,
  });
  await offline.init();
}, 180_000);

afterAll(async () => {
  await offline?.close();
  await new Promise((resolve) => proxy?.close(resolve));
  await platform?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('an upload retried after its answer was lost', () => {
  it('is sent again with the same Idempotency-Key and stored once', { timeout: 120_000 }, async () => {
    dropUploads = 1;
    keysSeen.length = 0;
    const pkeys = [910_001, 910_002, 910_003];
    const answer = await client.uploadFeatures({ 'user.id': pkeys, 'user.name': ['a', 'b', 'c'] });
    expect(answer.errors ?? []).toEqual([]);
    expect(dropUploads).toBe(0);
    // Two attempts reached the data plane, with one key.
    expect(keysSeen).toHaveLength(2);
    expect(keysSeen[0]).toMatch(/^[\x21-\x7e]{1,128}$/);
    expect(keysSeen[1]).toBe(keysSeen[0]);
    const counts = await offlineNames(pkeys, 910_099);
    expect(Object.fromEntries(counts)).toEqual({ 910001: 1, 910002: 1, 910003: 1 });
  });

  it('counts a repeated upload twice when it is a new logical upload (the count can see duplicates)', {
    timeout: 120_000,
  }, async () => {
    keysSeen.length = 0;
    const pkeys = [920_001, 920_002];
    await client.uploadFeatures({ 'user.id': pkeys, 'user.name': ['a', 'b'] });
    await client.uploadFeatures({ 'user.id': pkeys, 'user.name': ['a', 'b'] });
    expect(keysSeen).toHaveLength(2);
    expect(keysSeen[1]).not.toBe(keysSeen[0]);
    const counts = await offlineNames(pkeys, 920_099);
    expect(Object.fromEntries(counts)).toEqual({ 920001: 2, 920002: 2 });
  });

  it('keeps a caller-given key: the same logical upload sent again by the caller is stored once', {
    timeout: 120_000,
  }, async () => {
    const pkeys = [930_001];
    await client.uploadFeatures({ 'user.id': pkeys, 'user.name': ['a'] }, { idempotencyKey: 'batch-930' });
    await client.uploadFeatures({ 'user.id': pkeys, 'user.name': ['a'] }, { idempotencyKey: 'batch-930' });
    const counts = await offlineNames(pkeys, 930_099);
    expect(Object.fromEntries(counts)).toEqual({ 930001: 1 });
  });
});
