/**
 * The offline writer applies a drop in message order over a real Parquet offline store: values of earlier
 * messages (in this batch or before) are erased, values of later messages and other features are kept,
 * and a redelivered drop (a replay after a crash) erases nothing inserted after it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalObjectStore, createParquetOfflineStore, type OfflineStore } from '@slate/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultMessage } from '../result-message.ts';
import { createOfflineWriter } from './offline-writer.ts';
import type { ReceivedResult } from './writer.ts';

let root: string;
let store: OfflineStore;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'slate-offline-writer-'));
  const objectStore = createLocalObjectStore({ root });
  await objectStore.init();
  store = createParquetOfflineStore({ objectStore, threads: 1 });
  await store.init();
});
afterAll(async () => {
  await store?.close();
  await rm(root, { recursive: true, force: true });
});

const message = (id: string, insertedAt: number, patch: Partial<ResultMessage>): ReceivedResult => ({
  id,
  message: {
    version: 1,
    environment: 'prod',
    operationId: id,
    operationKind: 'UPLOAD_FEATURES',
    deploymentId: null,
    insertedAt,
    values: [],
    writeOnline: false,
    writeOffline: true,
    deletes: [],
    drops: [],
    ...patch,
  },
});
const value = (feature: string, pkey: string, v: unknown) => ({
  feature,
  pkey,
  value: v,
  observedAt: 1_000,
  resolver: null,
});

describe('createOfflineWriter', () => {
  it('drops in message order, and a replayed drop keeps what came after it', async () => {
    const writer = createOfflineWriter(store);
    await writer.write([
      message('m1', 10, { values: [value('user.a', '1', 'old'), value('user.b', '1', 'b')] }),
    ]);
    const drop = message('m3', 30, { drops: ['user.a'] });
    await writer.write([
      message('m2', 20, { values: [value('user.a', '2', 'same-batch')] }),
      drop,
      message('m4', 40, { values: [value('user.a', '3', 'after')] }),
    ]);
    const read = async () =>
      (await store.scan('prod')).map((o) => `${o.feature}:${o.pkey}:${String(o.value)}`).sort();
    expect(await read()).toEqual(['user.a:3:after', 'user.b:1:b']);
    await writer.write([drop]);
    expect(await read()).toEqual(['user.a:3:after', 'user.b:1:b']);
  });
});
