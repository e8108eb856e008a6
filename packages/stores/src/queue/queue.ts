import { SlateError } from '@slate/graph';
import { z } from 'zod';

/**
 * The queues of a Slate installation, named as in the Customer Cloud install guide (one SQS queue each
 * on AWS; one pg-boss queue each on PostgreSQL).
 */
export const QUEUE_NAMES = [
  'metric-check-trigger',
  'scheduled-resolver-trigger',
  'scheduled-query-trigger',
  'batch-status',
  'argo-builds',
  'batch-report',
  'heartbeat',
] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** A JSON object: the only message body a queue carries (it is stored and shipped as JSON). */
export type QueueBody = { readonly [key: string]: unknown };

/**
 * How one queue behaves. Applied when the queue is first created; every broker that opens the same
 * queue name must pass the same options.
 */
export const QueueOptionsSchema = z.object({
  /**
   * Seconds a received message stays hidden from other receivers. A receiver that neither completes
   * nor fails it in that time (it crashed, hung or was killed) loses it: the message is redelivered as
   * a new attempt. Default 30.
   */
  visibilityTimeoutSeconds: z.number().int().min(1).max(43_200).default(30),
  /** Deliveries before a message is dead-lettered (1 = no retry). Default 3. */
  maxAttempts: z.number().int().min(1).max(100).default(3),
  /**
   * Base delay before a retry, in seconds. Attempt n+1 waits between `d·2^(n-1)` and `d·2^n`
   * (exponential backoff with jitter, so a failing dependency is not hammered in lockstep). Default 1.
   */
  retryDelaySeconds: z.number().int().min(0).max(3_600).default(1),
});
export type QueueOptions = z.input<typeof QueueOptionsSchema>;
export type ResolvedQueueOptions = z.output<typeof QueueOptionsSchema>;

/** Per-message send options. */
export interface SendOptions {
  /**
   * Messages sent with the same key to the same queue are delivered once: the later sends return the
   * first one's id with `duplicate: true`. How long a key is remembered is
   * `capabilities.idempotencyWindowSeconds`.
   */
  readonly idempotencyKey?: string;
}

export interface SendResult {
  readonly id: string;
  /** The idempotency key had been seen: nothing new was enqueued. */
  readonly duplicate: boolean;
}

/** A delivered message. Finish it with `complete` or `fail` before its visibility timeout. */
export interface QueueMessage<T extends QueueBody = QueueBody> {
  readonly id: string;
  readonly body: T;
  /** 1 on the first delivery, 2 on the first retry, … */
  readonly attempt: number;
  /** Backend handle (pg-boss job id, SQS receipt handle). Opaque to callers. */
  readonly receipt: string;
}

export interface ReceiveOptions {
  /** At most this many messages (default 1). */
  readonly max?: number;
  /** Long poll: wait up to this long for a first message (default 0: return at once). */
  readonly waitMs?: number;
  readonly signal?: AbortSignal;
}

/** What a backend can promise, so callers need not discover it by failure. */
export interface QueueCapabilities {
  /** How long an idempotency key is remembered, in seconds (`Infinity`: while the message is retained). */
  readonly idempotencyWindowSeconds: number;
  /** Messages survive a restart of every process using the queue. */
  readonly durable: boolean;
  /** `send` tells a deduplicated message apart (`duplicate: true`); SQS does not say. */
  readonly reportsDuplicates: boolean;
}

/**
 * One durable, at-least-once work queue. A message goes to one receiver at a time; it is redelivered
 * when its receiver fails it (after a backoff) or lets its visibility timeout pass, and moves to the
 * dead-letter queue (`deadLetterName`) after `maxAttempts` deliveries.
 */
export interface Queue<T extends QueueBody = QueueBody> {
  readonly name: string;
  /** The queue that receives messages out of attempts; open it with `broker.queue(deadLetterName)`. */
  readonly deadLetterName: string;
  readonly options: ResolvedQueueOptions;
  send(body: T, options?: SendOptions): Promise<SendResult>;
  receive(options?: ReceiveOptions): Promise<QueueMessage<T>[]>;
  /**
   * Done: the message is never delivered again. A call after the visibility timeout is backend-specific
   * (memory and SQS ignore it; pg-boss completes the redelivered message), so finish well within it.
   */
  complete(message: QueueMessage<T>): Promise<void>;
  /** Failed this attempt: retried after a backoff, or dead-lettered when out of attempts. */
  fail(message: QueueMessage<T>, error: string): Promise<void>;
  /** Messages waiting or in flight (for tests, metrics and the UI; approximate on SQS). */
  depth(): Promise<number>;
}

/**
 * A connection to a queue backend that opens queues by name. All queues of one broker share its
 * connection; `close` stops using it (messages this process had received and not finished are then
 * redelivered to others after their visibility timeout).
 */
export interface QueueBroker {
  readonly capabilities: QueueCapabilities;
  init(): Promise<void>;
  /** Opens (creating if needed, idempotently) a queue and its dead-letter queue. */
  queue<T extends QueueBody = QueueBody>(name: string, options?: QueueOptions): Promise<Queue<T>>;
  close(): Promise<void>;
}

/** Name of the dead-letter queue of `name`. */
export function deadLetterNameOf(name: string): string {
  return `${name}-dlq`;
}

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` failed: between `d·2^(attempt-1)` and
 * `d·2^attempt` seconds (same law as pg-boss's, so every backend retries alike).
 */
export function retryDelaySeconds(
  options: ResolvedQueueOptions,
  attempt: number,
  random = Math.random,
): number {
  const base = options.retryDelaySeconds * 2 ** (Math.min(16, attempt) - 1);
  return base + base * random();
}

/**
 * @throws SlateError('input', 'INVALID_QUEUE_NAME') when `name` cannot be a queue name on every backend
 *   (SQS allows 80 characters of `[A-Za-z0-9_-]`, less the `-dlq` and `.fifo` suffixes).
 */
export function assertQueueName(name: string): void {
  if (!/^[a-z0-9][a-z0-9_-]{0,70}$/.test(name)) {
    throw new SlateError(
      'input',
      'INVALID_QUEUE_NAME',
      `invalid queue name '${name}': lowercase letters, digits, _ and -, at most 71 characters`,
    );
  }
}
