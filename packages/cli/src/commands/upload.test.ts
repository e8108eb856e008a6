/**
 * `slate upload` against the real platform in this process (`startPlatform`: metadata plane on PGlite, a
 * data plane with background persistence to Parquet) serving the quickstart example. Values are counted in
 * the offline store, read with a Parquet store of its own: an upload re-run with its Idempotency-Key is
 * stored once, a new upload of the same rows twice.
 */
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Platform, startPlatform } from '@slate/platform';
import { createLocalObjectStore, createParquetOfflineStore, type OfflineStore } from '@slate/stores';
import { freePort } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDeployment } from '../deploy/apply-deployment.ts';
import { runSlate } from './fixtures/run-slate.ts';

const repo = new URL('../../../../', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'slate-upload-cli-'));
const project = join(work, 'quickstart');
let platform: Platform;
let offline: OfflineStore;

const slate = (...args: string[]) => runSlate(platform, work, ...args);

/** Offline `user.name` rows per pkey, once a marker uploaded after them is stored. */
async function offlineCounts(pkeys: readonly number[], marker: number): Promise<Record<number, number>> {
  writeFileSync(join(work, 'marker.json'), JSON.stringify({ 'user.id': [marker], 'user.name': ['m'] }));
  expect((await slate('upload', 'marker.json')).code).toBe(0);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const rows = await offline.scan('dev', { features: ['user.name'] });
    if (rows.some((row) => Number(row.pkey) === marker)) {
      const counts: Record<number, number> = Object.fromEntries(pkeys.map((pkey) => [pkey, 0]));
      for (const row of rows) if (Number(row.pkey) in counts) counts[Number(row.pkey)]!++;
      return counts;
    }
    if (Date.now() > deadline) throw new Error('the marker never reached the offline store');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  cpSync(join(repo, 'examples/quickstart'), project, {
    recursive: true,
    filter: (source) => !source.includes('node_modules'),
  });
  symlinkSync(join(repo, 'node_modules'), join(work, 'node_modules'), 'dir');
  platform = await startPlatform({
    stateDir: join(work, 'state'),
    host: '127.0.0.1',
    port: await freePort(),
    dataPlanePort: await freePort(),
    seedFile: join(project, 'seed.yaml'),
  });
  await applyDeployment({ dir: project, client: platform.client, typeCheck: false });
  offline = createParquetOfflineStore({
    objectStore: createLocalObjectStore({ root: join(work, 'state', 'buckets') }),
    threads: 1,
  });
  await offline.init();
}, 180_000);

afterAll(async () => {
  await offline?.close();
  await platform?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('slate upload', () => {
  it('stores an upload re-run with its --idempotency-key once, and a new upload again', {
    timeout: 120_000,
  }, async () => {
    writeFileSync(
      join(work, 'users.json'),
      JSON.stringify({ 'user.id': [940_001, 940_002], 'user.name': ['a', 'b'] }),
    );
    const first = await slate('upload', 'users.json', '--idempotency-key', 'users-940');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('▸ uploaded 2 rows of 2 features');
    expect((await slate('upload', 'users.json', '--idempotency-key', 'users-940')).code).toBe(0);
    expect(await offlineCounts([940_001, 940_002], 940_098)).toEqual({ 940001: 1, 940002: 1 });
    // Without the key each run is a new logical upload: the count sees the second copy.
    expect((await slate('upload', 'users.json')).code).toBe(0);
    expect(await offlineCounts([940_001, 940_002], 940_099)).toEqual({ 940001: 2, 940002: 2 });
  });

  it('uploads a CSV file as a JSON one, and refuses a missing Parquet file', {
    timeout: 120_000,
  }, async () => {
    writeFileSync(join(work, 'users.csv'), 'user.id,user.name\n940101,a\n940102,b\n');
    const csv = await slate('upload', 'users.csv');
    expect(csv.stderr).toBe('');
    expect(csv.code).toBe(0);
    expect(csv.stdout).toContain('▸ uploaded 2 rows of 2 features');
    expect(await offlineCounts([940_101, 940_102], 940_197)).toEqual({ 940101: 1, 940102: 1 });
    const missing = await slate('upload', 'nope.parquet');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('INVALID_INPUT_FILE');
  });

  it('refuses a file whose columns differ in length, and a malformed key', async () => {
    writeFileSync(join(work, 'ragged.json'), JSON.stringify({ 'user.id': [1, 2], 'user.name': ['a'] }));
    const ragged = await slate('upload', 'ragged.json');
    expect(ragged.code).not.toBe(0);
    expect(ragged.stderr).toContain('same number of values');
    const badKey = await slate('upload', 'users.json', '--idempotency-key', 'has space');
    expect(badKey.code).not.toBe(0);
    expect(badKey.stderr).toContain('INVALID_IDEMPOTENCY_KEY');
  });
});
