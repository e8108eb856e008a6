import { SlateError } from '@slate/graph';
import { type Queue, type QueueWorker, startQueueWorker } from '@slate/stores';
import type { Logger } from 'pino';
import type { ControlPlaneClient, LeasedTrigger, TriggerAck } from '../control-plane/control-plane-client.ts';
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

/** Starts what a leased trigger asks for; resolves with the id of what it started (run id, revision id). */
export type TriggerHandler = (trigger: LeasedTrigger) => Promise<string | null>;

/** A running trigger pull loop. */
export interface TriggerPuller {
  stop(): Promise<void>;
}

/**
 * Pulls scheduled triggers from the metadata plane: long-polls `leaseTriggers` for the environments this data
 * plane serves, starts each through `handle`, then acknowledges them — with the started operation's id, or
 * with the error that refused it (the metadata plane retries it later, then gives up). Starting is
 * idempotent per trigger key (a run's idempotency key is the trigger's), so a lease that expires before its
 * acknowledgement — this process died — and is handed out again starts nothing twice. A metadata plane
 * that cannot be reached is retried with a growing pause (up to 10 s).
 *
 * @example
 * const puller = pullTriggers(control, (t) => t.kind === 'resolver' ? runs.trigger(RunTriggerMessageSchema.parse(t.body)).then((r) => r.id) : null);
 * await puller.stop();
 */
export function pullTriggers(
  control: Required<Pick<ControlPlaneClient, 'leaseTriggers' | 'ackTriggers'>>,
  handle: TriggerHandler,
  options: { readonly logger?: Logger; readonly waitSeconds?: number; readonly max?: number } = {},
): TriggerPuller {
  const abort = new AbortController();
  const loop = (async () => {
    let pause = 250;
    while (!abort.signal.aborted) {
      try {
        const leased = await control.leaseTriggers(
          options.max ?? 10,
          options.waitSeconds ?? 20,
          abort.signal,
        );
        const acks: TriggerAck[] = [];
        for (const trigger of leased) {
          try {
            acks.push({ key: trigger.key, operation_id: await handle(trigger) });
          } catch (error) {
            options.logger?.warn(
              { trigger: trigger.key, attempt: trigger.attempt, err: error },
              'trigger refused',
            );
            acks.push({ key: trigger.key, error: error instanceof Error ? error.message : String(error) });
          }
        }
        await control.ackTriggers(acks);
        pause = 250;
      } catch (error) {
        if (abort.signal.aborted) break;
        options.logger?.warn({ err: error }, 'scheduled triggers not leased');
        await new Promise((resolve) => setTimeout(resolve, pause).unref());
        pause = Math.min(10_000, pause * 2);
      }
    }
  })();
  return {
    async stop() {
      abort.abort();
      await loop;
    },
  };
}

/**
 * Routes leased triggers: resolver triggers start runs (`RunService.trigger`, by the message's idempotency
 * key), query triggers go to `queries` (scheduled queries), which may be absent (then they are refused).
 */
export function triggerHandler(
  runs: RunService,
  queries?: (body: Record<string, unknown>) => Promise<string | null>,
): TriggerHandler {
  return async (trigger) => {
    if (trigger.kind === 'resolver')
      return (await runs.trigger(RunTriggerMessageSchema.parse(trigger.body))).id;
    if (!queries)
      throw new SlateError(
        'unavailable',
        'SCHEDULED_QUERIES_UNAVAILABLE',
        'this data plane runs no scheduled queries',
      );
    return queries(trigger.body);
  };
}
