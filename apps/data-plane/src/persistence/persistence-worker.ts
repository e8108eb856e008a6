import type { Bus, BusConsumer, BusMessage } from '@slate/stores';
import type { Logger } from 'pino';
import { startBatchSpans } from '../observability/tracing/traced-batch.ts';
import { runTraced, type Tracing } from '../observability/tracing/tracing.ts';
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
  /**
   * The consumer's name, unique per replica (its instance id): a worker restarted under the same name
   * resumes its deliveries, and replicas sharing a name would be handed each other's.
   */
  readonly name?: string;
  /**
   * How long a delivery may stay unacknowledged before another worker of the group claims it (where the
   * bus `redeliversIdle`: Redis Streams' `XAUTOCLAIM`): what a worker killed mid-batch costs in delay.
   * Keep it well above a batch's write time. Default the bus's (30 s).
   */
  readonly redeliverAfterMs?: number;
  /**
   * Messages per batch: with the size of one message (one query's or upload's values), the bound on the
   * worker's memory (the background loop holds two batches: one being written, the next). Default 500.
   */
  readonly batchMessages?: number;
  /** How long a poll waits for the batch to fill. Default 100 ms. */
  readonly lingerMs?: number;
  /** Wait after a failed batch before the next, doubling up to 30 s. Default 500 ms. */
  readonly retryDelayMs?: number;
  readonly logger?: Logger;
  /**
   * Traces each batch: a `slate.persistence.batch` span continuing the trace its messages carry in their
   * headers (see `startBatchSpans`), with the writers' store calls as children. Off when absent.
   */
  readonly tracing?: Pick<Tracing, 'tracer' | 'extract'>;
  /** Test seam: runs after the writers and before the acknowledgement. */
  readonly beforeAck?: (batch: readonly ReceivedResult[]) => Promise<void> | void;
}

/** A polled batch: every message, the parsed ones (with their messages) and those that do not parse. */
interface Taken {
  readonly messages: readonly BusMessage[];
  readonly batch: readonly ReceivedResult[];
  readonly valid: readonly BusMessage[];
  readonly invalid: readonly BusMessage[];
}

const EMPTY: Taken = { messages: [], batch: [], valid: [], invalid: [] };

