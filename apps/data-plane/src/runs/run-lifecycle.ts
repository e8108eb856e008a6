import type { Logger } from 'pino';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import type { ResultPublisher } from '../persistence/result-publisher.ts';
import { RunCanceled, runAttempt, runLeaseKey } from './run-attempt.ts';
import type { RunExecutor } from './run-executor.ts';
import type { RunRecord, RunStatus } from './run-record.ts';
import type { RunStore } from './run-store.ts';

export interface RunLifecycleOptions {
  readonly served: ServedEnvironments;
  readonly store: RunStore;
  readonly publisher: ResultPublisher;
  readonly execute: RunExecutor;
  readonly clock: () => Date;
  readonly logger?: Logger;
  readonly heartbeatMs: number;
  readonly staleAfterMs: number;
  /** Attempts a run may get (the first and take-overs) before it is failed `RUN_ABANDONED`. */
  readonly maxAttempts: number;
  /** Take over runs whose replica stopped (false: fail them `RUN_ABANDONED`, the former behaviour). */
  readonly resume: boolean;
  /** Claims or renews a run's lease among the replicas; absent: this process is the only one. */
  readonly claim?: (key: string, ttlSeconds: number) => Promise<boolean>;
  /** This replica's name, written into the records of the runs it runs. */
  readonly instance: string | null;
}

/** Runs' lives in this process: started, heart-beaten under a lease, taken over, canceled. */
export interface RunLifecycle {
  /** Runs a stored run in the background (its first attempt, or a take-over already recorded). */
  start(record: RunRecord): void;
  /**
   * A run as it should be read: one whose replica stopped (no heartbeat for `staleAfterMs`) is taken over
   * here when this replica wins its lease — or failed `RUN_ABANDONED` after its last attempt; any other
   * run comes back as it is.
   */
  recoverIfStale(record: RunRecord): Promise<RunRecord>;
  /** Aborts a run of this process; resolves once its final record is saved (false: not running here). */
  cancelLocal(environment: string, id: string, at: string): Promise<boolean>;
  idle(): Promise<void>;
}

const FINISHED: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'canceled']);

/** Longest lease the metadata plane grants (`MAX_LEASE_SECONDS`). */
const MAX_LEASE_SECONDS = 600;

/**
 * Creates the lifecycle. A run holds the lease `run:<env>/<id>` (ttl `staleAfterMs`) and renews it with
 * every heartbeat, which also writes its progress and its checkpoint (`chunks`: batches flushed to the
 * bus). A replica that finds a run without a heartbeat for `staleAfterMs` claims the lease; granted, it
 * re-reads the record and, if it is still stale, records the take-over (`attempt` + 1, its `instance`)
 * and resumes it from the checkpoint (see `createRunExecutor`). A runner whose renewal is refused (its
 * lease expired and was taken over: it was paused, not dead) stops between batches and writes nothing
 * more, leaving the record to the new holder.
 *
 * @example
 * const lifecycle = createRunLifecycle({ served, store, publisher, execute, clock: () => new Date(), heartbeatMs: 10_000, staleAfterMs: 60_000, maxAttempts: 3, resume: true, claim, instance: 'east-0' });
 * lifecycle.start(record);
 * await lifecycle.recoverIfStale(await store.get('env-1', 'run_1'));
 */
export function createRunLifecycle(options: RunLifecycleOptions): RunLifecycle {
  const { store, clock, logger } = options;
  const running = new Set<Promise<void>>();
  /** Runs executing in this process, by `<environment>/<id>`. */
  const active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  /** Runs this process is taking over right now (no second take-over from a concurrent read). */
  const claiming = new Set<string>();
  const runKey = (environment: string, id: string) => `${environment}/${id}`;
  const ttlSeconds = Math.min(MAX_LEASE_SECONDS, Math.max(1, Math.ceil(options.staleAfterMs / 1000)));
  const lastSign = (record: RunRecord) => record.heartbeat_at ?? record.started_at ?? record.created_at;
  const isStale = (record: RunRecord) =>
    !FINISHED.has(record.status) && clock().getTime() - Date.parse(lastSign(record)) > options.staleAfterMs;

  const start = (record: RunRecord) => {
    const attempt = runAttempt(options, record, ttlSeconds);
    active.set(runKey(record.environment, record.id), attempt);
    running.add(attempt.done);
    void attempt.done.finally(() => {
      running.delete(attempt.done);
      active.delete(runKey(record.environment, record.id));
    });
  };

  const abandon = async (record: RunRecord, why: string) => {
    const failed: RunRecord = {
      ...record,
      status: 'failed',
      finished_at: clock().toISOString(),
      error: `RUN_ABANDONED: no heartbeat since ${lastSign(record)}: ${why}. Batches it published stay written; its incremental mark did not move, so the next run starts where it started.`,
    };
    await store.put(failed);
    logger?.warn(
      { run_id: record.id, resolver: record.resolver_fqn, since: lastSign(record), attempt: record.attempt },
      'run abandoned',
    );
    return failed;
  };

  /** Takes a stale run over when this replica wins its lease; answers the run as it is then. */
  const takeOver = async (stale: RunRecord): Promise<RunRecord> => {
    const key = runKey(stale.environment, stale.id);
    if (claiming.has(key)) return stale;
    claiming.add(key);
    try {
      if (!options.served.get(stale.environment)?.deployment) return stale;
      if (options.claim) {
        const granted = await options
          .claim(runLeaseKey(stale.environment, stale.id), ttlSeconds)
          .catch(() => false);
        if (!granted) return stale;
        // Granted: unless another replica took it over meanwhile (fresh heartbeat, or a later attempt).
        const current = await store.get(stale.environment, stale.id);
        if (!current || !isStale(current) || current.attempt !== stale.attempt) return current ?? stale;
      }
      if (active.has(key)) return stale;
      const attempt = stale.attempt + 1;
      if (attempt > options.maxAttempts)
        return abandon(
          stale,
          `the replicas running it stopped on each of its ${options.maxAttempts} attempts`,
        );
      const resumed: RunRecord = {
        ...stale,
        status: 'running',
        attempt,
        instance: options.instance,
        heartbeat_at: clock().toISOString(),
        error: null,
      };
      logger?.warn(
        {
          run_id: stale.id,
          resolver: stale.resolver_fqn,
          attempt,
          from_instance: stale.instance,
          checkpoint: stale.chunks,
          last_heartbeat: lastSign(stale),
        },
        'run lost its replica; resuming it',
      );
      await store.put(resumed);
      start(resumed);
      return resumed;
    } finally {
      claiming.delete(key);
    }
  };

  return {
    start,
    async recoverIfStale(record) {
      if (active.has(runKey(record.environment, record.id)) || !isStale(record)) return record;
      if (!options.resume) return abandon(record, 'the data plane running it stopped');
      return takeOver(record);
    },
    async cancelLocal(environment, id, at) {
      const local = active.get(runKey(environment, id));
      if (!local) return false;
      if (!local.controller.signal.aborted) local.controller.abort(new RunCanceled(at));
      await local.done;
      return true;
    },
    async idle() {
      while (running.size > 0) await Promise.all(running);
    },
  };
}
