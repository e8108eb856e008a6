import { z } from 'zod';
import { environmentIdOf } from './catalog-api.ts';
import type { CallOptions, SlateClient } from './slate-client.ts';

/** An incident opened by an alert trigger or a drift check (`GET /v1/environments/:id/incidents`). */
export const IncidentSchema = z.looseObject({
  id: z.string(),
  check: z.string(),
  kind: z.string(),
  group: z.string(),
  trigger: z.string(),
  severity: z.string(),
  owner: z.string(),
  description: z.string().nullable(),
  status: z.enum(['open', 'resolved']),
  acknowledged: z.boolean(),
  acked_by: z.string().nullable(),
  value: z.number().nullable(),
  peak_value: z.number().nullable(),
  threshold: z.number(),
  direction: z.string(),
  opened_at: z.string(),
  resolved_at: z.string().nullable(),
  series: z.array(z.object({ at: z.string(), value: z.number().nullable() })),
});
export type Incident = z.infer<typeof IncidentSchema>;

type EnvOptions = CallOptions & { readonly environmentId?: string };

const path = async (client: SlateClient, options: EnvOptions) =>
  `/v1/environments/${encodeURIComponent(options.environmentId ?? (await environmentIdOf(client, options)))}`;

/**
 * The environment's incidents, newest first.
 * @example
 * const open = await listIncidents(client, { status: 'open' });
 */
export async function listIncidents(
  client: SlateClient,
  filter: { readonly status?: 'open' | 'resolved'; readonly limit?: number } = {},
  options: EnvOptions = {},
): Promise<Incident[]> {
  const query = new URLSearchParams();
  if (filter.status) query.set('status', filter.status);
  if (filter.limit) query.set('limit', String(filter.limit));
  const answer = await client.request({
    method: 'GET',
    target: 'api',
    path: `${await path(client, options)}/incidents?${query}`,
    schema: z.object({ items: z.array(IncidentSchema) }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return answer.items;
}

/** Acknowledges an incident (it stays open until its trigger clears). @throws SlateError not_found. */
export async function ackIncident(
  client: SlateClient,
  id: string,
  options: EnvOptions = {},
): Promise<Incident> {
  return client.request({
    method: 'POST',
    target: 'api',
    path: `${await path(client, options)}/incidents/${encodeURIComponent(id)}/ack`,
    schema: IncidentSchema,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
