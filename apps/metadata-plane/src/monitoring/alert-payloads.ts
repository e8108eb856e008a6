import { createHmac } from 'node:crypto';

/** What an alert says, whatever receives it. */
export interface AlertEvent {
  readonly event: 'trigger' | 'resolve' | 'test';
  readonly incidentId: string;
  readonly environmentId: string;
  readonly check: string;
  readonly trigger: string;
  readonly group: string;
  readonly severity: string;
  readonly owner: string;
  readonly description: string | null;
  readonly value: number | null;
  readonly threshold: number;
  readonly direction: 'above' | 'below';
  readonly openedAt: string;
  readonly resolvedAt: string | null;
  /** Where a person can see it (the web UI's incidents page). */
  readonly link: string;
}

/** A route's target once opened: never stored or returned in clear. */
export type RouteTarget =
  | { readonly type: 'webhook'; readonly url: string; readonly secret?: string }
  | { readonly type: 'slack'; readonly url: string }
  | { readonly type: 'pagerduty'; readonly routingKey: string; readonly url: string };

/** PagerDuty Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/). */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

export interface OutgoingRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const summaryOf = (e: AlertEvent) => {
  const where = e.group ? ` (${e.group})` : '';
  const value = e.value === null ? 'no value' : Number(e.value.toPrecision(6)).toString();
  const state = e.event === 'resolve' ? 'resolved' : e.event === 'test' ? 'test alert' : 'firing';
  return `[${e.severity.toUpperCase()}] ${e.trigger}${where} ${state}: ${value} ${e.direction} ${e.threshold}`;
};

/**
 * The request each route type documents:
 * - `webhook`: Slate's JSON (`{ version, event, incident }`), signed `X-Slate-Signature: sha256=<hex HMAC
 *   of the body>` with the route's secret when it has one; `X-Slate-Delivery` names the delivery so a
 *   receiver can drop a retried duplicate.
 * - `slack`: an incoming-webhook message (`{ text, blocks }`, https://api.slack.com/messaging/webhooks).
 * - `pagerduty`: an Events v2 `trigger` / `resolve` with `dedup_key` = the incident id (PagerDuty merges
 *   retried triggers and resolves the right incident).
 */
export function alertRequest(target: RouteTarget, event: AlertEvent, deliveryId: string): OutgoingRequest {
  const json = { 'content-type': 'application/json' };
  if (target.type === 'slack') {
    const text = summaryOf(event);
    const details = [
      `*${event.check}* in \`${event.environmentId}\` — owner ${event.owner}`,
      event.description ?? '',
      `<${event.link}|Open the incident>`,
    ].filter(Boolean);
    return {
      url: target.url,
      headers: json,
      body: JSON.stringify({
        text,
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: `*${text}*` } },
          { type: 'section', text: { type: 'mrkdwn', text: details.join('\n') } },
        ],
      }),
    };
  }
  if (target.type === 'pagerduty') {
    const body =
      event.event === 'resolve'
        ? { routing_key: target.routingKey, event_action: 'resolve', dedup_key: event.incidentId }
        : {
            routing_key: target.routingKey,
            event_action: 'trigger',
            dedup_key: event.incidentId,
            payload: {
              summary: summaryOf(event).slice(0, 1024),
              source: `slate/${event.environmentId}`,
              severity: event.severity,
              timestamp: event.openedAt,
              component: event.group || undefined,
              group: event.check,
              class: event.trigger,
              custom_details: {
                value: event.value,
                threshold: event.threshold,
                direction: event.direction,
                owner: event.owner,
                description: event.description,
              },
            },
            client: 'Slate',
            client_url: event.link,
          };
    return { url: target.url, headers: json, body: JSON.stringify(body) };
  }
  const body = JSON.stringify({
    version: 1,
    event: event.event,
    summary: summaryOf(event),
    incident: {
      id: event.incidentId,
      environment_id: event.environmentId,
      check: event.check,
      trigger: event.trigger,
      group: event.group,
      severity: event.severity,
      owner: event.owner,
      description: event.description,
      value: event.value,
      threshold: event.threshold,
      direction: event.direction,
      opened_at: event.openedAt,
      resolved_at: event.resolvedAt,
      link: event.link,
    },
  });
  const headers: Record<string, string> = {
    ...json,
    'x-slate-delivery': deliveryId,
    'x-slate-event': event.event,
  };
  if (target.secret)
    headers['x-slate-signature'] = `sha256=${createHmac('sha256', target.secret).update(body).digest('hex')}`;
  return { url: target.url, headers, body };
}

/**
 * Sends one request; resolves when the receiver answered 2xx.
 * @throws Error with the status or network error otherwise (the caller retries).
 */
export async function sendAlertRequest(request: OutgoingRequest, timeoutMs = 10_000): Promise<void> {
  const response = await fetch(request.url, {
    method: 'POST',
    headers: request.headers,
    body: request.body,
    redirect: 'error',
    signal: AbortSignal.timeout(timeoutMs),
  });
  // Drain the body so the connection is reused; receivers' answers are not needed.
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new Error(`the receiver answered ${response.status}`);
}
