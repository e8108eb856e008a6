import type { Logger } from 'pino';
import type { RevisionRecord } from '../offline/offline-query-service.ts';
import type { RunRecord } from '../runs/run-record.ts';

/** What the metadata plane records for long-running work (its `batch-status` queue). */
export interface BatchStatusReport {
  readonly operation_id: string;
  readonly environment_id: string;
  readonly kind: 'OFFLINE_QUERY' | 'RUN';
  readonly name: string | null;
  /** `CANCELED`: a run someone stopped (what it wrote before stays). */
  readonly status: 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED';
  readonly progress: number | null;
  readonly error: string | null;
  readonly at: string;
}

/**
 * The final report of an offline query's revision or a run, sent once when it ends (the metadata plane's
 * `batch-report` queue): what it produced, where, how long it took and what went wrong.
 */
export interface BatchReport {
  readonly operation_id: string;
  readonly environment_id: string;
  readonly kind: 'OFFLINE_QUERY' | 'RUN';
  readonly name: string | null;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'CANCELED';
  readonly deployment_id: string | null;
  readonly started_at: string | null;
  readonly finished_at: string;
  /** From start (or creation, when it never started) to the end. */
  readonly duration_ms: number;
  /** Rows written (offline query) or read (run). */
  readonly rows: number;
  readonly columns: readonly { name: string; dtype: string }[];
  /** Bytes of the output files; null when the work writes no files (runs publish to the result bus). */
  readonly bytes_written: number | null;
  /** The dataset revision an offline query wrote (object keys in the `dataset` bucket). */
  readonly output: {
    readonly bucket: 'dataset';
    readonly keys: readonly string[];
    readonly dataset_id: string;
    readonly dataset_name: string | null;
    readonly revision_id: string;
  } | null;
  readonly errors: readonly { code: string; message: string; feature?: string }[];
  /** How many times the work was started (take-overs after a lost heartbeat add one). */
  readonly attempts: number;
  readonly at: string;
}

/** Builds the final report of a finished revision; `null` while it is still queued or working. */
export function revisionReport(record: RevisionRecord, at: Date): BatchReport | null {
  if (record.status !== 'COMPLETED' && record.status !== 'FAILED') return null;
  const finished = record.terminated_at ?? at.toISOString();
  return {
    operation_id: record.revision_id,
    environment_id: record.environment_id,
    kind: 'OFFLINE_QUERY',
    name: record.dataset_name,
    status: record.status === 'COMPLETED' ? 'SUCCEEDED' : 'FAILED',
    deployment_id: record.deployment_id,
    started_at: record.started_at,
    finished_at: finished,
    duration_ms: Math.max(0, Date.parse(finished) - Date.parse(record.started_at ?? record.created_at)),
    rows: record.num_rows,
    columns: record.columns.map((c) => ({ name: c.column_name, dtype: c.dtype })),
    bytes_written: record.num_bytes,
    output:
      record.status === 'COMPLETED'
        ? {
            bucket: 'dataset',
            keys: record.output_keys,
            dataset_id: record.dataset_id,
            dataset_name: record.dataset_name,
            revision_id: record.revision_id,
          }
        : null,
    errors: record.errors.map((e) => ({
      code: e.code,
      message: e.message,
      ...(e.feature ? { feature: e.feature } : {}),
    })),
    attempts: record.attempt ?? 1,
    at: at.toISOString(),
  };
}

/** Builds the final report of a finished run; `null` while it is still received or running. */
export function runReport(record: RunRecord, at: Date): BatchReport | null {
  const status = (
    { succeeded: 'SUCCEEDED', failed: 'FAILED', canceled: 'CANCELED' } as Readonly<
      Record<string, BatchReport['status']>
    >
  )[record.status];
  if (!status) return null;
  const finished = record.finished_at ?? at.toISOString();
  return {
    operation_id: record.id,
    environment_id: record.environment,
    kind: 'RUN',
    name: record.resolver_fqn,
    status,
    deployment_id: record.deployment_id,
    started_at: record.started_at,
    finished_at: finished,
    duration_ms: Math.max(0, Date.parse(finished) - Date.parse(record.started_at ?? record.created_at)),
    rows: record.rows,
    columns: [],
    bytes_written: null,
    output: null,
    errors: record.error
      ? [{ code: /^([A-Z_]+):/.exec(record.error)?.[1] ?? 'RUN_FAILED', message: record.error }]
      : (record.status as string) === 'canceled'
        ? [{ code: 'RUN_CANCELED', message: 'the run was canceled' }]
        : [],
    attempts: 1,
    at: at.toISOString(),
  };
}

