import { SlateError } from '@slate/graph';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import {
  type KeyEncryptionKeyProvider,
  KeyEnvelopeSchema,
  openEnvelope,
  sealEnvelope,
} from '../auth/key-encryption.ts';
import type { Database } from '../db/schema.ts';
import { newId } from '../ids.ts';
import { PAGERDUTY_EVENTS_URL, type RouteTarget } from './alert-payloads.ts';

const httpUrl = z
  .url({ protocol: /^https?$/ })
  .max(2_000)
  .describe('an http(s) URL');
const owner = z.string().min(1).max(200);

/** `POST /v1/environments/:id/alert-routes`: the secret parts are written once and never shown back. */
export const CreateRouteBodySchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('webhook'),
    owner,
    url: httpUrl,
    /** Signs each request (`X-Slate-Signature`). */
    secret: z.string().min(16).max(512).optional(),
  }),
  z.object({ type: z.literal('slack'), owner, url: httpUrl }),
  z.object({
    type: z.literal('pagerduty'),
    owner,
    routing_key: z.string().min(8).max(200),
    /** The Events v2 endpoint (default PagerDuty's; an EU account's or a proxy's otherwise). */
    url: httpUrl.default(PAGERDUTY_EVENTS_URL),
  }),
]);
export type CreateRouteBody = z.infer<typeof CreateRouteBodySchema>;

/** What the API shows of a route: its target's host, never its URL path, secret or routing key. */
export interface RouteView {
  readonly id: string;
  readonly environment_id: string;
  readonly owner: string;
  readonly type: 'webhook' | 'slack' | 'pagerduty';
  readonly target: string;
  readonly signed: boolean;
  readonly created_by: string;
  readonly created_at: string;
}

const TargetSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('webhook'), url: z.string(), secret: z.string().optional() }),
  z.object({ type: z.literal('slack'), url: z.string() }),
  z.object({ type: z.literal('pagerduty'), url: z.string(), routingKey: z.string() }),
]);

/** A route's envelope opens only as this route of this environment. */
const routeContext = (environmentId: string, routeId: string) => `alert-route:${environmentId}/${routeId}`;

function view(row: {
  id: string;
  environment_id: string;
  owner: string;
  type: RouteView['type'];
  target_hint: string;
  created_by: string;
  created_at: Date;
}): RouteView {
  const [target = '', signed = ''] = row.target_hint.split('|');
  return {
    id: row.id,
    environment_id: row.environment_id,
    owner: row.owner,
    type: row.type,
    target,
    signed: signed === 'signed',
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
  };
}

/** Stores a route, its target sealed in an AES-256-GCM envelope under the key-encryption key. */
export async function createRoute(
  db: Kysely<Database>,
  kek: KeyEncryptionKeyProvider,
  environmentId: string,
  body: CreateRouteBody,
  by: string,
  now: Date,
): Promise<RouteView> {
  const id = newId('route');
  const target: RouteTarget =
    body.type === 'pagerduty'
      ? { type: 'pagerduty', url: body.url, routingKey: body.routing_key }
      : body.type === 'webhook'
        ? { type: 'webhook', url: body.url, ...(body.secret ? { secret: body.secret } : {}) }
        : { type: 'slack', url: body.url };
  const envelope = await sealEnvelope(
    kek,
    Buffer.from(JSON.stringify(target)),
    routeContext(environmentId, id),
  );
  const hint = `${new URL(body.url).host}|${body.type === 'webhook' && body.secret ? 'signed' : ''}`;
  const row = await db
    .insertInto('alert_routes')
    .values({
      id,
      environment_id: environmentId,
      owner: body.owner,
      type: body.type,
      target_envelope: JSON.stringify(envelope),
      target_hint: hint,
      created_by: by,
      created_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return view(row);
}

export async function listRoutes(db: Kysely<Database>, environmentId: string): Promise<RouteView[]> {
  const rows = await db
    .selectFrom('alert_routes')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(view);
}

/** @throws SlateError not-found `ROUTE_NOT_FOUND`. */
export async function deleteRoute(
  db: Kysely<Database>,
  environmentId: string,
  routeId: string,
): Promise<void> {
  const result = await db
    .deleteFrom('alert_routes')
    .where('environment_id', '=', environmentId)
    .where('id', '=', routeId)
    .executeTakeFirst();
  if (Number(result.numDeletedRows) === 0)
    throw new SlateError('not_found', 'ROUTE_NOT_FOUND', `no alert route ${routeId} in ${environmentId}`);
}

/** The opened target of a route (for sending only). @throws SlateError not-found `ROUTE_NOT_FOUND`. */
export async function openRouteTarget(
  db: Kysely<Database>,
  kek: KeyEncryptionKeyProvider,
  environmentId: string,
  routeId: string,
): Promise<RouteTarget> {
  const row = await db
    .selectFrom('alert_routes')
    .select(['target_envelope'])
    .where('environment_id', '=', environmentId)
    .where('id', '=', routeId)
    .executeTakeFirst();
  if (!row)
    throw new SlateError('not_found', 'ROUTE_NOT_FOUND', `no alert route ${routeId} in ${environmentId}`);
  const plain = await openEnvelope(
    kek,
    KeyEnvelopeSchema.parse(row.target_envelope),
    routeContext(environmentId, routeId),
  );
  return TargetSchema.parse(JSON.parse(plain.toString('utf8')));
}

/** Routes that receive an owner's alerts: the owner's own and the catch-all `*`. */
export async function routesForOwner(db: Kysely<Database>, environmentId: string, ownerName: string) {
  return db
    .selectFrom('alert_routes')
    .select(['id'])
    .where('environment_id', '=', environmentId)
    .where('owner', 'in', [ownerName, '*'])
    .execute();
}
