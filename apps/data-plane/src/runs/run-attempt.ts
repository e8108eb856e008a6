import type { Logger } from 'pino';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import type { ResultPublisher } from '../persistence/result-publisher.ts';
import { type RunExecutor, saveMark } from './run-executor.ts';
import type { RunProgress } from './run-output.ts';
import type { RunRecord } from './run-record.ts';
import type { RunStore } from './run-store.ts';

/** What one attempt of a run needs from the lifecycle that starts it. */
export interface RunAttemptOptions {
  readonly served: ServedEnvironments;
  readonly store: RunStore;
  readonly publisher: ResultPublisher;
  readonly execute: RunExecutor;
  readonly clock: () => Date;
  readonly logger?: Logger;
  readonly heartbeatMs: number;
  readonly claim?: (key: string, ttlSeconds: number) => Promise<boolean>;
  readonly instance: string | null;
}

/** An attempt running in this process. */
export interface RunningAttempt {
  readonly controller: AbortController;
  /** Settles once the attempt's final record is saved (or it gave the run up to a take-over). */
  readonly done: Promise<void>;
}

/** The lease key of a run among the replicas of its data plane. */
export const runLeaseKey = (environment: string, id: string) => `run:${environment}/${id}`;

/**
 * Runs one attempt of a stored run in the background: takes its lease, records it `running` (with this
 * replica's `instance`, and `scan_at` on the first attempt), executes it, and saves the final record —
 * `succeeded`, `failed`, or `canceled` — unless another replica took the run over meanwhile, in which case
 * it stops between batches and saves nothing more. A heartbeat every `heartbeatMs` renews the lease, looks
 * for a cancel request and writes progress and the checkpoint (see `startHeartbeat`).
 *
 * @example
 * const { controller, done } = runAttempt(options, record, 60);
 * controller.abort(new RunCanceled(new Date().toISOString()));
 * await done;
 */
export function runAttempt(
  options: RunAttemptOptions,
  record: RunRecord,
  ttlSeconds: number,
): RunningAttempt {
  const { store, clock, logger } = options;
  const controller = new AbortController();
  const progress: RunProgress = { rows: 0, values: 0, chunks: 0, mark: null, markFrom: null };
  const writer = recordWriter(store, record, logger);
  const checks = attemptChecks(options, record, controller, ttlSeconds);
  const heartbeat = startHeartbeat(options, writer, checks, progress, controller);
  const done = (async () => {
    const started = clock().toISOString();
    writer.current = {
      ...record,
      status: 'running',
      started_at: record.started_at ?? started,
      heartbeat_at: started,
      scan_at: record.scan_at ?? started,
      instance: options.instance,
    };
    if (options.claim)
      await options
        .claim(runLeaseKey(record.environment, record.id), ttlSeconds)
        .catch((error: unknown) => logger?.warn({ run_id: record.id, err: error }, 'run lease not taken'));
    await writer.save(writer.current);
    await checks.cancel();
    try {
      const finished = await options.served.withEngine(record.environment, ({ engine }) =>
        options.execute(writer.current, engine, progress, controller.signal, {
          begin: async ({ state, markFrom }) => {
            if (writer.current.incremental_start !== null) return;
            // Kept before anything is published: a take-over reads from the same state.
            writer.current = { ...writer.current, incremental_start: state, high_water_from: markFrom };
            await writer.save(writer.current);
          },
          // A runner that was paused past its lease must not finish what another replica took over.
          owned: async () => {
            await checks.lease();
            controller.signal.throwIfAborted();
          },
        }),
      );
      writer.current = finished ?? {
        ...writer.current,
        status: 'failed',
        finished_at: clock().toISOString(),
        error: 'the environment has no active deployment',
      };
    } catch (error) {
      if (controller.signal.reason instanceof RunSuperseded) {
        writer.closed = true;
        clearInterval(heartbeat);
        logger?.warn({ run_id: record.id, attempt: record.attempt }, 'run taken over by another replica');
        return;
      }
      writer.current = await stoppedRecord(options, writer.current, progress, controller.signal, error);
    }
    writer.closed = true;
    clearInterval(heartbeat);
    await writer.save(writer.current, true);
  })().catch((error: unknown) => logger?.error({ run_id: record.id, err: error }, 'run record not saved'));
  return { controller, done };
}

/** The run's record as this attempt last wrote it, and its writes in order. */
interface RecordWriter {
  current: RunRecord;
  /** Once the run has ended only its final record is written. */
  closed: boolean;
  save(next: RunRecord, final?: boolean): Promise<void>;
}

