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
  /**
   * Finishes the scheduled queries whose replica stopped after submitting them (their job is not marked
   * done and nobody holds its lease): waits for the offline query — itself taken over by the offline-query
   * service — then stores its online copy and moves its mark. Resolves with the jobs it took.
   */
  recover(): Promise<number>;
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
  /**
   * Claims or renews a job's lease among the replicas (the metadata plane's job lease, in PostgreSQL):
   * the replica finishing a query holds `scheduled-query:<env>/<key hash>`, renewed while it waits; when
   * it stops, `recover` on another replica wins it. Default: none (one process).
   */
  readonly claim?: (key: string, ttlSeconds: number) => Promise<boolean>;
  /** The lease's time (default 60 s): how long a stopped replica's job waits before another finishes it. */
  readonly leaseSeconds?: number;
}

/** What a trigger started, kept under its idempotency key until the query's results are stored. */
const ScheduledJobSchema = z.object({
  revisionId: z.string().nullable(),
  entities: z.number().int().nonnegative(),
  /** False until the online copy and the mark are stored (absent in jobs of earlier versions: done). */
  done: z.boolean().default(true),
  trigger: z
    .object({ query_name: z.string(), environment: z.string(), idempotency_key: z.string() })
    .optional(),
  finish: z
    .object({
      pkeys: z.array(z.string()),
      times: z.array(z.number()),
      fqns: z.array(z.string()),
      ttl: z.array(z.tuple([z.string(), z.number().nullable()])),
      mark: z.number().nullable(),
    })
    .optional(),
});
type ScheduledJob = z.infer<typeof ScheduledJobSchema>;

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
 * Each start is a job kept under its idempotency key (`scheduled-queries/<env>/keys/<sha256>.json`) until
 * its results are stored; the replica finishing it holds its lease. When that replica stops, the offline
 * query is taken over by the offline-query service, and `recover` on another replica finishes the job:
 * the online copy has a fixed message id (`scheduled-query:<revision>:online`) and the mark only moves
 * forward, so finishing twice writes nothing twice. A replica that stops between submitting the offline
 * query and recording the job leaves a query the trigger's redelivery starts again.
 *
 * @example
 * const runner = createScheduledQueryRunner({ served, offlineStore, offlineQueries: offline.service, publisher, objectStore });
 * await runner.trigger({ query_name: 'nightly', environment: 'env-1', due_at: '2026-01-01T03:00:00Z', idempotency_key: 'k' });
 */
