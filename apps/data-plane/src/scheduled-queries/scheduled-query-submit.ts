import { SlateError } from '@slate/graph';
import type { z } from 'zod';
import { OfflineQueryRequestSchema } from '../offline/offline-query-request.ts';
import { readDataJson, type ScheduledJob, scheduledQueryMarkPath } from './scheduled-query-job.ts';
import type { ScheduledQueryRunnerOptions, ScheduledQueryTriggerSchema } from './scheduled-query-runner.ts';

/**
 * Submits the offline query a scheduled-query trigger asks for and answers the job to keep under its
 * idempotency key: the spine is every primary key of the outputs' namespace with an observation in the
 * offline store (with `incremental`, only those inserted after the stored mark), sampled at the due time.
 * A trigger with nothing to query answers a job that is already done.
 *
 * @throws SlateError `ENVIRONMENT_NOT_FOUND` / `SCHEDULED_QUERY_NOT_FOUND` (not_found),
 *   `INVALID_SCHEDULED_QUERY` (input).
 * @example
 * const job = await submitScheduledQuery({ served, offlineStore, offlineQueries, objectStore }, trigger);
 */
export async function submitScheduledQuery(
  options: Pick<ScheduledQueryRunnerOptions, 'served' | 'offlineStore' | 'offlineQueries' | 'objectStore'>,
  trigger: z.output<typeof ScheduledQueryTriggerSchema>,
): Promise<ScheduledJob> {
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
    ? ((
        await readDataJson<{ inserted_at: number }>(
          options.objectStore,
          scheduledQueryMarkPath(trigger.environment, spec.name),
        )
      )?.inserted_at ?? null)
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
  if (pkeys.length === 0) return { revisionId: null, entities: 0, done: true };
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
  const job: ScheduledJob = {
    revisionId: revision.revision_id,
    entities: pkeys.length,
    done: false,
    trigger: {
      query_name: trigger.query_name,
      environment: trigger.environment,
      idempotency_key: trigger.idempotency_key,
    },
    finish: {
      pkeys,
      times,
      fqns: spec.output.filter((fqn) => !recomputed.has(fqn)),
      ttl: [...ttl].map(([fqn, ms]) => [fqn, ms ?? null] as [string, number | null]),
      mark: reached,
    },
  };
  return job;
}
