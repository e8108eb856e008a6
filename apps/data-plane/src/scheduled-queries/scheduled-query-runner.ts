import { createHash } from 'node:crypto';
import type { ScheduledQuerySpec } from '@slate/graph';
import type { ObjectStore, OfflineStore } from '@slate/stores';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import type { OfflineQueryService, RevisionRecord } from '../offline/offline-query-service.ts';
import type { ResultPublisher } from '../persistence/result-publisher.ts';
import { readDataJson, type ScheduledJob, ScheduledJobSchema } from './scheduled-query-job.ts';
import { storeScheduledQueryResults } from './scheduled-query-results.ts';
import { submitScheduledQuery } from './scheduled-query-submit.ts';

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

const TERMINAL = new Set<RevisionRecord['status']>(['COMPLETED', 'FAILED']);

const hashOf = (key: string) => createHash('sha256').update(key).digest('hex');
/** The lease of the replica finishing a job, among the replicas of its data plane. */
const leaseKey = (env: string, key: string) => `scheduled-query:${env}/${hashOf(key)}`;
/** Where a trigger's job is kept (the `data` bucket), by idempotency key. */
const keyPath = (env: string, key: string) => `scheduled-queries/${env}/keys/${hashOf(key)}.json`;

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
  const readJson = <T>(path: string) => readDataJson<T>(options.objectStore, path);

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
    await storeScheduledQueryResults(
      { ...options, clock },
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

  const start = async (trigger: z.output<typeof ScheduledQueryTriggerSchema>): Promise<ScheduledJob> => {
    const job = await submitScheduledQuery(options, trigger);
    if (!job.done && options.claim)
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
