import { type Queue, startQueueWorker } from '@slate/stores';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { KeyEncryptionKeyProvider } from '../auth/key-encryption.ts';
import type { Database } from '../db/schema.ts';
import { createAlertDelivery, type DeliveryPass } from './alert-delivery.ts';
import { createMetricCheckScheduler, type MetricCheckMessage } from './metric-check-scheduler.ts';
import { type CheckOutcome, createMetricCheckEvaluator, type DriftSampler } from './metric-check-worker.ts';
import { createRollupMetricReader } from './rollup-metric-reader.ts';

export interface MonitoringOptions {
  readonly db: Kysely<Database>;
  readonly queue: Queue;
  readonly kek: KeyEncryptionKeyProvider;
  readonly clock: () => Date;
  /** Base of links in alerts (the API server, which serves the web UI). */
  readonly linkBase: string;
  /** Run the check scheduler, the check workers and the delivery loop in this process. Default true. */
  readonly enabled?: boolean;
  readonly intervalMs?: number;
  readonly drift?: DriftSampler;
  readonly logger?: Logger;
}

/** Alerts as code in one metadata plane: scheduler, `metric-check-trigger` workers, alert delivery. */
export interface Monitoring {
  /** One scheduler pass at the clock's time: the keys it enqueued. */
  schedule(): Promise<{ key: string; sent: boolean }[]>;
  /** Evaluates one check message (what the queue worker does). */
  evaluate(message: MetricCheckMessage): Promise<CheckOutcome>;
  /** Receives and evaluates every waiting check message once (tests; the worker does it continuously). */
  drain(): Promise<CheckOutcome[]>;
  /** One delivery pass. */
  deliver(): Promise<DeliveryPass>;
  stop(): Promise<void>;
}

/**
 * Starts monitoring: every `intervalMs` a scheduler pass enqueues due checks on `metric-check-trigger`, a
 * queue worker (2 at a time) evaluates them over the metric rollups, and the delivery loop sends the
 * incidents' alerts to their owners' routes.
 */
export function startMonitoring(options: MonitoringOptions): Monitoring {
  const queue = options.queue as Queue<MetricCheckMessage>;
  const tick = createMetricCheckScheduler({
    db: options.db,
    queue,
    clock: options.clock,
    logger: options.logger,
  });
  const evaluate = createMetricCheckEvaluator({
    db: options.db,
    reader: createRollupMetricReader(options.db),
    drift: options.drift,
    clock: options.clock,
  });
  const delivery = createAlertDelivery({
    db: options.db,
    kek: options.kek,
    clock: options.clock,
    linkBase: options.linkBase,
    intervalMs: options.intervalMs,
    logger: options.logger,
  });
  const enabled = options.enabled ?? true;
  let timer: NodeJS.Timeout | undefined;
  let scheduling: Promise<unknown> = Promise.resolve();
  const worker = enabled
    ? startQueueWorker(queue, async (message) => void (await evaluate(message.body)), {
        concurrency: 2,
        pollMs: 500,
        onError: (error) => options.logger?.warn({ err: String(error) }, 'metric check failed'),
      })
    : undefined;
  if (enabled) {
    timer = setInterval(() => {
      scheduling = scheduling
        .then(tick)
        .catch((error: unknown) =>
          options.logger?.warn({ err: String(error) }, 'check scheduler pass failed'),
        );
    }, options.intervalMs ?? 1_000);
    timer.unref();
    delivery.start();
  }
  return {
    schedule: () => {
      const pass = scheduling.then(tick);
      scheduling = pass.catch(() => undefined);
      return pass;
    },
    evaluate,
    drain: async () => {
      const outcomes: CheckOutcome[] = [];
      for (;;) {
        const messages = await queue.receive({ max: 16 });
        if (messages.length === 0) return outcomes;
        for (const message of messages) {
          try {
            outcomes.push(await evaluate(message.body));
            await queue.complete(message);
          } catch (error) {
            await queue.fail(message, String(error));
            throw error;
          }
        }
      }
    },
    deliver: () => delivery.tick(),
    stop: async () => {
      clearInterval(timer);
      await scheduling;
      await worker?.stop();
      await delivery.stop();
    },
  };
}
