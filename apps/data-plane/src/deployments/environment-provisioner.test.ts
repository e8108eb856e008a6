import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalObjectStore } from '@slate/stores';
import { afterAll, describe, expect, it } from 'vitest';
import { createEnvironmentProvisioner, ENVIRONMENT_MARKER } from './environment-provisioner.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('environment provisioner', () => {
  it('creates a marker under the prefix in each of the five buckets, once', async () => {
    const root = await mkdtemp(join(tmpdir(), 'slate-prov-'));
    dirs.push(root);
    const objectStore = createLocalObjectStore({ root });
    await objectStore.init();
    const provision = createEnvironmentProvisioner({ objectStore });
    const spec = {
      object_prefixes: {
        data: 'env/qa/',
        source: 'env/qa/',
        dataset: 'env/qa/',
        model: 'env/qa/',
        stages: 'env/qa/',
      },
      online_namespace: 'qa',
    };
    expect(await provision('qa', spec)).toEqual(spec);
    for (const bucket of ['data', 'source', 'dataset', 'model', 'stages'] as const) {
      const marker = await objectStore.get(bucket, `env/qa/${ENVIRONMENT_MARKER}`);
      expect(JSON.parse(Buffer.from(marker!).toString())).toEqual({ environment_id: 'qa' });
    }
    const before = await objectStore.head('data', `env/qa/${ENVIRONMENT_MARKER}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await provision('qa', spec);
    const after = await objectStore.head('data', `env/qa/${ENVIRONMENT_MARKER}`);
    expect(after?.lastModified.getTime()).toBe(before?.lastModified.getTime());
    expect((await readdir(root)).sort()).toEqual(['data', 'dataset', 'model', 'source', 'stages']);
    await objectStore.close();
  });
});
