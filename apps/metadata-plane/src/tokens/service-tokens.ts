import { hash } from '@node-rs/argon2';
import { SlateError } from '@slate/graph';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { KeyRing } from '../auth/key-ring.ts';
import { type Permission, PermissionSchema } from '../auth/permissions.ts';
import type { ServiceTokenPrincipal } from '../auth/principal.ts';
import { getEnvironment } from '../catalog/catalog.ts';
import { bumpEnvironmentRevision } from '../data-planes/data-planes.ts';
import type { RevisionNotifier } from '../data-planes/revision-notifier.ts';
import type { Database, ServiceTokenRow } from '../db/schema.ts';
import { newId, newSecret } from '../ids.ts';
import { decodeCursor, type Page, type PageQuery, toPage } from '../pagination.ts';
import type { ClientSecretVerifier } from './client-secret-verifier.ts';

import { ACCESS_TOKEN_TTL_SECONDS } from './token-lifetime.ts';

export { ACCESS_TOKEN_TTL_SECONDS };

/**
 * Feature-level rules by feature tag (Chalk's `FeaturePermission`, ALLOW / DENY): a tag's rule wins over
 * `default`. The metadata plane only stores them and puts them in the access token (claim
 * `feature_permissions`); the data plane enforces them on queries.
 */
export const FeaturePermissionsSchema = z.object({
  default: z.enum(['ALLOW', 'DENY']).default('ALLOW'),
  tags: z.record(z.string().min(1).max(200), z.enum(['ALLOW', 'DENY'])).default({}),
});
export type FeaturePermissions = z.output<typeof FeaturePermissionsSchema>;

export const CreateServiceTokenSchema = z.object({
  environmentId: z.string().min(1),
  name: z.string().min(1).max(200),
  permissions: z.array(PermissionSchema).min(1),
  featurePermissions: FeaturePermissionsSchema.optional(),
});
export type CreateServiceTokenInput = z.input<typeof CreateServiceTokenSchema>;

