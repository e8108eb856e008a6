import { createSerialTicker, type SerialTicker } from '@slate/scheduling';
import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import type { KeyEncryptionKeyProvider } from '../auth/key-encryption.ts';
import type { Database } from '../db/schema.ts';
import { type AlertEvent, alertRequest, sendAlertRequest } from './alert-payloads.ts';
import { openRouteTarget } from './alert-routes.ts';

export interface AlertDeliveryOptions {
  readonly db: Kysely<Database>;
  readonly kek: KeyEncryptionKeyProvider;
  readonly clock: () => Date;
  /** Public URL of the web UI / API, for links in alerts. */
  readonly linkBase: string;
  /** Attempts before a delivery is dead-lettered. Default 6 (about a minute of backoff in all). */
  readonly maxAttempts?: number;
  /** Deliveries sent per pass, at once (bounds the in-flight requests). Default 16. */
  readonly batch?: number;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  readonly logger?: Logger;
}

/** What one pass did. */
export interface DeliveryPass {
  readonly delivered: number;
  readonly failed: number;
  readonly dead: number;
}

/** Seconds before attempt n+1: 2, 4, 8, … capped at 5 minutes. */
export const backoffSeconds = (attempts: number) => Math.min(300, 2 ** attempts);

/** How long a claimed delivery stays hidden from other replicas while being sent. */
const CLAIM_S = 60;

/**
 * Sends pending alert deliveries (one incident event to one route). Each pass claims up to `batch` due
 * deliveries — moving their next attempt past the send (`FOR UPDATE SKIP LOCKED`: replicas claim
 * different rows, and a replica that dies mid-send lets the claim lapse) — sends them, and marks each
 * `delivered`, or retries it after `backoffSeconds`, or after `maxAttempts` marks it `dead` (the dead
 * letter: listed by `GET …/alert-deliveries?status=dead`, kept with its last error). A receiver sees an
 * event at least once; `X-Slate-Delivery` / PagerDuty's `dedup_key` let it drop a retried duplicate.
 */
export function createAlertDelivery(options: AlertDeliveryOptions): SerialTicker<DeliveryPass> {
  const maxAttempts = options.maxAttempts ?? 6;
  const batch = options.batch ?? 16;
  const pass = async (): Promise<DeliveryPass> => {
    const now = options.clock();
    const claimed = await sql<{
      id: string;
      incident_id: string;
      route_id: string;
      event: 'trigger' | 'resolve';
      attempts: number;
    }>`
      UPDATE alert_deliveries SET attempts = attempts + 1, next_attempt_at = ${new Date(now.getTime() + CLAIM_S * 1000)}
      WHERE id IN (
        SELECT id FROM alert_deliveries WHERE status = 'pending' AND next_attempt_at <= ${now}
        ORDER BY next_attempt_at, id LIMIT ${batch} FOR UPDATE SKIP LOCKED)
      RETURNING id, incident_id, route_id, event, attempts`.execute(options.db);
    const outcomes = await Promise.all(
      claimed.rows.map(async (delivery) => {
        try {
          const incident = await options.db
            .selectFrom('incidents')
            .selectAll()
            .where('id', '=', delivery.incident_id)
            .executeTakeFirstOrThrow();
          const target = await openRouteTarget(
            options.db,
            options.kek,
            incident.environment_id,
            delivery.route_id,
          );
          const event: AlertEvent = {
            event: delivery.event,
            incidentId: incident.id,
            environmentId: incident.environment_id,
            check: incident.check_name,
            trigger: incident.trigger_name,
            group: incident.group_key,
            severity: incident.severity,
            owner: incident.owner,
            description: incident.description,
            value: incident.value,
            threshold: incident.threshold,
            direction: incident.direction,
            openedAt: incident.opened_at.toISOString(),
            resolvedAt: incident.resolved_at?.toISOString() ?? null,
            link: `${options.linkBase}/environments/${encodeURIComponent(incident.environment_id)}/incidents?id=${incident.id}`,
          };
          await sendAlertRequest(alertRequest(target, event, delivery.id), options.timeoutMs);
          await options.db
            .updateTable('alert_deliveries')
            .set({ status: 'delivered', delivered_at: options.clock(), last_error: null })
            .where('id', '=', delivery.id)
            .execute();
          return 'delivered' as const;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          const dead = delivery.attempts >= maxAttempts;
          await options.db
            .updateTable('alert_deliveries')
            .set({
              status: dead ? 'dead' : 'pending',
              last_error: message.slice(0, 1_000),
              next_attempt_at: new Date(options.clock().getTime() + backoffSeconds(delivery.attempts) * 1000),
            })
            .where('id', '=', delivery.id)
            .execute();
          // The URL is not logged: for Slack it is the secret.
          options.logger?.warn(
            {
              delivery: delivery.id,
              route: delivery.route_id,
              attempt: delivery.attempts,
              dead,
              err: message,
            },
            dead ? 'alert delivery dead-lettered' : 'alert delivery failed, will retry',
          );
          return dead ? ('dead' as const) : ('failed' as const);
        }
      }),
    );
    return {
      delivered: outcomes.filter((o) => o === 'delivered').length,
      failed: outcomes.filter((o) => o === 'failed').length,
      dead: outcomes.filter((o) => o === 'dead').length,
    };
  };
  return createSerialTicker(pass, {
    intervalMs: options.intervalMs ?? 1_000,
    onError: (error) => options.logger?.warn({ err: String(error) }, 'alert delivery pass failed'),
  });
}
