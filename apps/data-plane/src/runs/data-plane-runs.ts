import type { SqlSources } from '@slate/engine';
import type { Bus, ObjectStore, Queue, QueueWorker } from '@slate/stores';
import type { Logger } from 'pino';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import { createResultPublisher } from '../persistence/result-publisher.ts';
import type { RunRecord } from './run-record.ts';
import { createRunScheduler, type RunScheduler } from './run-scheduler.ts';
import { createRunService, type RunService } from './run-service.ts';
import { createObjectRunStore, type RunStore } from './run-store.ts';
import { consumeRunTriggers } from './run-trigger-consumer.ts';

export interface DataPlaneRunsOptions {
  readonly served: ServedEnvironments;
  /** The result bus runs publish to. */
  readonly bus: Bus;
  /** Run records, idempotency keys and high-water marks (the `data` bucket). */
  readonly objectStore: ObjectStore;
  readonly sqlSources: (environment: { id: string; name: string }) => SqlSources;
  /**
   * Fire `cron` resolvers from this data plane (default true). Turn off where the metadata plane's
   * `scheduled-resolver-trigger` queue delivers trigger messages to `service.trigger` instead.
   */
  readonly schedule?: boolean;
  /** Claims each cron fire among replicas (see `RunSchedulerOptions.claim`). */
  readonly claimFire?: (key: string, ttlSeconds: number) => Promise<boolean>;
  /** Claims or renews a run's lease among replicas (see `RunServiceOptions.claim`). */
  readonly claimRun?: (key: string, ttlSeconds: number) => Promise<boolean>;
  /** This replica's instance id (shown in run records). */
  readonly instance?: string;
  /**
   * Look for runs whose replica stopped and take them over, every `recoverIntervalMs` (default 15 s), in
   * every environment with a loaded deployment: `jobs` replicas do (default false; reads still do).
   */
  readonly recover?: boolean;
  readonly recoverIntervalMs?: number;
  /** See `RunServiceOptions`. */
  readonly heartbeatMs?: number;
  readonly staleAfterMs?: number;
  /** Entities per page read and per published batch (see `RunServiceOptions.chunkSize`). */
  readonly chunkSize?: number;
  /** The metadata plane's `scheduled-resolver-trigger` queue: its trigger messages start runs here. */
  readonly triggerQueue?: Queue;
  readonly clock?: () => Date;
  readonly maxMissedRuns?: number;
  readonly logger?: Logger;
  /** Told every time a run's record is saved (status changes). */
  readonly onRun?: (record: RunRecord) => void;
}

/** Triggered and scheduled runs of one data plane. */
export interface DataPlaneRuns {
  readonly service: RunService;
  readonly scheduler: RunScheduler;
  start(): void;
  /** Stops scheduling and waits for started runs. */
  close(): Promise<void>;
}

/**
 * Assembles the run service (records in object storage, results on the result bus) and the cron scheduler
 * feeding it.
 *
 * @example
 * const runs = createDataPlaneRuns({ served, bus, objectStore, sqlSources: (env) => registry.sourcesFor(env) });
 * runs.start();
 */
export function createDataPlaneRuns(options: DataPlaneRunsOptions): DataPlaneRuns {
  const service = createRunService({
    served: options.served,
    store: reportingStore(createObjectRunStore(options.objectStore), options.onRun),
    publisher: createResultPublisher(options.bus, { logger: options.logger }),
    sqlSources: options.sqlSources,
    clock: options.clock,
    logger: options.logger,
    claim: options.claimRun,
    instance: options.instance,
    heartbeatMs: options.heartbeatMs,
    staleAfterMs: options.staleAfterMs,
    chunkSize: options.chunkSize,
  });
  const scheduler = createRunScheduler({
    served: options.served,
    trigger: (message) => service.trigger(message),
    claim: options.claimFire,
    clock: options.clock,
    maxMissedRuns: options.maxMissedRuns,
    logger: options.logger,
  });
  let triggers: QueueWorker | undefined;
  let lookout: NodeJS.Timeout | undefined;
  let recovering: Promise<unknown> = Promise.resolve();
  /** One sweep at a time over the environments this replica has a deployment for. */
  const recover = () => {
    recovering = recovering.then(async () => {
      for (const environment of options.served.list()) {
        if (!environment.deployment) continue;
        await service
          .recover(environment.id)
          .catch((err: unknown) =>
            options.logger?.warn({ err, environment: environment.id }, 'runs not recovered'),
          );
      }
    });
  };
  return {
    service,
    scheduler,
    start() {
      if (options.recover && !lookout) {
        lookout = setInterval(recover, options.recoverIntervalMs ?? 15_000);
        lookout.unref();
      }
      if (options.schedule !== false) scheduler.start();
      if (options.triggerQueue && !triggers)
        triggers = consumeRunTriggers(options.triggerQueue, service, options.logger);
    },
    async close() {
      clearInterval(lookout);
      await recovering;
      await triggers?.stop();
      await scheduler.stop();
      await service.idle();
    },
  };
}

/** The run store, telling `onRun` about every record it saves. */
function reportingStore(store: RunStore, onRun: ((record: RunRecord) => void) | undefined): RunStore {
  if (!onRun) return store;
  return {
    ...store,
    async put(record) {
      await store.put(record);
      onRun(record);
    },
  };
}
