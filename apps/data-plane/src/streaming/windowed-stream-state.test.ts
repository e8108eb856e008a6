import { collectGraph, features, int, windowed, windowedStream } from '@slate/sdk';
import { type BusMessage, createMemoryOnlineStore } from '@slate/stores';
import { describe, expect, it } from 'vitest';
import { createWindowedStreamState, type WindowEmit, type WindowRow } from './windowed-stream-state.ts';

const MINUTE = 60_000;
const Device = features('device', {
  id: int(),
  pings: windowed('10m', '1h', {
    type: int(),
    default: 0,
    maxStaleness: 'infinity',
    etlOfflineToOnline: true,
  }),
});
const pings = windowedStream({
  source: { topic: 'pings' },
  parse: ({ value }) => JSON.parse(value) as { device: number },
  key: (ping) => ping.device,
  aggregate: (agg) => [agg.count(Device.pings)],
});
const spec = collectGraph({ Device, pings }).artifact.resolvers.find((r) => r.fqn === 'pings')!;

const now = Date.UTC(2026, 2, 3, 10, 30, 0);
/** A ping of device 1 on a Kafka-style partition, `minutesAgo` before `now`. */
const row = (offset: string, minutesAgo: number): WindowRow => ({
  message: {
    topic: 'pings',
    offset,
    key: '1',
    value: '{}',
    id: `m-${offset}`,
    headers: {},
    publishedAt: now,
    deliveries: 1,
  } satisfies BusMessage,
  key: '1',
  at: now - minutesAgo * MINUTE,
  inputs: { a0: 1 },
});

async function setup() {
  const store = createMemoryOnlineStore();
  await store.init();
  return createWindowedStreamState({ store, environment: 'env', spec });
}

describe('windowed stream state', () => {
  it('counts each message once per partition offset, whatever is redelivered, across partitions', async () => {
    const state = await setup();
    // Partition 0 offsets 5 and 6, partition 1 offset 2 (an older offset number on another partition).
    const first = await state.apply([row('0:5', 1), row('0:6', 20), row('1:2', 2)], now);
    expect(first).toMatchObject({ applied: 3, duplicates: 0, late: 0 });
    expect(first.emits[0]!.values).toEqual({ 'device.pings__600__': 2, 'device.pings__3600__': 3 });
    await first.commit();

    // A redelivery of the whole batch plus newer offsets on both partitions: only the new ones count.
    const second = await state.apply(
      [row('1:2', 2), row('0:6', 20), row('0:5', 1), row('0:7', 3), row('1:3', 50)],
      now,
    );
    expect(second).toMatchObject({ applied: 2, duplicates: 3 });
    expect(second.emits[0]!.values).toEqual({ 'device.pings__600__': 3, 'device.pings__3600__': 5 });
    await second.commit();
  });

  it('replays a batch whose state was never committed from the state before it', async () => {
    const state = await setup();
    await (await state.apply([row('7', 1)], now)).commit();
    const lost = await state.apply([row('8', 1), row('9', 30)], now);
    expect(lost.emits[0]!.values['device.pings__3600__']).toBe(3);
    // The process died before `commit`: the batch comes again (with a newer message).
    const replayed = await state.apply([row('8', 1), row('9', 30), row('10', 5)], now);
    expect(replayed).toMatchObject({ applied: 3, duplicates: 0 });
    expect(replayed.emits[0]!.values).toEqual({ 'device.pings__600__': 3, 'device.pings__3600__': 4 });
  });

  it('re-emits an entity when time moves a bucket out of a window, once per due timer', async () => {
    const state = await setup();
    // The timer wheel starts at the first sweep.
    await state.sweep(now, async () => {});
    await (await state.apply([row('1', 0), row('2', 9), row('3', 55)], now)).commit();
    const emitted: WindowEmit[] = [];
    const sweep = (at: number) => state.sweep(at, async (emits) => void emitted.push(...emits));

    await sweep(now + 30_000); // no bucket boundary passed yet
    expect(emitted).toEqual([]);
    // 10:31: the 10:21 bucket (9 minutes ago) has left the 10-minute window.
    await sweep(now + MINUTE);
    expect(emitted.map((e) => e.values)).toEqual([{ 'device.pings__600__': 1, 'device.pings__3600__': 3 }]);
    await sweep(now + MINUTE); // the same boundary again: nothing due
    expect(emitted).toHaveLength(1);
    // 10:36 (several boundaries at once): the 9:35 bucket left the hour.
    await sweep(now + 6 * MINUTE);
    expect(emitted.at(-1)!.values).toEqual({ 'device.pings__600__': 1, 'device.pings__3600__': 2 });
    // 11:30: every bucket has left; the windows are empty.
    await sweep(now + 60 * MINUTE);
    expect(emitted.at(-1)!.values).toEqual({ 'device.pings__600__': 0, 'device.pings__3600__': 0 });
  });
});