export interface PersistenceWorker {
  /** Starts consuming in the background, polling the next batch while the current one is written. */
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
 * nothing new. Memory is bounded by `batchMessages`: the background loop takes the next batch while the
 * current one is written (so decoding overlaps the stores' work) and no further, which is the backpressure
 * on the bus; writes apply batch after batch in order. A message that does not parse is dead-lettered; a
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
      redeliverAfterMs: options.redeliverAfterMs,
    });
    return consumer;
  };

  /** Polls one batch (waiting up to `lingerMs` for it to fill) and parses it. */
  const take = async (): Promise<Taken> => {
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
      for (const message of got) messages.push(message);
      if (left <= 0) break;
    }
    const batch: ReceivedResult[] = [];
    const valid: BusMessage[] = [];
    const invalid: BusMessage[] = [];
    for (const [i, message] of messages.entries()) {
      try {
        batch.push({ id: message.id, message: parseResultMessage(message.value) });
        // Held for the acknowledgement only (by offset): without its raw JSON, which the parsed message
        // duplicates, a batch held for seconds while the stores write it retains half as much heap.
        const held = { ...message, value: '' };
        valid.push(held);
        messages[i] = held;
      } catch {
        invalid.push(message);
      }
    }
    return { messages, batch, valid, invalid };
  };

  const deadLetterInvalid = async (taken: Taken) => {
    if (taken.invalid.length === 0) return;
    options.logger?.warn({ count: taken.invalid.length }, 'dead-lettering result messages that do not parse');
    await consumerOf().deadLetter(taken.invalid, 'not a valid result message');
  };

  // A batch being written is extended on the bus every third of the idle time, so a slow write (a busy
  // store) is never claimed by another replica mid-write: two replicas writing one batch at once would
  // both find it not yet committed, and write it twice.
  const extendEveryMs = (options.redeliverAfterMs ?? 30_000) / 3;

  /** Runs every writer over the batch; resolves with the error that stopped them, if any. */
  const write = async (taken: Taken): Promise<{ error: unknown } | undefined> => {
    const keepAlive = setInterval(() => {
      consumerOf()
        .extend(taken.messages)
        .catch((error: unknown) =>
          options.logger?.warn({ err: error }, 'could not extend a batch in progress'),
        );
    }, extendEveryMs);
    const spans = options.tracing
      ? startBatchSpans(options.tracing, taken.valid, options.topic ?? RESULT_BUS_TOPIC)
      : undefined;
    const writeAll = async () => {
      for (const writer of options.writers) await writer.write(taken.batch, controller.signal);
    };
    try {
      await (spans ? runTraced(spans.context, writeAll) : writeAll());
      spans?.end();
      await options.beforeAck?.(taken.batch);
      return undefined;
    } catch (error) {
      spans?.end(error);
      return { error };
    } finally {
      clearInterval(keepAlive);
    }
  };

  /** Gives a failed batch (and any batch taken after it) back to the bus and waits before the next try. */
  const giveBack = async (failure: { error: unknown }, messages: readonly BusMessage[]) => {
    // A batch cut short by `stop()` is no failure: it goes back to the bus for the next worker, quietly.
    if (controller.signal.aborted)
      options.logger?.info({ messages: messages.length }, 'persistence stopping: batch returned to the bus');
    else
      options.logger?.error(
        { err: failure.error, messages: messages.length },
        'persistence batch failed; retrying',
      );
    await consumerOf()
      .nack(messages)
      .catch(() => {});
    if (!controller.signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 30_000);
    }
  };

  const runOnce = async (): Promise<number> => {
    const taken = await take();
    if (taken.messages.length === 0) return 0;
    await deadLetterInvalid(taken);
    const failure = await write(taken);
    if (failure) await giveBack(failure, taken.valid);
    else {
      await consumerOf().ack(taken.valid);
      delay = baseDelay;
    }
    return taken.messages.length;
  };

  /**
   * The background loop: like `runOnce` over and over, except that while batches come full (a backlog) the
   * next batch is polled and parsed while the writers persist the current one, so decoding overlaps the
   * stores' own work (the online store's server often runs on the same cores); when the worker keeps up,
   * it writes what arrives as soon as the current write is done. Writes stay in batch order: the next batch's writes
   * start once the current one is acknowledged, and when a batch fails the one taken after it is given
   * back unwritten too. At most two batches are held at once.
   */
  const consume = async () => {
    let taken: Taken | undefined;
    while (!controller.signal.aborted) {
      try {
        taken ??= await take();
        if (taken.messages.length === 0) {
          taken = undefined;
          continue;
        }
        await deadLetterInvalid(taken);
        const writing = write(taken);
        // Only a full batch means a backlog worth overlapping: otherwise the worker is keeping up, and a
        // batch taken during this write would wait for the next write too (latency, for no throughput).
        const backlog = taken.messages.length >= batchMessages;
        // The consumer is not used concurrently: the poll below is its only call until both settle.
        const next = (backlog ? take() : writing.then(() => EMPTY)).then(
          (batch) => ({ batch }),
          (error: unknown) => ({ error }),
        );
        const failure = await writing;
        const upcoming = await next;
        const current = taken;
        taken = undefined;
        if (failure) {
          await giveBack(failure, [
            ...current.valid,
            ...('batch' in upcoming ? upcoming.batch.messages : []),
          ]);
          continue;
        }
        await consumerOf().ack(current.valid);
        delay = baseDelay;
        if ('error' in upcoming) throw upcoming.error;
        taken = upcoming.batch;
      } catch (error) {
        if (controller.signal.aborted) break;
        options.logger?.error({ err: error }, 'persistence worker poll failed');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };

  return {
    start() {
      loop ??= consume();
    },
    runOnce,
    async stop() {
      controller.abort();
      await loop;
      await consumer?.close();
    },
  };
}
