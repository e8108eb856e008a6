import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogBus, createMemoryOnlineStore } from '@slate/stores';
import { afterEach, describe, expect, it } from 'vitest';
import { createBusFeatureWriter } from './bus-feature-writer.ts';
import { createPersistenceWorker } from './persistence-worker.ts';
import { createOnlineWriter } from './writers/online-writer.ts';

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

describe('bus feature writer with an online store (read-your-writes)', () => {
  it('answers once the online store holds the upload, and the later persistence write changes nothing', async () => {
    root = await mkdtemp(join(tmpdir(), 'slate-bus-writer-'));
    const bus = createLogBus({ root });
    await bus.init();
    const store = createMemoryOnlineStore();
    await store.init();
    const worker = createPersistenceWorker({ bus, writers: [createOnlineWriter(store)], lingerMs: 0 });
    const writer = createBusFeatureWriter(bus, { onlineStore: store });
    const read = (pkey: string) => store.get('prod', [{ feature: 'user.score', pkey }]);
    const at = (pkey: number, value: unknown, observedAt: number) => [
      { feature: 'user.score', pkey, value, observedAt },
    ];
    try {
      await writer.write('prod', at(1, 'old', 10), both);
      await writer.write('prod', at(1, 'new', 20), both);
      await writer.write('prod', at(1, 'tie', 20), both);
      await writer.write('prod', at(2, 'offline only', 30), { online: false, offline: true });
      await writer.write('prod', at(3, 'deleted', 30), both);
      await writer.delete('prod', [{ feature: 'user.score', pkey: 3 }], both);
      // Before any persistence: readable at once (newest wins; on a tie the later upload).
      expect(await read('1')).toEqual([{ value: 'tie', observedAt: 20 }]);
      expect(await read('2')).toEqual([null]);
      expect(await read('3')).toEqual([null]);
      // Persistence replays the same messages in order: the same state.
      while ((await worker.runOnce()) > 0) {}
      expect(await read('1')).toEqual([{ value: 'tie', observedAt: 20 }]);
      expect(await read('2')).toEqual([null]);
      expect(await read('3')).toEqual([null]);
    } finally {
      await worker.stop();
      await bus.close();
      await store.close();
    }
  });
});