/** Where reports go once the data plane has registered (the control-plane client's methods). */
export interface BatchReportTargets {
  status(report: BatchStatusReport): Promise<void>;
  report?(report: BatchReport): Promise<void>;
}

/**
 * Tells the metadata plane how offline queries and runs progress, so people can follow them in the UI,
 * and sends each one's final report when it ends. Reports never slow or fail the work: they are sent in
 * the background, in order. A status update that cannot be delivered is logged and dropped (the next one
 * supersedes it); a final report has no successor, so it is retried (`retryDelaysMs`, default 1, 2 and
 * 4 s) before it is logged and dropped. Reports made before the data plane has registered wait (at most
 * `buffer` of them) until `bind`.
 */
export function createBatchStatusReporter(
  options: { logger?: Logger; now?: () => Date; buffer?: number; retryDelaysMs?: readonly number[] } = {},
) {
  const now = options.now ?? (() => new Date());
  const retryDelays = options.retryDelaysMs ?? [1_000, 2_000, 4_000];
  const waiting: (BatchStatusReport | BatchReport)[] = [];
  let targets: BatchReportTargets | undefined;
  let chain: Promise<void> = Promise.resolve();
  let finals: Promise<void> = Promise.resolve();
  const isFinal = (entry: BatchStatusReport | BatchReport): entry is BatchReport => 'finished_at' in entry;

  const warn = (error: unknown, operationId: string, what: string) =>
    options.logger?.warn(
      { err: error instanceof Error ? error.message : String(error), operation_id: operationId },
      what,
    );
  const deliver = (entry: BatchStatusReport | BatchReport) => {
    const to = targets!;
    if (!isFinal(entry)) {
      chain = chain.then(() =>
        to
          .status(entry)
          .catch((error: unknown) => warn(error, entry.operation_id, 'batch status not delivered')),
      );
      return;
    }
    const send = to.report;
    if (!send) return;
    // After the status updates sent so far, so the jobs list never shows a finished job as running.
    const after = chain;
    finals = finals.then(async () => {
      await after;
      for (let attempt = 0; ; attempt++) {
        try {
          await send(entry);
          return;
        } catch (error) {
          if (attempt >= retryDelays.length)
            return warn(error, entry.operation_id, 'batch report not delivered');
          await new Promise((resolve) => setTimeout(resolve, retryDelays[attempt]));
        }
      }
    });
  };
  const report = (entry: BatchStatusReport | BatchReport | null) => {
    if (!entry) return;
    if (targets) deliver(entry);
    else if (waiting.length < (options.buffer ?? 1_000)) waiting.push(entry);
  };

  return {
    /** Starts delivering through `targets` (the control-plane client), beginning with what waited. */
    bind(to: BatchReportTargets | ((report: BatchStatusReport) => Promise<void>)) {
      targets = typeof to === 'function' ? { status: to } : to;
      for (const entry of waiting.splice(0)) deliver(entry);
    },
    /** Reports an offline query's revision as it is saved, and its final report when it has ended. */
    revision(record: RevisionRecord) {
      report({
        operation_id: record.revision_id,
        environment_id: record.environment_id,
        kind: 'OFFLINE_QUERY',
        name: record.dataset_name,
        status: ({ QUEUED: 'QUEUED', WORKING: 'RUNNING', COMPLETED: 'SUCCEEDED', FAILED: 'FAILED' } as const)[
          record.status
        ],
        progress: record.status === 'COMPLETED' ? 1 : null,
        error: record.errors[0]?.message ?? null,
        at: now().toISOString(),
      });
      report(revisionReport(record, now()));
    },
    /** Reports a run as it is saved, and its final report when it has ended. */
    run(record: RunRecord) {
      report({
        operation_id: record.id,
        environment_id: record.environment,
        kind: 'RUN',
        name: record.resolver_fqn,
        status: (
          {
            received: 'QUEUED',
            running: 'RUNNING',
            succeeded: 'SUCCEEDED',
            failed: 'FAILED',
            canceled: 'CANCELED',
          } as const
        )[record.status],
        progress: record.status === 'succeeded' ? 1 : null,
        error: record.error,
        at: now().toISOString(),
      });
      report(runReport(record, now()));
    },
    /** Resolves once every report handed over so far was sent (or dropped after its retries). */
    flush: async () => {
      await chain;
      await finals;
    },
  };
}

export type BatchStatusReporter = ReturnType<typeof createBatchStatusReporter>;
