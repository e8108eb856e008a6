import { createHash } from 'node:crypto';
import { type ScheduledQuerySpec, SlateError } from '@slate/graph';
import type { ObjectStore, OfflineStore } from '@slate/stores';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import { OfflineQueryRequestSchema } from '../offline/offline-query-request.ts';
import type { OfflineQueryService, RevisionRecord } from '../offline/offline-query-service.ts';
import type { ResultValue } from '../persistence/result-message.ts';
import type { ResultPublisher } from '../persistence/result-publisher.ts';

/** The message that starts a scheduled query, as the metadata plane's `scheduled-query-trigger` carries it. */
export const ScheduledQueryTriggerSchema = z.object({
  query_name: z.string().min(1),
  environment: z.string().min(1),
  /** The scheduled time: the point in time the query samples and recomputes at. */
  due_at: z.iso.datetime({ offset: true }),
  idempotency_key: z.string().min(1).max(256),
  trigger: z.enum(['CRON', 'MANUAL', 'API']).default('CRON'),
});
export type ScheduledQueryTrigger = z.input<typeof ScheduledQueryTriggerSchema>;

/** What a scheduled query's trigger started. */
export interface ScheduledQueryStart {
  /** The offline query's revision id, or null when there was nothing to query (no entity, or none new). */
  readonly revisionId: string | null;
  /** The entities queried. */
  readonly entities: number;
}

/** Runs scheduled queries (Chalk's `ScheduledQuery`) as offline queries. */
export interface ScheduledQueryRunner {
  /**
   * Starts the scheduled query a trigger names (once per idempotency key: a repeated key answers the first
   * start) and resolves once its offline query is submitted.
   *
   * @throws SlateError `ENVIRONMENT_NOT_FOUND` / `SCHEDULED_QUERY_NOT_FOUND` (not_found), ZodError for a
   *   malformed trigger.
   */
  trigger(message: unknown): Promise<ScheduledQueryStart>;
  /** Resolves once every started query has finished (and stored its values). */
  idle(): Promise<void>;
}

export interface ScheduledQueryRunnerOptions {
  readonly served: ServedEnvironments;
  readonly offlineStore: OfflineStore;
  /** The data plane's offline-query service: runs the query (and publishes recomputed values). */
  readonly offlineQueries: OfflineQueryService;
  /** Where sampled outputs go when the query stores online (the result bus). */
  readonly publisher: ResultPublisher;
  /** Idempotency keys and incremental marks (the `data` bucket). */
  readonly objectStore: ObjectStore;
  readonly clock?: () => Date;
  readonly logger?: Logger;
  /** How often a started offline query's revision is re-read (default 200 ms). */
  readonly pollMs?: number;
}

const TERMINAL = new Set<RevisionRecord['status']>(['COMPLETED', 'FAILED']);

/**
 * Creates the runner. A run's spine is every primary key of the outputs' namespace that has an observation
 * in the offline store — with `incremental`, only keys with an observation inserted after the mark the
 * previous successful run reached (the first run takes them all) — each sampled at the trigger's due time.
 * The offline query recomputes `recomputeFeatures` by running resolvers (publishing them online/offline per
 * `storeOnline`/`storeOffline`) and samples the other outputs point in time; with `storeOnline` the sampled
 * values are copied online too (as the seed product's `ScheduledQuery(store_online=True)`). The mark advances
 * only after the query completed, so a failed run is retried in full by the next one.
 *
 * @example
 * const runner = createScheduledQueryRunner({ served, offlineStore, offlineQueries: offline.service, publisher, objectStore });
 * await runner.trigger({ query_name: 'nightly', environment: 'env-1', due_at: '2026-01-01T03:00:00Z', idempotency_key: 'k' });
 */
