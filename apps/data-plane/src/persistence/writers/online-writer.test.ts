import { createMemoryOnlineStore } from '@slate/stores';
import { describe, expect, it } from 'vitest';
import type { ResultMessage } from '../result-message.ts';
import { createOnlineWriter } from './online-writer.ts';

const message = (id: string, patch: Partial<ResultMessage>) => ({
  id,
  message: {
    version: 1 as const,
    environment: 'prod',
    operationId: id,
    operationKind: 'UPLOAD_FEATURES' as const,
    deploymentId: null,
    insertedAt: 0,
    values: [],
    writeOnline: true,
    writeOffline: false,
    deletes: [],
    drops: [],
    ...patch,
  },
});
const value = (pkey: string, v: unknown, observedAt: number) => ({
  feature: 'user.name',
  pkey,
  value: v,
  observedAt,
  resolver: null,
});

describe('createOnlineWriter', () => {
  it('applies a batch as the store would in message order: newest wins, later on ties, deletes in place', async () => {
    const store = createMemoryOnlineStore();
    await store.init();
    await createOnlineWriter(store).write([
      message('a', { values: [value('1', 'first', 10), value('2', 'kept', 10), value('3', 'gone', 10)] }),
      message('b', { values: [value('1', 'backdated', 5), value('2', 'tie-later', 10)] }),
      message('c', { deletes: [{ feature: 'user.name', pkey: '3' }] }),
      message('d', { values: [value('4', 'after-delete', 1)], writeOnline: true }),
      message('e', { values: [value('4', 'not-online', 99)], writeOnline: false }),
    ]);
    const keys = ['1', '2', '3', '4'].map((pkey) => ({ feature: 'user.name', pkey }));
    expect(await store.get('prod', keys)).toEqual([
      { value: 'first', observedAt: 10 },
      { value: 'tie-later', observedAt: 10 },
      null,
      { value: 'after-delete', observedAt: 1 },
    ]);
  });

  it('drops every value of a feature in message order: before the drop gone, after it kept', async () => {
    const store = createMemoryOnlineStore();
    await store.init();
    const other = { feature: 'user.email', pkey: '1', value: 'a@b', observedAt: 1, resolver: null };
    await createOnlineWriter(store).write([
      message('a', { values: [value('1', 'one', 10), value('2', 'two', 10), other] }),
      message('b', { drops: ['user.name'] }),
      message('c', { values: [value('3', 'after-drop', 1)] }),
    ]);
    const keys = ['1', '2', '3'].map((pkey) => ({ feature: 'user.name', pkey }));
    expect(await store.get('prod', [...keys, { feature: 'user.email', pkey: '1' }])).toEqual([
      null,
      null,
      { value: 'after-drop', observedAt: 1 },
      { value: 'a@b', observedAt: 1 },
    ]);
  });

  it('re-creates a value written after a delete of its key in the same batch', async () => {
    const store = createMemoryOnlineStore();
    await store.init();
    await createOnlineWriter(store).write([
      message('a', { values: [value('1', 'old', 50)] }),
      message('b', { deletes: [{ feature: 'user.name', pkey: '1' }] }),
      message('c', { values: [value('1', 'new', 20)] }),
    ]);
    expect(await store.get('prod', [{ feature: 'user.name', pkey: '1' }])).toEqual([
      { value: 'new', observedAt: 20 },
    ]);
  });
});
