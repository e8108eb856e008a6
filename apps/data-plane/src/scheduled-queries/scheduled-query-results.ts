import type { ScheduledQuerySpec } from '@slate/graph';
import type { RevisionRecord } from '../offline/offline-query-service.ts';
import type { ResultValue } from '../persistence/result-message.ts';
import { readDataJson, scheduledQueryMarkPath } from './scheduled-query-job.ts';
import type { ScheduledQueryRunnerOptions } from './scheduled-query-runner.ts';

/**
 * Stores what a completed scheduled query produced beyond its offline query: with `storeOnline`, the
 * sampled (not recomputed) outputs copied online, under the fixed message id
 * `scheduled-query:<revision>:online`; with `incremental`, the mark moved forward (never back). Both are
 * safe to repeat, so a take-over may store a job's results again. A failed query stores nothing (logged).
 *
 * @example
 * await storeScheduledQueryResults({ offlineStore, publisher, objectStore, clock: () => new Date() }, 'env-1', spec, revision, sampled, 1_000);
 */
export async function storeScheduledQueryResults(
  options: Pick<ScheduledQueryRunnerOptions, 'offlineStore' | 'publisher' | 'objectStore' | 'logger'> & {
    readonly clock: () => Date;
  },
  environment: string,
  spec: ScheduledQuerySpec,
  record: RevisionRecord,
  sampled: { pkeys: string[]; times: number[]; fqns: string[]; ttl: Map<string, number | undefined> },
  mark: number | null,
): Promise<void> {
  if (record.status !== 'COMPLETED') {
    options.logger?.warn(
      { scheduled_query: spec.name, revision_id: record.revision_id, errors: record.errors },
      'scheduled query failed',
    );
    return;
  }
  if (spec.storeOnline && sampled.fqns.length > 0) {
    // Sampled outputs are not published by the offline query: copy them online (offline → online).
    const result = await options.offlineStore.sample(environment, {
      spine: { pkeys: sampled.pkeys, times: sampled.times },
      features: sampled.fqns.map((fqn) => ({ fqn, ttlMs: null })),
    });
    const now = options.clock().getTime();
    const values: ResultValue[] = [];
    for (const column of result.columns)
      column.values.forEach((value, row) => {
        if (column.observedAt[row] === null) return;
        const ttlMs = sampled.ttl.get(column.fqn);
        values.push({
          feature: column.fqn,
          pkey: sampled.pkeys[row]!,
          value,
          observedAt: now,
          resolver: null,
          ...(ttlMs === undefined ? {} : { ttlMs }),
        });
      });
    if (values.length > 0) {
      await options.publisher.publish(
        {
          version: 1,
          environment,
          operationId: `scheduled-query:${record.revision_id}:online`,
          operationKind: 'OFFLINE_QUERY',
          deploymentId: record.deployment_id,
          insertedAt: now,
          values,
          writeOnline: true,
          writeOffline: false,
        },
        { maxBlockMs: Number.POSITIVE_INFINITY },
      );
      await options.publisher.flush();
    }
  }
  if (spec.incremental && mark !== null) {
    const previous = await readDataJson<{ inserted_at: number }>(
      options.objectStore,
      scheduledQueryMarkPath(environment, spec.name),
    );
    if (!previous || previous.inserted_at < mark)
      await options.objectStore.put(
        'data',
        scheduledQueryMarkPath(environment, spec.name),
        JSON.stringify({ inserted_at: mark }),
        {
          contentType: 'application/json',
        },
      );
  }
}
