import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Queue, QueueBroker, QueueMessage } from './queue.ts';
import { startQueueWorker } from './queue-worker.ts';

/** How `runQueueConformance` gets brokers. */
export interface QueueConformanceOptions {
  /**
   * A fresh, initialised broker on the shared backend. Called several times in one test: each broker
   * stands for a separate process (the suite closes one without finishing its messages to model a
   * killed worker). The suite closes every broker it creates.
   */
  readonly create: () => Promise<QueueBroker>;
  /** Extra wait a slow remote backend needs after a visibility timeout (default 0). */
  readonly slackMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Registers the vitest suite every `QueueBroker` backend must pass: delivery, idempotency keys,
 * visibility timeouts, retries with backoff, dead-lettering, and redelivery of a killed worker's message
 * exactly once. Each test uses fresh, randomly named queues, so backends may share one server.
 *
 * @example
 * runQueueConformance('memory', { create: async () => createMemoryQueueBroker({ store }) });
 */
export function runQueueConformance(name: string, options: QueueConformanceOptions): void {
  const slack = options.slackMs ?? 0;

  describe(`Queue conformance: ${name}`, () => {
    const brokers: QueueBroker[] = [];
    const broker = async () => {
      const b = await options.create();
      brokers.push(b);
      return b;
    };
    const fresh = () => `t-${randomUUID().slice(0, 13)}`;
    /** Receives until `count` messages arrived or `ms` passed. */
    const drain = async <T extends Record<string, unknown>>(q: Queue<T>, ms: number, count = Infinity) => {
      const got: QueueMessage<T>[] = [];
      const deadline = Date.now() + ms;
      while (Date.now() < deadline && got.length < count) {
        got.push(
          ...(await q.receive({ max: 10, waitMs: Math.min(200, Math.max(0, deadline - Date.now())) })),
        );
      }
      return got;
    };

    afterEach(async () => {
      await Promise.all(brokers.splice(0).map((b) => b.close()));
    });

    it('delivers each message once, with its body and attempt 1, and forgets it once completed', async () => {
      const q = await (await broker()).queue<{ n: number; s: string; nested: { a: number[] } }>(fresh(), {
        visibilityTimeoutSeconds: 1,
      });
      const sent = await Promise.all(
        [1, 2, 3].map((n) => q.send({ n, s: `é${n}`, nested: { a: [n, n * 2] } })),
      );
      expect(new Set(sent.map((s) => s.id)).size).toBe(3);
      expect(sent.every((s) => !s.duplicate)).toBe(true);
      expect(await q.depth()).toBe(3);
      const got = await drain(q, 3_000, 3);
      expect(got.map((m) => m.body.n).sort()).toEqual([1, 2, 3]);
      expect(got.map((m) => m.id).sort()).toEqual(sent.map((s) => s.id).sort());
      const two = got.find((m) => m.body.n === 2)!;
      expect(two).toMatchObject({ attempt: 1, body: { n: 2, s: 'é2', nested: { a: [2, 4] } } });
      for (const m of got) await q.complete(m);
      expect(await q.depth()).toBe(0);
      // Past the visibility timeout: completed messages never come back.
      expect(await drain(q, 1_500 + slack)).toEqual([]);
    });

    it('enqueues a message once per idempotency key, returning the same id', async () => {
      const b = await broker();
      const q = await b.queue<{ v: number }>(fresh());
      const first = await q.send({ v: 1 }, { idempotencyKey: 'k-1' });
      const again = await q.send({ v: 2 }, { idempotencyKey: 'k-1' });
      const other = await q.send({ v: 3 }, { idempotencyKey: 'k-2' });
      expect(first.duplicate).toBe(false);
      expect(again.id).toBe(first.id);
      expect(again.duplicate).toBe(b.capabilities.reportsDuplicates);
      expect(other.duplicate).toBe(false);
      expect(other.id).not.toBe(first.id);
      const got = await drain(q, 2_000, 2);
      expect(got.map((m) => m.body.v).sort()).toEqual([1, 3]);
      // The same key on another queue is another message.
      const q2 = await (await broker()).queue<{ v: number }>(fresh());
      expect((await q2.send({ v: 1 }, { idempotencyKey: 'k-1' })).duplicate).toBe(false);
    });

    it('hides an in-flight message from other receivers until its visibility timeout, then redelivers it', async () => {
      const name = fresh();
      const a = await (await broker()).queue<{ v: number }>(name, {
        visibilityTimeoutSeconds: 1,
        retryDelaySeconds: 0,
      });
      const b = await (await broker()).queue<{ v: number }>(name, {
        visibilityTimeoutSeconds: 1,
        retryDelaySeconds: 0,
      });
      await a.send({ v: 7 });
      const [first] = await a.receive({ waitMs: 2_000 });
      expect(first?.attempt).toBe(1);
      const t0 = Date.now();
      expect(await b.receive({ waitMs: 500 })).toEqual([]);
      const redelivered = await drain(b, 4_000 + slack, 1);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
      expect(redelivered).toHaveLength(1);
      expect(redelivered[0]).toMatchObject({ id: first!.id, attempt: 2, body: { v: 7 } });
      await b.complete(redelivered[0]!);
      expect(await b.depth()).toBe(0);
    });

    it('retries a failed message after a backoff, then dead-letters it when out of attempts', async () => {
      const b = await broker();
      const q = await b.queue<{ job: string }>(fresh(), {
        visibilityTimeoutSeconds: 5,
        maxAttempts: 2,
        retryDelaySeconds: 1,
      });
      await q.send({ job: 'x' });
      const [m1] = await q.receive({ waitMs: 2_000 });
      expect(m1?.attempt).toBe(1);
      const failedAt = Date.now();
      await q.fail(m1!, 'boom');
      // Backoff: between 1 and 2 s for the first retry.
      expect(await q.receive({ waitMs: 700 })).toEqual([]);
      const [m2] = await drain(q, 4_000 + slack, 1);
      expect(Date.now() - failedAt).toBeGreaterThanOrEqual(900);
      expect(m2).toMatchObject({ id: m1!.id, attempt: 2, body: { job: 'x' } });
      await q.fail(m2!, 'boom again');
      expect(await drain(q, 2_500 + slack)).toEqual([]);
      const dlq = await b.queue<{ job: string }>(q.deadLetterName);
      const dead = await drain(dlq, 3_000 + slack, 1);
      expect(dead.map((m) => m.body)).toEqual([{ job: 'x' }]);
      expect(await q.depth()).toBe(0);
    });

    it('dead-letters a message whose last attempt timed out', async () => {
      const b = await broker();
      const q = await b.queue<{ v: number }>(fresh(), { visibilityTimeoutSeconds: 1, maxAttempts: 1 });
      await q.send({ v: 1 });
      expect(await q.receive({ waitMs: 2_000 })).toHaveLength(1);
      expect(await drain(q, 2_000 + slack)).toEqual([]);
      const dead = await drain(await b.queue<{ v: number }>(q.deadLetterName), 2_000 + slack, 1);
      expect(dead.map((m) => m.body)).toEqual([{ v: 1 }]);
    });

    it("redelivers a killed worker's message exactly once to the next workers", async () => {
      const name = fresh();
      const opts = { visibilityTimeoutSeconds: 1, maxAttempts: 3, retryDelaySeconds: 0 };
      const doomed = await options.create(); // closed by hand below, not by afterEach
      const q = await doomed.queue<{ order: number }>(name, opts);
      await q.send({ order: 42 });
      const [taken] = await q.receive({ waitMs: 2_000 });
      expect(taken?.body.order).toBe(42);
      await doomed.close(); // killed mid-job: neither complete nor fail

      // Two survivors poll at the same time; between them the message must arrive exactly once.
      const seen: { worker: string; message: QueueMessage<{ order: number }> }[] = [];
      const survivors = await Promise.all(
        ['b', 'c'].map(async (worker) => {
          const sq = await (await broker()).queue<{ order: number }>(name, opts);
          return startQueueWorker(
            sq,
            async (message) => {
              seen.push({ worker, message });
            },
            { concurrency: 2, pollMs: 200 },
          );
        }),
      );
      await sleep(4_000 + slack);
      await Promise.all(survivors.map((w) => w.stop()));
      expect(seen).toHaveLength(1);
      expect(seen[0]?.message).toMatchObject({ id: taken!.id, attempt: 2, body: { order: 42 } });
      const check = await (await broker()).queue<{ order: number }>(name, opts);
      expect(await check.depth()).toBe(0);
    });

    it('runs handlers through startQueueWorker: returning completes, throwing retries', async () => {
      const q = await (await broker()).queue<{ n: number }>(fresh(), {
        visibilityTimeoutSeconds: 5,
        maxAttempts: 2,
        retryDelaySeconds: 0,
      });
      for (let n = 0; n < 6; n++) await q.send({ n });
      const attempts = new Map<number, number>();
      const worker = startQueueWorker(
        q,
        async (m) => {
          attempts.set(m.body.n, m.attempt);
          if (m.body.n === 3 && m.attempt === 1) throw new Error('flaky');
        },
        { concurrency: 3, pollMs: 100 },
      );
      const deadline = Date.now() + 8_000 + slack;
      while (Date.now() < deadline && (attempts.size < 6 || attempts.get(3) !== 2)) await sleep(50);
      await worker.stop();
      expect([...attempts.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5]);
      expect(attempts.get(3)).toBe(2);
      expect(attempts.get(0)).toBe(1);
      expect(await q.depth()).toBe(0);
    });

    it('refuses queue names that some backend could not hold', async () => {
      const b = await broker();
      await expect(b.queue('Bad Name!')).rejects.toMatchObject({ code: 'INVALID_QUEUE_NAME' });
    });
  });
}
