import { type Engine, indexGraph } from '@slate/engine';
import type { ResolverSpec } from '@slate/graph';
import type { ResultValue } from '../persistence/result-message.ts';
import type { ResultPublisher } from '../persistence/result-publisher.ts';
import type { RunRecord } from './run-record.ts';

/** What a run has read and committed so far. */
export interface RunProgress {
  rows: number;
  values: number;
  /** Batches handled: published, or skipped by a take-over because an earlier attempt published them. */
  chunks: number;
  /** Incremental runs: the mark to store if the run stops now (null: leave it). */
  mark: string | null;
  /** The mark the run started from. */
  markFrom: string | null;
}

export interface RunOutputOptions {
  readonly record: RunRecord;
  readonly spec: ResolverSpec;
  readonly deployment: Engine;
  readonly publisher: ResultPublisher;
  /** The instant the run reads at: online values' `observedAt` (and offline ones' without a feature time). */
  readonly at: Date;
  readonly clock: () => Date;
  readonly progress: RunProgress;
  /** Batches below this one were published by an earlier attempt (the checkpoint): counted, not sent. */
  readonly skipBelow: number;
}

/**
 * The writer of a run's batches: each batch of entities becomes at most two result messages, its offline
 * values (`store_offline`, features stored offline) and its online values (`store_online`, features with
 * `etlOfflineToOnline` and a non-zero `maxStaleness`, as the seed product does). Message ids are the run's
 * id and the batch's number (`run:<id>:<batch>:<online|offline>`): the offline store commits a batch id
 * once and the online store keeps the newest `observedAt`, so a take-over that reads the same pages and
 * publishes a batch again — same number, same values, same `at` — writes nothing twice.
 *
 * @example
 * const publish = createRunOutput({ record, spec, deployment, publisher, at, clock, progress, skipBelow: 0 });
 * await publish([{ 'user.id': 1, 'user.name': 'Ada' }]);
 */
export function createRunOutput(
  options: RunOutputOptions,
): (batch: readonly Record<string, unknown>[]) => Promise<void> {
  const { record, spec, deployment, progress } = options;
  const index = indexGraph(deployment.graph);
  const namespace = index.namespaces.get(spec.namespace)!;
  const featureTime = namespace.featureTime;
  const primaryKey = namespace.primaryKey;
  const online = new Map<string, number | undefined>();
  for (const feature of index.features.values()) {
    if (feature.kind !== 'scalar' || feature.namespace !== spec.namespace) continue;
    if (feature.etlOfflineToOnline && feature.maxStalenessS !== 0 && feature.storeOnline)
      online.set(feature.fqn, feature.maxStalenessS === null ? undefined : feature.maxStalenessS * 1000);
  }
  const offlineFeatures = new Set(
    [...index.features.values()].flatMap((f) => (f.kind === 'scalar' && f.storeOffline ? [f.fqn] : [])),
  );
  const now = options.at.getTime();

  const valuesOf = (batch: readonly Record<string, unknown>[]) => {
    const offlineValues: ResultValue[] = [];
    const onlineValues: ResultValue[] = [];
    for (const row of batch) {
      const pkey = row[primaryKey];
      if (pkey == null) continue;
      const at = featureTime === undefined ? undefined : row[featureTime];
      const observedAt = at == null ? now : new Date(at as string | number | Date).getTime();
      for (const [fqn, raw] of Object.entries(row)) {
        if (fqn === primaryKey || fqn === featureTime) continue;
        const value = raw instanceof Date ? raw.toISOString() : raw;
        const base = { feature: fqn, pkey: String(pkey), value, observedAt, resolver: spec.fqn };
        if (record.store_offline && offlineFeatures.has(fqn)) offlineValues.push(base);
        if (record.store_online && online.has(fqn)) {
          // Online freshness (max_staleness) counts from when the value was computed, as for values the
          // engine caches itself; the offline copy keeps the feature time.
          const ttlMs = online.get(fqn);
          const fresh = { ...base, observedAt: now };
          onlineValues.push(ttlMs === undefined ? fresh : { ...fresh, ttlMs });
        }
      }
    }
    return { offlineValues, onlineValues };
  };

  return async (batch) => {
    const chunk = progress.chunks;
    const { offlineValues, onlineValues } = valuesOf(batch);
    if (chunk >= options.skipBelow) {
      const message = (values: ResultValue[], kind: 'offline' | 'online') => ({
        version: 1 as const,
        environment: record.environment,
        operationId: `run:${record.id}:${chunk}:${kind}`,
        operationKind: 'UPLOAD_FEATURES' as const,
        deploymentId: deployment.deploymentId,
        insertedAt: options.clock().getTime(),
        values,
        writeOnline: kind === 'online',
        writeOffline: kind === 'offline',
      });
      // A batch is published whole: the signal is only looked at between batches. A run waits for room
      // as long as it takes (it is a background job: nobody to answer 503 to).
      const wait = { maxBlockMs: Number.POSITIVE_INFINITY };
      if (offlineValues.length > 0) await options.publisher.publish(message(offlineValues, 'offline'), wait);
      if (onlineValues.length > 0) await options.publisher.publish(message(onlineValues, 'online'), wait);
    }
    progress.values += offlineValues.length + onlineValues.length;
    progress.rows += batch.length;
    progress.chunks = chunk + 1;
  };
}
