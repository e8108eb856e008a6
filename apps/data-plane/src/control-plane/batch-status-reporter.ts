import type { Logger } from 'pino';
import type { RevisionRecord } from '../offline/offline-query-service.ts';
import type { RunRecord } from '../runs/run-record.ts';

/** What the metadata plane records for long-running work (its `batch-status` queue). */
export interface BatchStatusReport {
  readonly operation_id: string;
  readonly environment_id: string;
  readonly kind: 'OFFLINE_QUERY' | 'RUN';
  readonly name: string | null;
  readonly status: 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  readonly progress: number | null;
  readonly error: string | null;
  readonly at: string;
}

/**
 * Tells the metadata plane how offline queries and runs progress, so people can follow them in the UI.
 * Reports never slow or fail the work: they are sent in the background, in order, and a report that cannot
 * be delivered is logged and dropped (the next one supersedes it). Reports made before the data plane has
 * registered wait (at most `buffer` of them) until `bind`.
 */
export function createBatchStatusReporter(
  options: { logger?: Logger; now?: () => Date; buffer?: number } = {},
) {
  const now = options.now ?? (() => new Date());
  const waiting: BatchStatusReport[] = [];
  let send: ((report: BatchStatusReport) => Promise<void>) | undefined;
  let chain: Promise<void> = Promise.resolve();

  const deliver = (report: BatchStatusReport) => {
    const target = send!;
    chain = chain.then(() =>
      target(report).catch((error: unknown) =>
        options.logger?.warn(
          { err: error instanceof Error ? error.message : String(error), operation_id: report.operation_id },
          'batch status not delivered',
        ),
      ),
    );
  };
  const report = (entry: BatchStatusReport) => {
    if (send) deliver(entry);
    else if (waiting.length < (options.buffer ?? 1_000)) waiting.push(entry);
  };

  return {
    /** Starts delivering through `target` (the control-plane client), beginning with what waited. */
    bind(target: (report: BatchStatusReport) => Promise<void>) {
      send = target;
      for (const entry of waiting.splice(0)) deliver(entry);
    },
    /** Reports an offline query's revision as it is saved. */
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
    },
    /** Reports a run as it is saved. */
    run(record: RunRecord) {
      report({
        operation_id: record.id,
        environment_id: record.environment,
        kind: 'RUN',
        name: record.resolver_fqn,
        status: (
          { received: 'QUEUED', running: 'RUNNING', succeeded: 'SUCCEEDED', failed: 'FAILED' } as const
        )[record.status],
        progress: record.status === 'succeeded' ? 1 : null,
        error: record.error,
        at: now().toISOString(),
      });
    },
    /** Resolves once every report handed over so far was sent (or dropped). */
    flush: () => chain,
  };
}

export type BatchStatusReporter = ReturnType<typeof createBatchStatusReporter>;
