import { type Queue, type QueueWorker, startQueueWorker } from '@slate/stores';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { RevisionNotifier } from '../data-planes/revision-notifier.ts';
import type { Database } from '../db/schema.ts';
import { recordDelivery } from './schedule-deliveries.ts';

/** The notifier key a data plane's trigger long poll waits on. */
export const triggerWakeKey = (dataPlaneId: string) => `triggers:${dataPlaneId}`;

/**
 * Moves trigger messages from the `scheduled-resolver-trigger` and `scheduled-query-trigger` queues into
 * per-environment deliveries that data planes lease over HTTP, and wakes the serving data plane's long poll.
 * A message is completed once its delivery is stored (idempotently, by its key); one that is not a trigger,
 * or names an unknown environment, fails and is dead-lettered by the queue after its attempts.
 *
 * @example
 * const dispatch = startTriggerDispatch({ db, queues: [resolverQueue, queryQueue], notifier });
 * await dispatch.stop();
 */
export function startTriggerDispatch(options: {
  readonly db: Kysely<Database>;
  readonly queues: readonly Queue[];
  readonly notifier: RevisionNotifier;
  readonly clock?: () => Date;
  readonly logger?: Logger;
}): QueueWorker {
  const clock = options.clock ?? (() => new Date());
  const workers = options.queues.map((queue) =>
    startQueueWorker(
      queue,
      async (message) => {
        const { dataPlaneId } = await recordDelivery(options.db, message.body, clock());
        if (dataPlaneId) options.notifier.notify(triggerWakeKey(dataPlaneId));
      },
      {
        // Schedules fire at most once a second: one consumer per queue, polling twice a second, is plenty.
        pollMs: 500,
        onError: (error, message) =>
          options.logger?.warn(
            { queue: queue.name, queue_message: message.id, attempt: message.attempt, err: String(error) },
            'trigger not delivered',
          ),
      },
    ),
  );
  return {
    async stop() {
      await Promise.all(workers.map((worker) => worker.stop()));
    },
  };
}