function recordWriter(store: RunStore, record: RunRecord, logger: Logger | undefined): RecordWriter {
  let writes = Promise.resolve();
  const writer: RecordWriter = {
    current: record,
    closed: false,
    save(next, final = false) {
      writes = writes
        .then(async () => {
          if (writer.closed && !final) return;
          await store.put(next);
        })
        .catch((error: unknown) => logger?.error({ run_id: record.id, err: error }, 'run record not saved'));
      return writes;
    },
  };
  return writer;
}

/** The checks an attempt makes between batches: a cancel request, and whether it still holds the run. */
function attemptChecks(
  options: RunAttemptOptions,
  record: RunRecord,
  controller: AbortController,
  ttlSeconds: number,
) {
  return {
    async cancel() {
      const requested = await options.store.cancelRequested(record.environment, record.id).catch(() => null);
      if (requested && !controller.signal.aborted) controller.abort(new RunCanceled(requested));
    },
    /** Renews the lease; a refusal (or a later attempt in the record) means another replica took over. */
    async lease() {
      const key = runLeaseKey(record.environment, record.id);
      const held = options.claim ? await options.claim(key, ttlSeconds).catch(() => true) : true;
      const stored = held ? await options.store.get(record.environment, record.id).catch(() => null) : null;
      if ((!held || (stored !== null && stored.attempt > record.attempt)) && !controller.signal.aborted)
        controller.abort(new RunSuperseded());
    },
  };
}

/**
 * Every `heartbeatMs`: renews the lease and looks for a cancel request, then writes the heartbeat, the
 * progress and the checkpoint — the batches handed to the publisher before its last flush, hence on the
 * bus — and flushes for the next checkpoint.
 */
function startHeartbeat(
  options: RunAttemptOptions,
  writer: RecordWriter,
  checks: ReturnType<typeof attemptChecks>,
  progress: RunProgress,
  controller: AbortController,
): NodeJS.Timeout {
  let flushed = writer.current.chunks;
  let flushing = false;
  const checkpoint = async () => {
    if (flushing) return;
    flushing = true;
    try {
      const upTo = progress.chunks;
      await options.publisher.flush();
      flushed = Math.max(flushed, upTo);
    } finally {
      flushing = false;
    }
  };
  const beat = setInterval(() => {
    if (writer.closed) return;
    void (async () => {
      await Promise.all([checks.cancel(), checks.lease()]);
      if (writer.closed || controller.signal.aborted) return;
      writer.current = {
        ...writer.current,
        heartbeat_at: options.clock().toISOString(),
        rows: progress.rows,
        values: progress.values,
        chunks: Math.max(writer.current.chunks, flushed),
      };
      await writer.save(writer.current);
      await checkpoint();
    })().catch((error: unknown) =>
      options.logger?.warn({ run_id: writer.current.id, err: error }, 'run heartbeat failed'),
    );
  }, options.heartbeatMs);
  beat.unref?.();
  return beat;
}

/** The final record of an attempt stopped by an error or a cancel; what it published stays written. */
async function stoppedRecord(
  options: RunAttemptOptions,
  current: RunRecord,
  progress: RunProgress,
  signal: AbortSignal,
  error: unknown,
): Promise<RunRecord> {
  const canceled = signal.aborted;
  // Flush what was published, and keep a row-mode mark that covers it.
  await options.publisher.flush().catch(() => undefined);
  let markTo = progress.markFrom;
  if (progress.mark !== null) {
    await saveMark(options.store, current, current.resolver_fqn, progress.mark);
    markTo = progress.mark;
  }
  const reason: unknown = signal.reason;
  if (!canceled)
    options.logger?.warn({ run_id: current.id, resolver: current.resolver_fqn, err: error }, 'run failed');
  return {
    ...current,
    status: canceled ? 'canceled' : 'failed',
    finished_at: options.clock().toISOString(),
    rows: progress.rows,
    values: progress.values,
    chunks: Math.max(current.chunks, progress.chunks),
    high_water_from: progress.markFrom,
    high_water_to: markTo,
    cancel_requested_at: reason instanceof RunCanceled ? reason.at : current.cancel_requested_at,
    error: canceled ? null : error instanceof Error ? error.message : String(error),
  };
}

/** The abort reason of a canceled run. */
export class RunCanceled extends Error {
  constructor(readonly at: string) {
    super('the run was canceled');
    this.name = 'AbortError';
  }
}

/** The abort reason of a run another replica took over. */
class RunSuperseded extends Error {
  constructor() {
    super('the run was taken over by another replica');
    this.name = 'AbortError';
  }
}