export function createScheduledQueryRunner(options: ScheduledQueryRunnerOptions): ScheduledQueryRunner {
  const clock = options.clock ?? (() => new Date());
  const running = new Set<Promise<void>>();
  let claims: Promise<unknown> = Promise.resolve();
  const keyPath = (env: string, key: string) =>
    `scheduled-queries/${env}/keys/${createHash('sha256').update(key).digest('hex')}.json`;
  const markPath = (env: string, name: string) =>
    `scheduled-queries/${env}/marks/${encodeURIComponent(name)}.json`;
  const readJson = async <T>(path: string): Promise<T | null> => {
    const bytes = await options.objectStore.get('data', path);
    return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as T) : null;
  };

  const finish = async (
    environment: string,
    spec: ScheduledQuerySpec,
    revision: RevisionRecord,
    sampled: { pkeys: string[]; times: number[]; fqns: string[]; ttl: Map<string, number | undefined> },
    mark: number | null,
  ) => {
    let record = revision;
    while (!TERMINAL.has(record.status)) {
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
      record = (await options.offlineQueries.revision(environment, revision.revision_id)) ?? record;
    }
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
      const now = clock().getTime();
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
      const previous = await readJson<{ inserted_at: number }>(markPath(environment, spec.name));
      if (!previous || previous.inserted_at < mark)
        await options.objectStore.put(
          'data',
          markPath(environment, spec.name),
          JSON.stringify({ inserted_at: mark }),
          {
            contentType: 'application/json',
          },
        );
    }
  };

  const start = async (
    trigger: z.output<typeof ScheduledQueryTriggerSchema>,
  ): Promise<ScheduledQueryStart> => {
    const environment = options.served.get(trigger.environment);
    const engine = environment?.deployment?.engine;
    if (!environment || !engine)
      throw new SlateError(
        'not_found',
        'ENVIRONMENT_NOT_FOUND',
        `environment ${trigger.environment} has no active deployment here`,
      );
    const spec = (engine.graph.scheduledQueries ?? []).find((q) => q.name === trigger.query_name);
    if (!spec)
      throw new SlateError(
        'not_found',
        'SCHEDULED_QUERY_NOT_FOUND',
        `scheduled query ${trigger.query_name} is not in the active deployment ${environment.deployment!.id}`,
      );
    const namespaceName = spec.output[0]!.split('.')[0]!;
    const namespace = engine.graph.namespaces.find((ns) => ns.name === namespaceName);
    if (!namespace)
      throw new SlateError(
        'input',
        'INVALID_SCHEDULED_QUERY',
        `namespace ${namespaceName} is not in the graph`,
      );
    const scalars = namespace.features.flatMap((f) => (f.kind === 'scalar' && !f.primary ? [f] : []));
    // The spine: the keys the offline store knows for this namespace (new ones only, when incremental).
    const mark = spec.incremental
      ? ((await readJson<{ inserted_at: number }>(markPath(trigger.environment, spec.name)))?.inserted_at ??
        null)
      : null;
    const observations = await options.offlineStore.scan(trigger.environment, {
      features: scalars.map((f) => f.fqn),
    });
    const keys = new Set<string>();
    let reached: number | null = mark;
    for (const observation of observations) {
      if (reached === null || observation.insertedAt > reached) reached = observation.insertedAt;
      if (mark === null || observation.insertedAt > mark) keys.add(observation.pkey);
    }
    let pkeys = [...keys].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (spec.maxSamples !== undefined) pkeys = pkeys.slice(0, spec.maxSamples);
    if (pkeys.length === 0) return { revisionId: null, entities: 0 };
    const dueAt = Date.parse(trigger.due_at);
    const times = pkeys.map(() => dueAt);
    const recompute = spec.recomputeFeatures;
    const recomputed = new Set(recompute === true ? spec.output : recompute === false ? [] : recompute);
    const keyType = namespace.features.find((f) => f.fqn === namespace.primaryKey);
    const typedKeys =
      keyType?.kind === 'scalar' && keyType.dtype.type === 'int' ? pkeys.map((k) => Number(k)) : pkeys;
    const request = OfflineQueryRequestSchema.parse({
      input: { columns: [namespace.primaryKey], values: [typedKeys] },
      input_times: times.map((t) => new Date(t).toISOString()),
      output: spec.output,
      recompute_features: recompute,
      store_online: spec.storeOnline,
      store_offline: spec.storeOffline,
      dataset_name: spec.name,
      tags: spec.tags,
      required_resolver_tags: spec.requiredResolverTags,
      correlation_id: trigger.idempotency_key,
    });
    const revision = await options.offlineQueries.submit(
      trigger.environment,
      `scheduled-query:${spec.name}`,
      request,
    );
    const ttl = new Map(
      scalars.map((f) => [f.fqn, f.maxStalenessS ? f.maxStalenessS * 1000 : undefined] as const),
    );
    const job = finish(
      trigger.environment,
      spec,
      revision,
      { pkeys, times, fqns: spec.output.filter((fqn) => !recomputed.has(fqn)), ttl },
      reached,
    )
      .catch((error: unknown) =>
        options.logger?.error({ scheduled_query: spec.name, err: error }, 'scheduled query not stored'),
      )
      .finally(() => running.delete(job));
    running.add(job);
    return { revisionId: revision.revision_id, entities: pkeys.length };
  };

  return {
    async trigger(message) {
      const trigger = ScheduledQueryTriggerSchema.parse(message);
      // Claims are serialised in process: a redelivered trigger answers what the first one started.
      const claimed = claims.then(async () => {
        const path = keyPath(trigger.environment, trigger.idempotency_key);
        const held = await readJson<ScheduledQueryStart>(path);
        if (held) return held;
        const started = await start(trigger);
        await options.objectStore.put('data', path, JSON.stringify(started), {
          contentType: 'application/json',
        });
        return started;
      });
      claims = claimed.catch(() => undefined);
      return claimed;
    },
    async idle() {
      while (running.size > 0) await Promise.all(running);
    },
  };
}