export function createScheduledQueryRunner(options: ScheduledQueryRunnerOptions): ScheduledQueryRunner {
  const clock = options.clock ?? (() => new Date());
  const scheduledQuery = (environment: string, name: string) =>
    (options.served.get(environment)?.deployment?.engine.graph.scheduledQueries ?? []).find(
      (q) => q.name === name,
    );
  const running = new Set<Promise<void>>();
  let claims: Promise<unknown> = Promise.resolve();
  const leaseSeconds = options.leaseSeconds ?? 60;
  const hashOf = (key: string) => createHash('sha256').update(key).digest('hex');
  const leaseKey = (env: string, key: string) => `scheduled-query:${env}/${hashOf(key)}`;
  const keyPath = (env: string, key: string) => `scheduled-queries/${env}/keys/${hashOf(key)}.json`;
  const markPath = (env: string, name: string) =>
    `scheduled-queries/${env}/marks/${encodeURIComponent(name)}.json`;
  const readJson = async <T>(path: string): Promise<T | null> => {
    const bytes = await options.objectStore.get('data', path);
    return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as T) : null;
  };

  /** Jobs this process is finishing, by key path. */
  const active = new Set<string>();

  /** Waits for the job's offline query, stores its results, then marks the job done. */
  const complete = async (environment: string, spec: ScheduledQuerySpec, path: string, job: ScheduledJob) => {
    const { finish: sampled, trigger } = job;
    if (!sampled || !trigger || job.revisionId === null) return;
    const lease = leaseKey(environment, trigger.idempotency_key);
    let renewedAt = Date.now();
    let record = { revision_id: job.revisionId, status: 'QUEUED' } as RevisionRecord;
    while (!TERMINAL.has(record.status)) {
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
      record = (await options.offlineQueries.revision(environment, job.revisionId)) ?? record;
      if (options.claim && Date.now() - renewedAt > (leaseSeconds * 1000) / 3) {
        // A renewal refused: another replica took the job over (this one was paused past its lease).
        if (!(await options.claim(lease, leaseSeconds).catch(() => true))) return;
        renewedAt = Date.now();
      }
    }
    await finish(
      environment,
      spec,
      record,
      { ...sampled, ttl: new Map(sampled.ttl.map(([fqn, ms]) => [fqn, ms ?? undefined])) },
      sampled.mark,
    );
    await options.objectStore.put('data', path, JSON.stringify({ ...job, done: true }), {
      contentType: 'application/json',
    });
  };

  /** Runs `complete` in the background, once per job in this process. */
  const track = (environment: string, spec: ScheduledQuerySpec, path: string, job: ScheduledJob) => {
    if (active.has(path)) return;
    active.add(path);
    const work = complete(environment, spec, path, job)
      .catch((error: unknown) =>
        options.logger?.error({ scheduled_query: spec.name, err: error }, 'scheduled query not stored'),
      )
      .finally(() => {
        active.delete(path);
        running.delete(work);
      });
    running.add(work);
  };

  const finish = async (
    environment: string,
    spec: ScheduledQuerySpec,
    record: RevisionRecord,
    sampled: { pkeys: string[]; times: number[]; fqns: string[]; ttl: Map<string, number | undefined> },
    mark: number | null,
  ) => {
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

  const start = async (trigger: z.output<typeof ScheduledQueryTriggerSchema>): Promise<ScheduledJob> => {
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
    if (options.claim)
      await options
        .claim(leaseKey(trigger.environment, trigger.idempotency_key), leaseSeconds)
        .catch((err: unknown) => options.logger?.warn({ err }, 'scheduled query lease not taken'));
    return job;
  };

  return {
    async trigger(message) {
      const trigger = ScheduledQueryTriggerSchema.parse(message);
      // Claims are serialised in process: a redelivered trigger answers what the first one started.
      const claimed = claims.then(async (): Promise<ScheduledQueryStart> => {
        const path = keyPath(trigger.environment, trigger.idempotency_key);
        const held = await readJson<unknown>(path);
        if (held) {
          const { revisionId, entities } = ScheduledJobSchema.parse(held);
          return { revisionId, entities };
        }
        const job = await start(trigger);
        await options.objectStore.put('data', path, JSON.stringify(job), {
          contentType: 'application/json',
        });
        const spec = scheduledQuery(trigger.environment, trigger.query_name);
        if (!job.done && spec) track(trigger.environment, spec, path, job);
        return { revisionId: job.revisionId, entities: job.entities };
      });
      claims = claimed.catch(() => undefined);
      return claimed;
    },
    async recover() {
      let taken = 0;
      for (const environment of options.served.list()) {
        if (!environment.deployment) continue;
        for await (const info of options.objectStore.list(
          'data',
          `scheduled-queries/${environment.id}/keys/`,
        )) {
          if (active.has(info.key)) continue;
          const parsed = ScheduledJobSchema.safeParse(await readJson<unknown>(info.key));
          if (!parsed.success || parsed.data.done || !parsed.data.trigger) continue;
          const job = parsed.data;
          const spec = scheduledQuery(environment.id, job.trigger!.query_name);
          if (!spec) continue;
          // Without leases (one process) a job not running here was left by a stopped process.
          if (options.claim) {
            const lease = leaseKey(environment.id, job.trigger!.idempotency_key);
            if (!(await options.claim(lease, leaseSeconds).catch(() => false))) continue;
          }
          options.logger?.warn(
            { scheduled_query: spec.name, revision_id: job.revisionId },
            'scheduled query left unfinished by a stopped replica; finishing it',
          );
          track(environment.id, spec, info.key, job);
          taken++;
        }
      }
      return taken;
    },
    async idle() {
      while (running.size > 0) await Promise.all(running);
    },
  };
}
