import { type Queue, type QueueWorker, startQueueWorker } from '@slate/stores';
import type { Logger } from 'pino';
import { RunTriggerMessageSchema } from './run-record.ts';
import type { RunService } from './run-service.ts';

/**
 * Starts runs from a trigger queue: the metadata plane's `scheduled-resolver-trigger` (pg-boss or SQS), whose
 * messages are `{resolver_fqn, environment, lower_bound?, upper_bound?, max_samples?, idempotency_key?,
 * store_online?, store_offline?, trigger: 'CRON'|'MANUAL'|'API'}`. A message is completed once its run is
 * recorded (`received`); a malformed message, or one for an environment or resolver this data plane does not
 * serve, fails and is retried (another data plane may serve it) until the queue dead-letters it. Idempotency
 * keys make a redelivered message start no second run.
 *
 * @example
 * const worker = consumeRunTriggers(await broker.queue('scheduled-resolver-trigger'), runs.service);
 * await worker.stop();
 */
export function consumeRunTriggers(queue: Queue, runs: RunService, logger?: Logger): QueueWorker {
  return startQueueWorker(
    queue,
    async (message) => {
      await runs.trigger(RunTriggerMessageSchema.parse(message.body));
    },
    {
      onError: (error, message) =>
        logger?.warn(
          { err: error, queue_message: message.id, attempt: message.attempt },
          'run trigger refused',
        ),
    },
  );
}
