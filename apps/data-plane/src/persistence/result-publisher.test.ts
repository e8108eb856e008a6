import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlateError } from '@slate/graph';
import { type Bus, createLogBus } from '@slate/stores';
import { afterAll, describe, expect, it } from 'vitest';
import { RESULT_BUS_TOPIC, type ResultMessageInput } from './result-message.ts';
import { createResultPublisher } from './result-publisher.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-publisher-'));
afterAll(() => rm(root, { recursive: true, force: true }));

/**
 * The embedded log bus behind a gate: while closed, publishes wait (a bus that fell behind); `calls`
 * counts the publishes that reached it.
 */
async function gatedBus(name: string) {
  const bus = createLogBus({ root: join(root, name), sync: false });
  await bus.init();
  let open: Promise<void> = Promise.resolve();
  let release = () => {};
  const gate = {
    calls: 0,
    stall() {
      open = new Promise((resolve) => {
        release = resolve;
      });
    },
    release: () => release(),
  };
  const gated: Bus = {
    ...bus,
    async publish(topic, messages, signal) {
      gate.calls++;
      await open;
      return bus.publish(topic, messages, signal);
    },
  };
  return { bus, gated, gate };
}

const message = (i: number): ResultMessageInput => ({
  version: 1,
  environment: 'prod',
  operationId: `op-${i}`,
  operationKind: 'ONLINE_QUERY',
  deploymentId: 'dep-1',
  insertedAt: i,
  values: [{ feature: 'user.score', pkey: String(i), value: i, observedAt: i, resolver: 'score' }],
  writeOnline: false,
  writeOffline: true,
});

/** Every message id on the topic, in log order, read with a fresh consumer group. */
async function onBus(bus: Bus): Promise<string[]> {
  const consumer = bus.consumer({ topic: RESULT_BUS_TOPIC, group: 'check' });
  const ids: string[] = [];
  for (;;) {
    const got = await consumer.poll({ max: 1_000, waitMs: 0 });
    if (got.length === 0) break;
    ids.push(...got.map((m) => m.id));
  }
  await consumer.close();
  return ids;
}

/** Settles at once (so a refusal is never an unhandled rejection while the test waits). */
const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => ({ ok: true as const }),
    (error: unknown) => ({ ok: false as const, error }),
  );

describe('createResultPublisher', () => {
  it('holds at most maxQueued messages and maxWaiters callers while the bus is stalled, and sheds the rest with RESULT_BUS_FULL', async () => {
    const { bus, gated, gate } = await gatedBus('stalled');
    const publisher = createResultPublisher(gated, { maxQueued: 100, maxWaiters: 50, maxBlockMs: 60_000 });
    gate.stall();
    const calls = Array.from({ length: 5_000 }, (_, i) => outcome(publisher.publish(message(i))));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // 100 accepted, 50 waiting for room, 4,850 refused at once: nothing grows with the offered load.
    expect(publisher.stats()).toMatchObject({ queued: 100, waiting: 50, shed: 4_850, published: 0 });
    gate.release();
    const outcomes = await Promise.all(calls);
    const refused = outcomes.filter((o) => !o.ok);
    expect(refused).toHaveLength(4_850);
    for (const o of refused) {
      expect(o.error).toBeInstanceOf(SlateError);
      expect(o.error).toMatchObject({
        kind: 'unavailable',
        code: 'RESULT_BUS_FULL',
        details: { retryAfterS: 1 },
      });
    }
    await publisher.flush();
    // The accepted 150 (the first 100, then the 50 waiters in arrival order) are on the bus, in that order.
    expect(await onBus(bus)).toEqual(Array.from({ length: 150 }, (_, i) => `op-${i}`));
    expect(publisher.stats()).toMatchObject({ queued: 0, queuedBytes: 0, waiting: 0, published: 150 });
    await bus.close();
  });

  it('refuses a waiter whose deadline passes, and lets one with no deadline wait as long as it takes', async () => {
    const { bus, gated, gate } = await gatedBus('deadline');
    const publisher = createResultPublisher(gated, { maxQueued: 1, maxBlockMs: 30 });
    gate.stall();
    await publisher.publish(message(0));
    const started = performance.now();
    await expect(publisher.publish(message(1))).rejects.toMatchObject({ code: 'RESULT_BUS_FULL' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    const patient = publisher.publish(message(2), { maxBlockMs: Number.POSITIVE_INFINITY });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(publisher.stats().waiting).toBe(1);
    gate.release();
    await patient;
    await publisher.flush();
    expect(await onBus(bus)).toEqual(['op-0', 'op-2']);
    await bus.close();
  });

  it('publishes a burst in batches of maxBatch: one bus append per batch, not per message', async () => {
    const { bus, gated, gate } = await gatedBus('batches');
    const publisher = createResultPublisher(gated, { maxBatch: 200 });
    gate.stall();
    await Promise.all(Array.from({ length: 1_000 }, (_, i) => publisher.publish(message(i))));
    gate.release();
    await publisher.flush();
    // The first message goes alone (nothing to batch with yet); the 999 behind it in batches of 200.
    expect(gate.calls).toBe(1 + Math.ceil(999 / 200));
    expect(await onBus(bus)).toEqual(Array.from({ length: 1_000 }, (_, i) => `op-${i}`));
    await bus.close();
  });

  it('with lingerMs, sends the messages of queries answered within the linger in one bus append', async () => {
    const { bus, gated, gate } = await gatedBus('linger');
    const publisher = createResultPublisher(gated, { lingerMs: 50 });
    // Ten publishes on ten separate turns of the event loop, as ten queries answered one after another.
    for (let i = 0; i < 10; i++) {
      await publisher.publish(message(i));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(gate.calls).toBe(0);
    await publisher.flush();
    expect(gate.calls).toBe(1);
    expect(await onBus(bus)).toEqual(Array.from({ length: 10 }, (_, i) => `op-${i}`));
    // Without a linger, the first of them goes alone.
    const eager = createResultPublisher(gated);
    const before = gate.calls;
    for (let i = 10; i < 13; i++) {
      await eager.publish(message(i));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await eager.flush();
    expect(gate.calls - before).toBeGreaterThan(1);
    await bus.close();
  });

  it('drops a batch the bus refuses on every attempt, counting it, and carries on', async () => {
    const { bus } = await gatedBus('failing');
    let fail = true;
    const flaky: Bus = {
      ...bus,
      publish: (topic, messages, signal) =>
        fail ? Promise.reject(new Error('disk full')) : bus.publish(topic, messages, signal),
    };
    const publisher = createResultPublisher(flaky, { attempts: 2, retryDelayMs: 1 });
    await publisher.publish(message(0));
    await publisher.flush();
    fail = false;
    await publisher.publish(message(1));
    await publisher.flush();
    expect(publisher.stats()).toMatchObject({ dropped: 1, published: 1, queued: 0 });
    expect(await onBus(bus)).toEqual(['op-1']);
    await bus.close();
  });
});