/** The new token's credentials. `clientSecret` exists only here: it is stored as an argon2 hash. */
export interface CreatedServiceToken {
  readonly id: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/**
 * Creates a service token scoped to one environment.
 *
 * @throws SlateError('not_found', 'ENVIRONMENT_NOT_FOUND'), ZodError on a malformed input.
 * @example
 * const { clientId, clientSecret } = await createServiceToken(db, { environmentId: 'dev', name: 'ci', permissions: ['deploy.create'] });
 */
export async function createServiceToken(
  db: Kysely<Database>,
  input: CreateServiceTokenInput,
): Promise<CreatedServiceToken> {
  const { environmentId, name, permissions, featurePermissions } = CreateServiceTokenSchema.parse(input);
  await getEnvironment(db, environmentId);
  const id = newId('st');
  const clientId = `token-${newSecret('').slice(0, 32)}`;
  const clientSecret = newSecret('ts-');
  await db
    .insertInto('service_tokens')
    .values({
      id,
      client_id: clientId,
      secret_hash: await hash(clientSecret),
      environment_id: environmentId,
      name,
      permissions: JSON.stringify([...new Set(permissions)].sort()),
      feature_permissions: featurePermissions ? JSON.stringify(featurePermissions) : null,
    })
    .execute();
  return { id, clientId, clientSecret };
}

/**
 * Gives a token a new client secret (same client id). The old secret stops working at once, and
 * access tokens issued before the rotation are refused by this API, and by data planes once their
 * desired state carries the rotation (seconds).
 *
 * @throws SlateError not_found `TOKEN_NOT_FOUND`, conflict `TOKEN_REVOKED`
 */
export async function rotateServiceToken(
  db: Kysely<Database>,
  notifier: RevisionNotifier,
  id: string,
  now: Date,
): Promise<{ id: string; clientId: string; clientSecret: string }> {
  const token = await getServiceToken(db, id);
  if (token.revoked_at) throw new SlateError('conflict', 'TOKEN_REVOKED', `token ${id} is revoked`);
  const clientSecret = newSecret('ts-');
  await db
    .updateTable('service_tokens')
    .set({ secret_hash: await hash(clientSecret), rotated_at: now })
    .where('id', '=', id)
    .execute();
  // Data planes verify JWTs offline: the rotation reaches them in their desired state.
  await bumpEnvironmentRevision(db, notifier, token.environment_id);
  return { id, clientId: token.client_id, clientSecret };
}

/** Wire shape of a token in lists: never the secret or its hash. */
export interface ServiceTokenView {
  readonly id: string;
  readonly client_id: string;
  readonly name: string;
  readonly environment_id: string;
  readonly permissions: string[];
  readonly created_at: string;
  readonly revoked_at: string | null;
  readonly last_used_at: string | null;
  readonly rotated_at: string | null;
  readonly feature_permissions: FeaturePermissions | null;
}

function tokenView(row: ServiceTokenRow): ServiceTokenView {
  return {
    id: row.id,
    client_id: row.client_id,
    name: row.name,
    environment_id: row.environment_id,
    permissions: row.permissions,
    created_at: row.created_at.toISOString(),
    revoked_at: row.revoked_at?.toISOString() ?? null,
    last_used_at: row.last_used_at?.toISOString() ?? null,
    rotated_at: row.rotated_at?.toISOString() ?? null,
    feature_permissions: (row.feature_permissions as FeaturePermissions | null) ?? null,
  };
}

export async function listServiceTokens(
  db: Kysely<Database>,
  environmentId: string,
  page: PageQuery,
): Promise<Page<ServiceTokenView>> {
  let q = db.selectFrom('service_tokens').selectAll().where('environment_id', '=', environmentId);
  if (page.cursor) q = q.where('id', '>', decodeCursor(page.cursor));
  const rows = await q
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  return toPage(rows, page.limit, (r) => r.id, tokenView);
}

/** @throws SlateError('not_found', 'TOKEN_NOT_FOUND') */
export async function getServiceToken(db: Kysely<Database>, id: string): Promise<ServiceTokenView> {
  const row = await db.selectFrom('service_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new SlateError('not_found', 'TOKEN_NOT_FOUND', `token ${id} does not exist`);
  return tokenView(row);
}

/**
 * Revokes a token: its client credentials and every access token issued from it stop working at once on
 * this API, and on data planes as soon as their long poll of the desired state returns (it carries the
 * revocation, see `tokenRevocations`).
 */
export async function revokeServiceToken(
  db: Kysely<Database>,
  notifier: RevisionNotifier,
  id: string,
  now: Date,
): Promise<void> {
  const token = await getServiceToken(db, id);
  if (token.revoked_at) return;
  await db.updateTable('service_tokens').set({ revoked_at: now }).where('id', '=', id).execute();
  await bumpEnvironmentRevision(db, notifier, token.environment_id);
}

/** Chalk's `POST /v1/oauth/token` response (chalk.md §3.2). */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly primary_environment: string;
  readonly engines: Record<string, string>;
  readonly api_server: string;
  readonly environment_id_to_name: Record<string, string>;
}

/** A successful exchange: the answer for the client, and which service token it authenticated as. */
export interface TokenExchange {
  /** The service token's id (`st_…`): the audit log attributes the exchange to `token:<id>`. */
  readonly tokenId: string;
  readonly response: TokenResponse;
}

/**
 * Exchanges client credentials for a signed access token.
 *
 * @throws SlateError('authentication', 'INVALID_CLIENT_CREDENTIALS') for an unknown client id, a wrong
 *   secret or a revoked token (the caller cannot tell which); what `secrets` throws (429 / 503
 *   when the endpoint's limits are reached).
 */
export async function exchangeClientCredentials(
  db: Kysely<Database>,
  keys: KeyRing,
  secrets: ClientSecretVerifier,
  apiServer: string,
  credentials: { clientId: string; clientSecret: string; ip: string },
  now: Date,
): Promise<TokenExchange> {
  // Limits first: a refused attempt costs no database read.
  const check = secrets.admit({
    clientId: credentials.clientId,
    secret: credentials.clientSecret,
    ip: credentials.ip,
  });
  const row = await db
    .selectFrom('service_tokens')
    .innerJoin('environments', 'environments.id', 'service_tokens.environment_id')
    .leftJoin('data_planes', 'data_planes.id', 'environments.data_plane_id')
    .select([
      'service_tokens.id',
      'service_tokens.secret_hash',
      'service_tokens.revoked_at',
      'service_tokens.permissions',
      'service_tokens.feature_permissions',
      'environments.id as environment_id',
      'environments.name as environment_name',
      'environments.team_id',
      'environments.project_id',
      'data_planes.url as engine_url',
    ])
    .where('service_tokens.client_id', '=', credentials.clientId)
    .executeTakeFirst();
  const ok = await check.verify(row?.secret_hash);
  if (!row || !ok || row.revoked_at !== null) {
    throw new SlateError('authentication', 'INVALID_CLIENT_CREDENTIALS', 'Client ID and secret are invalid');
  }
  await db.updateTable('service_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
  const accessToken = await keys.sign(
    {
      sub: row.id,
      client_id: credentials.clientId,
      env: row.environment_id,
      team: row.team_id,
      project: row.project_id,
      perms: row.permissions,
      ...(row.feature_permissions ? { feature_permissions: row.feature_permissions } : {}),
      kind: 'service_token',
    },
    ACCESS_TOKEN_TTL_SECONDS,
  );
  const response: TokenResponse = {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: ACCESS_TOKEN_TTL_SECONDS,
    primary_environment: row.environment_id,
    engines: row.engine_url ? { [row.environment_id]: row.engine_url } : {},
    api_server: apiServer,
    environment_id_to_name: { [row.environment_id]: row.environment_name },
  };
  return { tokenId: row.id, response };
}

/**
 * The principal behind a verified service-token JWT. Re-reads the token row so revocation takes effect
 * immediately rather than when the JWT expires; permissions come from the row, not the claims.
 *
 * @throws SlateError('authentication', 'TOKEN_REVOKED')
 */
export async function serviceTokenPrincipal(
  db: Kysely<Database>,
  tokenId: string,
  issuedAtSeconds?: number,
): Promise<ServiceTokenPrincipal> {
  const row = await db
    .selectFrom('service_tokens')
    .innerJoin('environments', 'environments.id', 'service_tokens.environment_id')
    .select([
      'service_tokens.id',
      'service_tokens.client_id',
      'service_tokens.revoked_at',
      'service_tokens.rotated_at',
      'service_tokens.permissions',
      'environments.id as environment_id',
      'environments.team_id',
      'environments.project_id',
    ])
    .where('service_tokens.id', '=', tokenId)
    .executeTakeFirst();
  if (!row || row.revoked_at !== null) {
    throw new SlateError('authentication', 'TOKEN_REVOKED', 'the service token was revoked');
  }
  // JWT iat has one-second resolution: tokens from the rotation's own second pass (a fresh exchange with
  // the new secret must work at once), anything older is refused.
  if (
    row.rotated_at &&
    issuedAtSeconds !== undefined &&
    issuedAtSeconds < Math.floor(row.rotated_at.getTime() / 1000)
  ) {
    throw new SlateError(
      'authentication',
      'TOKEN_ROTATED',
      'the service token was rotated; exchange the new secret',
    );
  }
  return {
    kind: 'service_token',
    id: row.id,
    clientId: row.client_id,
    environmentId: row.environment_id,
    teamId: row.team_id,
    projectId: row.project_id,
    permissions: new Set(row.permissions as Permission[]),
  };
}
