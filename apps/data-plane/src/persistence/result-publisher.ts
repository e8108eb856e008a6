import { SlateError } from '@slate/graph';
import type { Bus, OutgoingMessage } from '@slate/stores';
import type { Logger } from 'pino';
import { RESULT_BUS_TOPIC, type ResultMessageInput } from './result-message.ts';

/** Options for `createResultPublisher`; every bound has a default sized for one `slate up` process. */
export interface ResultPublisherOptions {
  /** Default `result-bus`. */
  readonly topic?: string;
  /** Messages accepted and not yet on the bus (queued plus the batch being published). Default 10,000. */
  readonly maxQueued?: number;
  /** Bytes of those messages (their JSON). Default 64 MiB. A single larger message is still taken alone. */
  readonly maxQueuedBytes?: number;
  /** Messages per bus publish (one append and one sync on the embedded log). Default 500. */
  readonly maxBatch?: number;
  /**
   * How long an idle publisher waits after the first message before sending, so that the messages of
   * queries answered meanwhile go in the same bus write (Kafka's `linger.ms`). A flush or close still waits
   * for it. Default 0: send at once.
   */
  readonly lingerMs?: number;
  /** How long `publish` waits for room when the queue is full, by default. Default 1,000 ms. */
  readonly maxBlockMs?: number;
  /** Callers waiting for room at once; a caller past this is refused at once. Default 1,024. */
  readonly maxWaiters?: number;
  /** Attempts per batch before it is dropped (logged and counted in `dropped`). Default 3. */
  readonly attempts?: number;
  /** Wait before retrying a failed batch, doubled per attempt. Default 200 ms. */
  readonly retryDelayMs?: number;
  readonly logger?: Logger;
  /**
   * Headers for the message published now, read in the publishing caller's context: the trace context of a
   * traced query (`Tracing.inject`), so the persistence worker continues its trace. `undefined`: none.
   */
  readonly headers?: () => Readonly<Record<string, string>> | undefined;
}

/** Counters and levels of a publisher, for metrics and tests. */
export interface ResultPublisherStats {
  /** Messages accepted and not yet on the bus. */
  readonly queued: number;
  readonly queuedBytes: number;
  /** Callers waiting for room. */
  readonly waiting: number;
  /** Messages on the bus. */
  readonly published: number;
  /** Messages refused because the queue stayed full past the caller's deadline (`RESULT_BUS_FULL`). */
  readonly shed: number;
  /** Accepted messages the bus refused on every attempt. */
  readonly dropped: number;
}

