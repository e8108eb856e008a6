import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogBus } from '@slate/stores';
import { afterEach, describe, expect, it } from 'vitest';
import { createBusFeatureWriter } from './bus-feature-writer.ts';

const values = [{ feature: 'user.score', pkey: 1, value: 7, observedAt: Date.UTC(2024, 0, 1) }];
const both = { online: true, offline: true };
let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('bus feature writer idempotency keys', () => {
  it('gives a retried upload the operation id of its first attempt, per environment', async () => {
    root = await mkdtemp(join(tmpdir(), 'slate-bus-writer-'));
    const bus = createLogBus({ root });
    await bus.init();
    const writer = createBusFeatureWriter(bus);
    try {
      const first = await writer.write('prod', values, both, undefined, 'upload-1');
      const retry = await writer.write('prod', values, both, undefined, 'upload-1');
      const other = await writer.write('prod', values, both, undefined, 'upload-2');
      const elsewhere = await writer.write('dev', values, both, undefined, 'upload-1');
      const keyless = [await writer.write('prod', values, both), await writer.write('prod', values, both)];
      // The offline store skips operation ids it committed: equal ids are what makes the retry a no-op.
      expect(retry.operationId).toBe(first.operationId);
      expect(new Set([first, other, elsewhere].map((w) => w.operationId)).size).toBe(3);
      expect(keyless[0]!.operationId).not.toBe(keyless[1]!.operationId);
      expect(first.operationId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    } finally {
      await bus.close();
    }
  });
});
