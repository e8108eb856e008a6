import { collectGraph, features, float, int, online, stream, string } from '@slate/sdk';
import { createMemoryOnlineStore } from '@slate/stores';
import { describe, expect, it } from 'vitest';
import { createEngine } from './engine.ts';
import { createInProcessRuntime } from './runtime/in-process/in-process-runtime.ts';

const Device = features('device', {
  id: int(),
  battery: float().nullable().maxStaleness('1h').etlOfflineToOnline(),
  label: string(),
});
const device_stream = stream({
  source: { topic: 'devices' },
  outputs: { id: Device.id, battery: Device.battery },
  parse: ({ value }) => JSON.parse(value) as { id: number; battery: number },
});
const device_label = online({
  inputs: { id: Device.id },
  outputs: { label: Device.label },
  fn: ({ id }) => ({ label: `device-${id}` }),
});

describe('features of streaming resolvers', () => {
  it('are served from the online store; a miss is null, never computed and never cached', async () => {
    const { artifact, functions } = collectGraph({ Device, device_stream, device_label });
    const store = createMemoryOnlineStore();
    await store.init();
    const now = Date.now();
    await store.set('e', [{ feature: 'device.battery', pkey: 1, value: 0.75, observedAt: now - 1_000 }]);
    let calls = 0;
    const runtime = createInProcessRuntime(functions);
    const engine = createEngine({
      graph: artifact,
      runtime: {
        call: (request, signal) => {
          calls += request.resolver === 'device_stream' ? 1 : 0;
          return runtime.call(request, signal);
        },
        close: () => runtime.close(),
      },
      onlineStore: store,
      environment: 'e',
      deploymentId: 'd',
    });
    const result = await engine.query({
      inputs: { 'device.id': [1, 2] },
      outputs: ['device.battery', 'device.label'],
    });
    expect(result.errors).toEqual([]);
    const column = (fqn: string) => result.columns.find((c) => c.fqn === fqn)!;
    expect(column('device.battery').values).toEqual([0.75, null]);
    expect(column('device.battery').cacheHits).toEqual([true, false]);
    expect(column('device.label').values).toEqual(['device-1', 'device-2']);
    expect(calls).toBe(0);
    expect(await store.get('e', [{ feature: 'device.battery', pkey: 2 }])).toEqual([null]);
    // The stream's primary-key output never stands in for a missing key.
    const byLabel = await engine.query({ inputs: { 'device.label': ['x'] }, outputs: ['device.battery'] });
    expect(byLabel.errors).toEqual([expect.objectContaining({ code: 'RESOLVER_NOT_FOUND' })]);
    await engine.close();
  });
});
