import type { Queue, QueueBody, QueueMessage } from './queue.ts';

export interface QueueWorkerOptions {
  /** Messages handled at once (default 1). */
  readonly concurrency?: number;
  /** How long one receive call may wait for work (default 1000 ms); bounds how fast `stop` returns. */
  readonly pollMs?: number;
  /** Called when a handler throws (the message is failed, and retried or dead-lettered). */
  readonly onError?: (error: unknown, message: QueueMessage) => void;
}

/** A running consumer. */
export interface QueueWorker {
  /** Stops receiving and waits for handlers already running to finish. */
  stop(): Promise<void>;
}

/**
 * Consumes a queue: each message goes to `handler`; returning completes it, throwing fails it (so it is
 * retried with backoff, then dead-lettered). Works with every `Queue` backend, since it only uses the
 * interface.
 *
 * @example
 * const worker = startQueueWorker(queue, async (m) => { await record(m.body); }, { concurrency: 4 });
 * await worker.stop();
 */
export function startQueueWorker<T extends QueueBody>(
  queue: Queue<T>,
  handler: (message: QueueMessage<T>) => Promise<void>,
  options: QueueWorkerOptions = {},
): QueueWorker {
  const concurrency = options.concurrency ?? 1;
  const abort = new AbortController();
  const running = new Set<Promise<void>>();

  const handle = async (message: QueueMessage<T>) => {
    try {
      await handler(message);
    } catch (error) {
      options.onError?.(error, message);
      await queue.fail(message, error instanceof Error ? error.message : String(error)).catch(() => {});
      return;
    }
    await queue.complete(message).catch(() => {});
  };

  const loop = async () => {
    while (!abort.signal.aborted) {
      const free = concurrency - running.size;
      if (free <= 0) {
        await Promise.race(running);
        continue;
      }
      let messages: QueueMessage<T>[];
      try {
        messages = await queue.receive({ max: free, waitMs: options.pollMs ?? 1000, signal: abort.signal });
      } catch {
        if (abort.signal.aborted) break;
        await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
        continue;
      }
      for (const message of messages) {
        const task = handle(message).finally(() => running.delete(task));
        running.add(task);
      }
    }
  };
  const main = loop();
  return {
    async stop() {
      abort.abort();
      await main;
      await Promise.all(running);
    },
  };
}
