import { randomUUID } from 'node:crypto';
import { SlateError } from '@slate/graph';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Bus,
  type BusConsumer,
  type BusMessage,
  DEAD_LETTER_OFFSET_HEADER,
  DEAD_LETTER_REASON_HEADER,
  deadLetterTopic,
} from './bus.ts';

/** How `runBusConformance` gets a bus. */
export interface BusConformanceOptions {
  /**
   * A fresh, initialised bus. For a persistent backend, every call must reach the same stored topics (the
   * same folder, server or cluster): the suite checks a restart by closing one bus and creating another.
   */
  readonly create: () => Promise<Bus>;
  /**
   * How the backend shares a group's messages among its consumers: `message` (default; the log and Redis
   * Streams hand any pending message to whichever consumer polls) or `partition` (Kafka: a consumer owns
   * whole partitions, so which consumer gets what depends on the assignment after a rebalance).
   */
  readonly groupSplit?: 'message' | 'partition';
}

/** Polls until `count` messages have arrived (or 5 s pass), returning them in arrival order. */
async function drain(consumer: BusConsumer, count: number, max = 100): Promise<BusMessage[]> {
  const out: BusMessage[] = [];
  const deadline = Date.now() + 5_000;
  while (out.length < count && Date.now() < deadline) {
    out.push(...(await consumer.poll({ max: Math.min(max, count - out.length), waitMs: 200 })));
  }
  return out;
}

/**
 * Registers the vitest suite every `Bus` backend must pass. Each test works on fresh, randomly named
 * topics, so a backend may share one server across tests.
 *
 * @example
 * runBusConformance('log', { create: async () => { const bus = createLogBus({ root }); await bus.init(); return bus; } });
 */
