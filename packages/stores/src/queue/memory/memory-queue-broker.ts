import { createHash, randomUUID } from 'node:crypto';
import {
  assertQueueName,
  deadLetterNameOf,
  type Queue,
  type QueueBody,
  type QueueBroker,
  type QueueMessage,
  QueueOptionsSchema,
  type ResolvedQueueOptions,
  retryDelaySeconds,
} from '../queue.ts';

interface StoredMessage {
  readonly id: string;
  readonly body: QueueBody;
  /** Deliveries so far. */
  attempts: number;
  /** Not deliverable before this time (retry backoff, or the end of an in-flight visibility timeout). */
  visibleAt: number;
  /** Set while in flight; a new delivery gets a new receipt, so a stale receiver's complete is ignored. */
  receipt: string | null;
}

interface StoredQueue {
  readonly options: ResolvedQueueOptions;
  readonly messages: Map<string, StoredMessage>;
  /** id of every message ever sent with an idempotency key (kept for the store's life). */
  readonly keys: Set<string>;
}

/** The state memory brokers share: hand the same store to several brokers to model several processes. */
export interface MemoryQueueStore {
  readonly queues: Map<string, StoredQueue>;
}

export function createMemoryQueueStore(): MemoryQueueStore {
  return { queues: new Map() };
}

export interface MemoryQueueBrokerOptions {
  /** Shared state; default a private one. */
  readonly store?: MemoryQueueStore;
  /** Injected clock in ms (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * The reference `QueueBroker`: in-process, not durable. Brokers created on one `store` behave as
 * separate processes on one backend (a closed broker's in-flight messages come back after their
 * visibility timeout), which is how the conformance suite models a killed worker.
 *
 * @example
 * const broker = createMemoryQueueBroker();
 * const queue = await broker.queue('heartbeat', { visibilityTimeoutSeconds: 10 });
 * await queue.send({ data_plane_id: 'dp_1' });
 */
export function createMemoryQueueBroker(options: MemoryQueueBrokerOptions = {}): QueueBroker {
  const store = options.store ?? createMemoryQueueStore();
  const now = options.now ?? Date.now;
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new Error('the queue broker is closed');
  };

  const open = (name: string, resolved: ResolvedQueueOptions): StoredQueue => {
    let stored = store.queues.get(name);
    if (!stored) {
      stored = { options: resolved, messages: new Map(), keys: new Set() };
      store.queues.set(name, stored);
    }
    return stored;
  };

  const take = (q: StoredQueue, max: number): QueueMessage[] => {
    const out: QueueMessage[] = [];
    const t = now();
    for (const m of q.messages.values()) {
      if (out.length >= max) break;
      if (m.visibleAt > t) continue;
      m.attempts += 1;
      m.receipt = randomUUID();
      m.visibleAt = t + q.options.visibilityTimeoutSeconds * 1000;
      out.push({ id: m.id, body: structuredClone(m.body), attempt: m.attempts, receipt: m.receipt });
    }
    return out;
  };

  return {
    capabilities: {
      idempotencyWindowSeconds: Number.POSITIVE_INFINITY,
      durable: false,
      reportsDuplicates: true,
    },
    async init() {},
    async queue<T extends QueueBody>(name: string, queueOptions = {}): Promise<Queue<T>> {
      assertOpen();
      assertQueueName(name);
      const resolved = QueueOptionsSchema.parse(queueOptions);
      const dlqName = deadLetterNameOf(name);
      const q = open(name, resolved);
      const dlq = open(dlqName, QueueOptionsSchema.parse({}));
      // A message whose visibility lapsed on its last attempt is dead-lettered, as on the real backends.
      const sweep = () => {
        const t = now();
        for (const m of q.messages.values()) {
          if (m.visibleAt <= t && m.attempts >= q.options.maxAttempts) {
            q.messages.delete(m.id);
            dlq.messages.set(m.id, { id: m.id, body: m.body, attempts: 0, visibleAt: 0, receipt: null });
          }
        }
      };
      const queue: Queue<T> = {
        name,
        deadLetterName: dlqName,
        options: q.options,
        async send(body, sendOptions = {}) {
          assertOpen();
          const key = sendOptions.idempotencyKey;
          const id = key
            ? createHash('sha256').update(`${name}\0${key}`).digest('hex').slice(0, 32)
            : randomUUID();
          if (key && q.keys.has(id)) return { id, duplicate: true };
          if (key) q.keys.add(id);
          q.messages.set(id, { id, body: structuredClone(body), attempts: 0, visibleAt: 0, receipt: null });
          return { id, duplicate: false };
        },
        async receive(receiveOptions = {}) {
          assertOpen();
          const deadline = now() + (receiveOptions.waitMs ?? 0);
          for (;;) {
            sweep();
            const got = take(q, receiveOptions.max ?? 1);
            if (got.length > 0 || now() >= deadline || receiveOptions.signal?.aborted) {
              return got as QueueMessage<T>[];
            }
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        },
        async complete(message) {
          assertOpen();
          const m = q.messages.get(message.id);
          if (m && m.receipt === message.receipt) q.messages.delete(message.id);
        },
        async fail(message) {
          assertOpen();
          const m = q.messages.get(message.id);
          if (!m || m.receipt !== message.receipt) return;
          m.receipt = null;
          m.visibleAt = now() + retryDelaySeconds(q.options, m.attempts) * 1000;
          if (m.attempts >= q.options.maxAttempts) m.visibleAt = 0;
          sweep();
        },
        async depth() {
          sweep();
          return q.messages.size;
        },
      };
      return queue;
    },
    async close() {
      closed = true;
    },
  };
}