/** Per-call options of `publish`. */
export interface PublishOptions {
  /** How long to wait for room when the queue is full; `Infinity` waits as long as it takes. */
  readonly maxBlockMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Sends result messages to the bus in batches, behind a bounded queue. Memory is bounded by construction:
 * at most `maxQueued` messages (`maxQueuedBytes` bytes) are held, at most `maxWaiters` callers wait for
 * room, and one batch is on its way to the bus at a time.
 */
export interface ResultPublisher {
  /**
   * Accepts a message; resolves once it is queued (not once it is on the bus: see `flush`). When the queue
   * is full, waits up to `maxBlockMs` for room, in arrival order.
   *
   * @throws SlateError `RESULT_BUS_FULL` (kind `unavailable`, answered 503 with `Retry-After`) when the
   * queue stayed full past the deadline or too many callers already wait; `RESULT_PUBLISHER_CLOSED` after
   * `close`; the signal's reason when it aborts.
   */
  publish(message: ResultMessageInput, options?: PublishOptions): Promise<void>;
  /** Resolves once every message accepted so far is on the bus (or dropped and logged). */
  flush(): Promise<void>;
  /** Refuses new messages, then flushes. */
  close(): Promise<void>;
  stats(): ResultPublisherStats;
}

interface Queued {
  readonly message: OutgoingMessage;
  readonly bytes: number;
}

interface Waiter {
  readonly bytes: number;
  readonly admit: () => void;
}

/**
 * Creates the publisher the data plane uses after each query, run and offline query. One loop drains the
 * queue in batches of up to `maxBatch` messages, so a burst of queries costs one bus append (one sync on
 * the embedded log) per batch rather than one per query. A batch the bus refuses is retried `attempts`
 * times, then dropped, logged and counted: losing a query's offline copy must not fail the query that was
 * already answered, and a bus that is down must not hold memory.
 *
 * @example
 * const publisher = createResultPublisher(bus, { logger });
 * await publisher.publish(message); // queued; 503 RESULT_BUS_FULL if the bus stays behind for 1 s
 * await publisher.flush(); // on the bus
 */
export function createResultPublisher(bus: Bus, options: ResultPublisherOptions = {}): ResultPublisher {
  const topic = options.topic ?? RESULT_BUS_TOPIC;
  const maxQueued = options.maxQueued ?? 10_000;
  const maxQueuedBytes = options.maxQueuedBytes ?? 64 * 1024 * 1024;
  const maxBatch = options.maxBatch ?? 500;
  const defaultBlockMs = options.maxBlockMs ?? 1_000;
  const maxWaiters = options.maxWaiters ?? 1_024;
  const attempts = options.attempts ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const lingerMs = options.lingerMs ?? 0;
  // A FIFO with a moving head: shifting a large array is O(n) per message.
  let queue: Queued[] = [];
  let head = 0;
  let held = 0;
  let heldBytes = 0;
  const waiters: Waiter[] = [];
  let draining: Promise<void> | undefined;
  let closed = false;
  let published = 0;
  let shed = 0;
  let dropped = 0;

  const hasRoom = (bytes: number) => held === 0 || (held < maxQueued && heldBytes + bytes <= maxQueuedBytes);

  const enqueue = (message: OutgoingMessage, bytes: number) => {
    queue.push({ message, bytes });
    held++;
    heldBytes += bytes;
    // The one drain loop is held in `draining` (awaited by `flush` and `close`); `drain` never rejects.
    draining ??= drain();
  };

  /** Admits waiters in arrival order while there is room; a waiter that does not fit blocks those behind it. */
  const admitWaiters = () => {
    while (waiters.length > 0 && hasRoom(waiters[0]!.bytes)) waiters.shift()!.admit();
  };

  const send = async (batch: readonly Queued[]) => {
    const messages = batch.map((entry) => entry.message);
    for (let attempt = 1; ; attempt++) {
      try {
        await bus.publish(topic, messages);
        published += batch.length;
        return;
      } catch (error) {
        if (attempt >= attempts) {
          dropped += batch.length;
          options.logger?.error(
            { err: error, messages: batch.length, operation_ids: messages.map((m) => m.id).slice(0, 10) },
            'result bus publish failed; dropping the batch',
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs * 2 ** (attempt - 1)));
      }
    }
  };

  const drain = async () => {
    // While this batch fills, later messages join it; a full batch goes at once.
    if (lingerMs > 0 && queue.length - head < maxBatch)
      await new Promise((resolve) => setTimeout(resolve, lingerMs));
    // Cleared in the same turn as the last emptiness check (not in a later `.finally` callback), so a
    // message queued in between always finds no loop running and starts one.
    while (queue.length > head) {
      const batch = queue.slice(head, head + maxBatch);
      head += batch.length;
      if (head === queue.length) {
        queue = [];
        head = 0;
      } else if (head > 4_096 && head * 2 > queue.length) {
        queue = queue.slice(head);
        head = 0;
      }
      await send(batch);
      held -= batch.length;
      for (const entry of batch) heldBytes -= entry.bytes;
      admitWaiters();
    }
    draining = undefined;
  };

  return {
    async publish(message, publishOptions = {}) {
      if (closed)
        throw new SlateError('unavailable', 'RESULT_PUBLISHER_CLOSED', 'the result publisher is closed');
      publishOptions.signal?.throwIfAborted();
      const headers = options.headers?.();
      const outgoing: OutgoingMessage = {
        key: message.environment,
        value: JSON.stringify(message),
        id: message.operationId,
        ...(headers ? { headers } : {}),
      };
      const bytes = outgoing.value.length;
      // Arrival order: while others wait, a newcomer queues behind them even if its message would fit.
      if (waiters.length === 0 && hasRoom(bytes)) {
        enqueue(outgoing, bytes);
        return;
      }
      const blockMs = publishOptions.maxBlockMs ?? defaultBlockMs;
      if (waiters.length >= maxWaiters || blockMs <= 0) {
        shed++;
        throw full(held);
      }
      await new Promise<void>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const settle = () => {
          clearTimeout(timer);
          publishOptions.signal?.removeEventListener('abort', onAbort);
          const at = waiters.indexOf(waiter);
          if (at >= 0) waiters.splice(at, 1);
        };
        const waiter: Waiter = {
          bytes,
          admit: () => {
            settle();
            enqueue(outgoing, bytes);
            resolve();
          },
        };
        const onAbort = () => {
          settle();
          reject(publishOptions.signal?.reason);
          admitWaiters();
        };
        if (Number.isFinite(blockMs))
          timer = setTimeout(() => {
            settle();
            shed++;
            reject(full(held));
            admitWaiters();
          }, blockMs);
        publishOptions.signal?.addEventListener('abort', onAbort, { once: true });
        waiters.push(waiter);
      });
    },
    async flush() {
      while (draining) await draining;
    },
    async close() {
      closed = true;
      while (draining || waiters.length > 0) {
        if (draining) await draining;
        else await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    stats: () => ({
      queued: held,
      queuedBytes: heldBytes,
      waiting: waiters.length,
      published,
      shed,
      dropped,
    }),
  };
}

function full(held: number): SlateError {
  return new SlateError(
    'unavailable',
    'RESULT_BUS_FULL',
    `the result bus is behind: ${held} messages are waiting to be persisted; retry after 1 s`,
    { retryAfterS: 1 },
  );
}