export function runBusConformance(name: string, options: BusConformanceOptions): void {
  describe(`Bus conformance: ${name}`, () => {
    let bus: Bus;
    let topic: string;
    const open: Bus[] = [];

    beforeEach(async () => {
      bus = await options.create();
      open.push(bus);
      topic = `t-${randomUUID()}`;
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((b) => b.close()));
    });

    it('delivers what was published, in order, with key, value, id, headers and a first delivery count', async () => {
      const offsets = await bus.publish(topic, [
        { key: 'a', value: 'one', id: 'm-1', headers: { h: 'x' } },
        { key: 'b', value: 'twö "quoted"\n' },
      ]);
      expect(offsets).toHaveLength(2);
      const consumer = bus.consumer({ topic, group: 'g' });
      const got = await drain(consumer, 2);
      expect(got.map((m) => [m.key, m.value, m.offset, m.deliveries, m.topic])).toEqual([
        ['a', 'one', offsets[0], 1, topic],
        ['b', 'twö "quoted"\n', offsets[1], 1, topic],
      ]);
      expect(got[0]!.id).toBe('m-1');
      expect(got[0]!.headers).toMatchObject({ h: 'x' });
      expect(got[1]!.id).toMatch(/.+/);
      expect(got[1]!.id).not.toBe('m-1');
      expect(Math.abs(got[0]!.publishedAt - Date.now())).toBeLessThan(60_000);
      await consumer.ack(got);
      expect(await consumer.poll({ waitMs: 50 })).toEqual([]);
    });

    it('keeps each key in publish order across many small polls, and delivers each message once when acked', async () => {
      const keys = ['k0', 'k1', 'k2'];
      const sent = Array.from({ length: 90 }, (_, i) => ({ key: keys[(i * 7) % 3]!, value: String(i) }));
      for (let i = 0; i < sent.length; i += 30) await bus.publish(topic, sent.slice(i, i + 30));
      const consumer = bus.consumer({ topic, group: 'g' });
      const got: BusMessage[] = [];
      // A poll may come back empty when its wait runs out first (a loaded machine, a rebalance); the
      // messages must still all arrive, in order, well within the deadline.
      const deadline = Date.now() + 30_000;
      while (got.length < sent.length && Date.now() < deadline) {
        const batch = await consumer.poll({ max: 7, waitMs: 200 });
        expect(batch.length).toBeLessThanOrEqual(7);
        got.push(...batch);
        await consumer.ack(batch);
      }
      expect(got).toHaveLength(sent.length);
      for (const key of keys) {
        expect(got.filter((m) => m.key === key).map((m) => m.value)).toEqual(
          sent.filter((m) => m.key === key).map((m) => m.value),
        );
      }
      expect(await consumer.poll({ waitMs: 50 })).toEqual([]);
    });

    it('gives every group every message', async () => {
      await bus.publish(
        topic,
        Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: String(i) })),
      );
      const a = await drain(bus.consumer({ topic, group: 'a' }), 20);
      const b = await drain(bus.consumer({ topic, group: 'b' }), 20);
      expect(a.map((m) => m.value)).toEqual(b.map((m) => m.value));
      expect(a).toHaveLength(20);
    });

    it('splits a group among its consumers, each message going to one of them', async () => {
      await bus.publish(
        topic,
        Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: String(i) })),
      );
      const c1 = bus.consumer({ topic, group: 'c', name: 'c1' });
      const first = await drain(c1, 8, 8);
      expect(first).toHaveLength(8);
      const c2 = bus.consumer({ topic, group: 'c', name: 'c2' });
      let rest: BusMessage[];
      if (options.groupSplit === 'partition') {
        // c1 commits its share, then both poll (a member that stops polling stalls the rebalance) until
        // the group has seen everything; whoever owns a partition after the rebalance reads on from the commit.
        await c1.ack(first);
        rest = [];
        const deadline = Date.now() + 20_000;
        while (rest.length < 12 && Date.now() < deadline) {
          for (const consumer of [c1, c2]) {
            const got = await consumer.poll({ max: 12 - rest.length, waitMs: 100 });
            await consumer.ack(got);
            rest.push(...got);
          }
        }
      } else {
        // Any consumer takes what is not in flight: c2 gets the 12 that c1 does not hold.
        rest = await drain(c2, 12);
        expect(rest).toHaveLength(12);
      }
      const values = [...first, ...rest].map((m) => Number(m.value)).sort((x, y) => x - y);
      expect(values).toEqual(Array.from({ length: 20 }, (_, i) => i));
    });

    it('redelivers what a closed consumer left unacknowledged, and only that', async () => {
      await bus.publish(
        topic,
        Array.from({ length: 6 }, (_, i) => ({ key: 'k', value: String(i) })),
      );
      const first = bus.consumer({ topic, group: 'g', name: 'worker' });
      const got = await drain(first, 6);
      await first.ack(got.slice(0, 2));
      await first.close();
      const again = bus.consumer({ topic, group: 'g', name: 'worker' });
      const redelivered = await drain(again, 4);
      expect(redelivered.map((m) => m.value)).toEqual(['2', '3', '4', '5']);
      expect(redelivered.every((m) => m.deliveries === 2)).toBe(true);
      await again.ack(redelivered);
      expect(await again.poll({ waitMs: 50 })).toEqual([]);
    });

    it('redelivers a nacked message on a later poll with a higher delivery count', async () => {
      await bus.publish(topic, [{ key: 'k', value: 'x' }]);
      const consumer = bus.consumer({ topic, group: 'g' });
      const [message] = await drain(consumer, 1);
      await consumer.nack([message!]);
      const [again] = await drain(consumer, 1);
      expect(again).toMatchObject({ value: 'x', offset: message!.offset, deliveries: 2 });
    });

    it('wakes a waiting poll when a message is published', async () => {
      const consumer = bus.consumer({ topic, group: 'g', from: 'earliest' });
      await consumer.poll({ waitMs: 0 });
      const started = Date.now();
      const pending = consumer.poll({ waitMs: 3_000 });
      setTimeout(() => void bus.publish(topic, [{ key: 'k', value: 'late' }]), 100);
      const got = await pending;
      expect(got.map((m) => m.value)).toEqual(['late']);
      expect(Date.now() - started).toBeLessThan(2_500);
    });

    it("starts a new group at 'latest' after what was already published", async () => {
      await bus.publish(topic, [{ key: 'k', value: 'old' }]);
      const consumer = bus.consumer({ topic, group: 'late', from: 'latest' });
      expect(await consumer.poll({ waitMs: 50 })).toEqual([]);
      await bus.publish(topic, [{ key: 'k', value: 'new' }]);
      expect((await drain(consumer, 1)).map((m) => m.value)).toEqual(['new']);
    });

    it('replays a group from an offset, acknowledged messages included', async () => {
      const offsets = await bus.publish(
        topic,
        Array.from({ length: 8 }, (_, i) => ({ key: `k${i % 2}`, value: String(i) })),
      );
      const consumer = bus.consumer({ topic, group: 'g', name: 'one' });
      await consumer.ack(await drain(consumer, 8));
      await consumer.close();
      await bus.seek(topic, 'g', offsets[5]!);
      const replayed = await drain(bus.consumer({ topic, group: 'g', name: 'two' }), 3);
      expect(replayed.map((m) => m.value)).toEqual(['5', '6', '7']);
      const other = await drain(bus.consumer({ topic, group: 'other' }), 8);
      expect(other).toHaveLength(8);
    });

    it('dead-letters a message past maxDeliveries, and on request with a reason', async () => {
      const offsets = await bus.publish(topic, [
        { key: 'k', value: 'poison', id: 'p' },
        { key: 'k', value: 'bad', id: 'b' },
        { key: 'k', value: 'fine', id: 'f' },
      ]);
      const consumer = bus.consumer({ topic, group: 'g', maxDeliveries: 2 });
      const firstRound = await drain(consumer, 3);
      await consumer.deadLetter([firstRound[1]!], 'cannot parse');
      await consumer.ack([firstRound[2]!]);
      await consumer.nack([firstRound[0]!]);
      const secondRound = await drain(consumer, 1);
      expect(secondRound.map((m) => [m.value, m.deliveries])).toEqual([['poison', 2]]);
      await consumer.nack(secondRound);
      expect(await consumer.poll({ waitMs: 300 })).toEqual([]);

      const dead = await drain(bus.consumer({ topic: deadLetterTopic(topic), group: 'inspect' }), 2);
      const byId = Object.fromEntries(dead.map((m) => [m.id, m]));
      expect(Object.keys(byId).sort()).toEqual(['b', 'p']);
      expect(byId.b).toMatchObject({ key: 'k', value: 'bad' });
      expect(byId.b!.headers[DEAD_LETTER_REASON_HEADER]).toBe('cannot parse');
      expect(byId.b!.headers[DEAD_LETTER_OFFSET_HEADER]).toBe(offsets[1]);
      expect(byId.p!.headers[DEAD_LETTER_REASON_HEADER]).toMatch(/2 times/);
    });

    it('refuses invalid topic names', async () => {
      const error = await bus.publish('bad topic/..', [{ key: 'k', value: 'v' }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SlateError);
      expect(error).toMatchObject({ kind: 'input', code: 'INVALID_TOPIC' });
    });

    it('keeps messages and group positions across a restart when persistent', async () => {
      if (!bus.capabilities.persistent) return;
      await bus.publish(
        topic,
        Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: String(i) })),
      );
      const consumer = bus.consumer({ topic, group: 'g', name: 'w' });
      const got = await drain(consumer, 5);
      await consumer.ack(got.slice(0, 3));
      await bus.close();
      const reopened = await options.create();
      open.push(reopened);
      const after = await drain(reopened.consumer({ topic, group: 'g', name: 'w' }), 2);
      expect(after.map((m) => m.value)).toEqual(['3', '4']);
      await reopened.publish(topic, [{ key: 'k', value: '5' }]);
      const fresh = await drain(reopened.consumer({ topic, group: 'new' }), 6);
      expect(fresh.map((m) => m.value)).toEqual(['0', '1', '2', '3', '4', '5']);
    });

    it('hands an idle unacknowledged message to another consumer when it redelivers idle ones', async () => {
      if (!bus.capabilities.redeliversIdle) return;
      await bus.publish(topic, [{ key: 'k', value: 'slow' }]);
      const stuck = bus.consumer({ topic, group: 'g', name: 'stuck', redeliverAfterMs: 150 });
      expect(await drain(stuck, 1)).toHaveLength(1);
      const helper = bus.consumer({ topic, group: 'g', name: 'helper', redeliverAfterMs: 150 });
      expect(await helper.poll({ waitMs: 0 })).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const taken = await drain(helper, 1);
      expect(taken.map((m) => [m.value, m.deliveries])).toEqual([['slow', 2]]);
    });

    it('keeps an extended message from going idle, and lets it go once extending stops', async () => {
      if (!bus.capabilities.redeliversIdle) return;
      await bus.publish(topic, [{ key: 'k', value: 'long batch' }]);
      const busy = bus.consumer({ topic, group: 'g', name: 'busy', redeliverAfterMs: 300 });
      const [held] = await drain(busy, 1);
      const helper = bus.consumer({ topic, group: 'g', name: 'helper', redeliverAfterMs: 300 });
      // Still being written 600 ms later (twice the idle time), extended every 150 ms: nobody claims it.
      for (let i = 0; i < 4; i++) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        await busy.extend([held!]);
        expect(await helper.poll({ waitMs: 0 })).toEqual([]);
      }
      // Its writer stops extending (it died): once idle, the helper takes it.
      await new Promise((resolve) => setTimeout(resolve, 400));
      const taken = await drain(helper, 1);
      expect(taken.map((m) => [m.value, m.deliveries])).toEqual([['long batch', 2]]);
      await helper.ack(taken);
    });
  });
}
