import type { Bus, BusConsumer, BusMessage } from '@slate/stores';
import type { Logger } from 'pino';
import { parseResultMessage, RESULT_BUS_TOPIC } from './result-message.ts';
import type { PersistenceWriter, ReceivedResult } from './writers/writer.ts';

export interface PersistenceWorkerOptions {
  readonly bus: Bus;
  /** The writers every batch goes through, in order (online, offline, query log, usage). */
  readonly writers: readonly PersistenceWriter[];
  /** Default `result-bus`. */
  readonly topic?: string;
  /** The consumer group; writers sharing a group share the work. Default `background-persistence`. */
  readonly group?: string;
  /** The consumer's name; a worker restarted under the same name resumes its deliveries. */
  readonly name?: string;
  /**
   * Messages per batch: with the size of one message (one query's or upload's values), the bound on the
   * worker's memory. Default 500.
   */
  readonly batchMessages?: number;
  /** How long a poll waits for the batch to fill. Default 100 ms. */
  readonly lingerMs?: number;
  /** Wait after a failed batch before the next, doubling up to 30 s. Default 500 ms. */
  readonly retryDelayMs?: number;
  readonly logger?: Logger;
  /** Test seam: runs after the writers and before the acknowledgement. */
  readonly beforeAck?: (batch: readonly ReceivedResult[]) => Promise<void> | void;
}

export interface PersistenceWorker {
  /** Starts consuming in the background. */
  start(): void;
  /** Processes one batch (waiting up to `lingerMs` for messages); resolves with the messages handled. */
  runOnce(): Promise<number>;
  /** Stops after the batch in progress and closes the consumer; unacknowledged messages stay on the bus. */
  stop(): Promise<void>;
}

/**
 * Creates the background-persistence worker: it consumes the result bus in batches and hands each batch
 * to every writer, then acknowledges it. At least once, made exactly-once in effect by writers idempotent
 * by message id: a crash between the writes and the acknowledgement only causes a redelivery that writes
 * nothing new. Memory is bounded by `batchMessages` (the next poll waits for the batch in
 * progress, which is the backpressure on the bus). A message that does not parse is dead-lettered; a
 * failing batch is given back and retried with backoff (dead-lettered by the bus past its delivery limit).
 *
 * @example
 * const worker = createPersistenceWorker({ bus, writers: [createOnlineWriter(online), createOfflineWriter(offline)] });
 * worker.start();
 * await worker.stop();
 */
export function createPersistenceWorker(options: PersistenceWorkerOptions): PersistenceWorker {
  const batchMessages = options.batchMessages ?? 500;
  const lingerMs = options.lingerMs ?? 100;
  const baseDelay = options.retryDelayMs ?? 500;
  const controller = new AbortController();
  let consumer: BusConsumer | undefined;
  let loop: Promise<void> | undefined;
  let delay = baseDelay;

  const consumerOf = () => {
    consumer ??= options.bus.consumer({
      topic: options.topic ?? RESULT_BUS_TOPIC,
      group: options.group ?? 'background-persistence',
      name: options.name,
    });
    return consumer;
  };

  const runOnce = async (): Promise<number> => {
    const source = consumerOf();
    const messages: BusMessage[] = [];
    const deadline = Date.now() + lingerMs;
    while (messages.length < batchMessages && !controller.signal.aborted) {
      const left = deadline - Date.now();
      const got = await source.poll({
        max: batchMessages - messages.length,
        waitMs: messages.length === 0 ? lingerMs : Math.max(0, left),
        signal: controller.signal,
      });
      if (got.length === 0) break;
      messages.push(...got);
      if (left <= 0) break;
    }
    if (messages.length === 0) return 0;

    const batch: ReceivedResult[] = [];
    const invalid: BusMessage[] = [];
    for (const message of messages) {
      try {
        batch.push({ id: message.id, message: parseResultMessage(message.value) });
      } catch {
        invalid.push(message);
      }
    }
    if (invalid.length > 0) {
      options.logger?.warn({ count: invalid.length }, 'dead-lettering result messages that do not parse');
      await source.deadLetter(invalid, 'not a valid result message');
    }
    const valid = messages.filter((message) => !invalid.includes(message));
    try {
      for (const writer of options.writers) await writer.write(batch, controller.signal);
      await options.beforeAck?.(batch);
      await source.ack(valid);
      delay = baseDelay;
    } catch (error) {
      options.logger?.error({ err: error, messages: valid.length }, 'persistence batch failed; retrying');
      await source.nack(valid).catch(() => {});
      if (!controller.signal.aborted) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 30_000);
      }
    }
    return messages.length;
  };

  return {
    start() {
      loop ??= (async () => {
        while (!controller.signal.aborted) {
          try {
            await runOnce();
          } catch (error) {
            if (controller.signal.aborted) break;
            options.logger?.error({ err: error }, 'persistence worker poll failed');
            await new Promise((resolve) => setTimeout(resolve, delay));
          }
        }
      })();
    },
    runOnce,
    async stop() {
      controller.abort();
      await loop;
      await consumer?.close();
    },
  };
}
