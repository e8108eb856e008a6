import { type ScheduledQuerySpec, SlateError } from '@slate/graph';
import type { FeatureRef } from './feature-class.ts';
import { callerLocation } from './source-location.ts';

const scheduledQueryBrand = Symbol.for('slate.scheduledQuery');

export interface ScheduledQueryOptions {
  /** Unique in the deployment: names the schedule (pause, resume) and its runs. */
  readonly name: string;
  /** A UTC crontab (`"0 0 * * *"`) or a duration (`"1d"`, fired on multiples of it since the epoch). */
  readonly schedule: string;
  /** Scalar features of one namespace. */
  readonly output: readonly FeatureRef[];
  /**
   * Outputs recomputed by running resolvers at the scheduled time (`true`: all of them). The others are
   * sampled from the offline store, which with `storeOnline` copies offline values online. Default false.
   */
  readonly recomputeFeatures?: boolean | readonly FeatureRef[];
  /** Write the results to the online store. Default true. */
  readonly storeOnline?: boolean;
  /** Write recomputed results to the offline store. Default true. */
  readonly storeOffline?: boolean;
  /**
   * Each run takes only the entities with values inserted in the offline store since the previous
   * successful run (the first run takes every entity). Default true, as Chalk's scheduled queries.
   */
  readonly incremental?: boolean;
  /** At most this many entities per run. */
  readonly maxSamples?: number;
  readonly tags?: readonly string[];
  readonly requiredResolverTags?: readonly string[];
  readonly description?: string;
  readonly owner?: string;
}

/** An offline query the platform runs on a schedule (Chalk's `ScheduledQuery`). */
export interface ScheduledQuery {
  readonly [scheduledQueryBrand]: ScheduledQuerySpec;
}

/**
 * Declares a scheduled query: on `schedule` (UTC), the data plane runs an offline query of `output` over the
 * entities of their namespace that the offline store knows (incrementally by default) and stores the
 * results online and offline. Export it from the feature repository; `slate apply` deploys it with the
 * graph and the metadata plane schedules it (pause and resume it like scheduled resolvers).
 *
 * @throws SlateError `INVALID_SCHEDULED_QUERY` (input) for no outputs, outputs of several namespaces, or
 *   recomputed features that are not outputs.
 * @example
 * export const nightlyRisk = scheduledQuery({
 *   name: 'nightly_risk',
 *   schedule: '0 3 * * *',
 *   output: [User.risk_score],
 *   recomputeFeatures: true,
 * });
 */
export function scheduledQuery(options: ScheduledQueryOptions): ScheduledQuery {
  const source = callerLocation();
  const output = options.output.map((ref) => ref.fqn);
  const invalid = (message: string) =>
    new SlateError('input', 'INVALID_SCHEDULED_QUERY', `scheduled query '${options.name}': ${message}`, {
      source,
    });
  if (output.length === 0) throw invalid('it needs at least one output');
  const namespaces = new Set(output.map((fqn) => fqn.split('.')[0]));
  if (namespaces.size > 1) throw invalid(`outputs span several namespaces (${[...namespaces].join(', ')})`);
  const recompute = options.recomputeFeatures ?? false;
  const recomputeFeatures = typeof recompute === 'boolean' ? recompute : recompute.map((ref) => ref.fqn);
  if (Array.isArray(recomputeFeatures)) {
    const stray = recomputeFeatures.filter((fqn) => !output.includes(fqn));
    if (stray.length > 0) throw invalid(`recomputed features must be outputs: ${stray.join(', ')}`);
  }
  const spec: ScheduledQuerySpec = {
    name: options.name,
    schedule: options.schedule,
    output,
    recomputeFeatures,
    storeOnline: options.storeOnline ?? true,
    storeOffline: options.storeOffline ?? true,
    incremental: options.incremental ?? true,
    ...(options.maxSamples === undefined ? {} : { maxSamples: options.maxSamples }),
    tags: [...(options.tags ?? [])],
    requiredResolverTags: [...(options.requiredResolverTags ?? [])],
    description: options.description,
    owner: options.owner,
    source,
  };
  return Object.freeze({ [scheduledQueryBrand]: Object.freeze(spec) });
}

export function isScheduledQuery(value: unknown): value is ScheduledQuery {
  return typeof value === 'object' && value !== null && scheduledQueryBrand in value;
}

/** The artifact form of a scheduled query. */
export function scheduledQuerySpec(query: ScheduledQuery): ScheduledQuerySpec {
  return query[scheduledQueryBrand];
}
