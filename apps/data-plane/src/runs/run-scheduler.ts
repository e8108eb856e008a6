import { dueFireTimes } from '@slate/graph';
import { createSerialTicker } from '@slate/scheduling';
import type { Logger } from 'pino';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import type { RunTriggerMessage } from './run-record.ts';

/** Fires `cron` resolvers of the served deployments by producing trigger messages. */
export interface RunScheduler {
  /** Fires everything due at the clock's time; resolves with the messages it produced. */
  tick(): Promise<RunTriggerMessage[]>;
  /** Ticks every `intervalMs` until `stop`. */
  start(): void;
  stop(): Promise<void>;
}

export interface RunSchedulerOptions {
  readonly served: ServedEnvironments;
  /** Where trigger messages go (the run service's `trigger`, or a queue feeding it). */
  readonly trigger: (message: RunTriggerMessage) => Promise<unknown>;
  /**
   * Claims a fire among replicas (the metadata plane's job lease, keyed by the fire's idempotency key):
   * every `jobs` replica ticks, only the one granted the claim fires. Without it, the run store's
   * idempotency keys dedupe fires within one process only. Default: no claim (one scheduler).
   */
  readonly claim?: (key: string, ttlSeconds: number) => Promise<boolean>;
  /** Injected clock (tests move it by hand). */
  readonly clock?: () => Date;
  /**
   * Due times fired per resolver per tick when the scheduler fell behind (down, or a slow tick): the
   * latest ones, the older ones skipped and logged. Default 1, as a Kubernetes CronJob catching up fires
   * once rather than replaying every missed run.
   */
  readonly maxMissedRuns?: number;
  /** Default 1 s. */
  readonly intervalMs?: number;
  readonly logger?: Logger;
}

/**
 * Creates the scheduler. It re-reads the served deployments on every tick (a redeploy that adds, changes or
 * removes a `cron` takes effect at the next tick) and keeps, per environment and resolver, the last due time
 * it fired; a resolver first seen starts from the time it was seen, so nothing is replayed from before.
 * Each fire is a trigger message with `trigger: 'CRON'` and the idempotency key
 * `cron:<environment>:<resolver>:<due time>`, so a retried tick firing the same due time starts no second
 * run; across replicas (each `jobs` replica ticks) `claim` lets exactly one of them fire it.
 *
 * @example
 * const scheduler = createRunScheduler({ served, trigger: (m) => runs.trigger(m) });
 * scheduler.start();
 */
/** How long a replica holds a fire it claimed (other replicas tick for the same due time within it). */
const FIRE_CLAIM_SECONDS = 600;

export function createRunScheduler(options: RunSchedulerOptions): RunScheduler {
  const clock = options.clock ?? (() => new Date());
  const maxMissed = Math.max(1, options.maxMissedRuns ?? 1);
  const lastDue = new Map<string, { schedule: string; at: Date }>();

  const tick = async (): Promise<RunTriggerMessage[]> => {
    const now = clock();
    const messages: RunTriggerMessage[] = [];
    const seen = new Set<string>();
    for (const environment of options.served.list()) {
      for (const resolver of environment.deployment?.engine.graph.resolvers ?? []) {
        if (!resolver.cron || resolver.stream) continue;
        const key = `${environment.id}\u0000${resolver.fqn}`;
        seen.add(key);
        const last = lastDue.get(key);
        if (!last || last.schedule !== resolver.cron) {
          lastDue.set(key, { schedule: resolver.cron, at: now });
          continue;
        }
        let due: readonly Date[];
        let skipped: number;
        try {
          ({ due, skipped } = dueFireTimes(resolver.cron, last.at, now, maxMissed));
        } catch (error) {
          options.logger?.warn({ resolver: resolver.fqn, err: error }, 'unusable cron schedule');
          continue;
        }
        if (skipped > 0)
          options.logger?.warn(
            { resolver: resolver.fqn, environment: environment.id, skipped },
            'missed scheduled runs skipped',
          );
        if (due.length === 0) continue;
        lastDue.set(key, { schedule: resolver.cron, at: due[due.length - 1]! });
        for (const at of due)
          messages.push({
            resolver_fqn: resolver.fqn,
            environment: environment.id,
            lower_bound: null,
            upper_bound: null,
            idempotency_key: `cron:${environment.id}:${resolver.fqn}:${at.toISOString()}`,
            trigger: 'CRON',
          });
      }
    }
    for (const key of lastDue.keys()) if (!seen.has(key)) lastDue.delete(key);
    const fired: RunTriggerMessage[] = [];
    for (const message of messages) {
      try {
        // The lease outlives the ticks of every replica for this due time; a claim that fails (metadata
        // plane unreachable) skips the fire rather than risk two runs.
        if (options.claim && !(await options.claim(message.idempotency_key!, FIRE_CLAIM_SECONDS))) continue;
        await options.trigger(message);
        fired.push(message);
      } catch (error) {
        options.logger?.error({ resolver: message.resolver_fqn, err: error }, 'scheduled run not started');
      }
    }
    return fired;
  };

  return createSerialTicker(tick, { intervalMs: options.intervalMs });
}
