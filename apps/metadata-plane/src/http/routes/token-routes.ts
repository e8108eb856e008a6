import { SlateError } from '@slate/graph';
import { z } from 'zod';
import { PermissionSchema } from '../../auth/permissions.ts';
import { assertCan } from '../../auth/principal.ts';
import { getEnvironment } from '../../catalog/catalog.ts';
import type { MetadataPlaneContext } from '../../context.ts';
import { PageQuerySchema } from '../../pagination.ts';
import {
  createServiceToken,
  exchangeClientCredentials,
  FeaturePermissionsSchema,
  getServiceToken,
  listServiceTokens,
  revokeServiceToken,
  rotateServiceToken,
} from '../../tokens/service-tokens.ts';
import { defineRoute } from '../route.ts';
import type { Router } from '../router.ts';

function retryAfterOf(error: unknown): number | undefined {
  if (!(error instanceof SlateError)) return undefined;
  const seconds = error.details?.retryAfterSeconds;
  return typeof seconds === 'number' ? seconds : undefined;
}

const IdParams = z.object({ id: z.string().min(1) });

/** Chalk's token request; JSON or form-encoded (RFC 6749 §4.4). */
export const TokenRequestSchema = z.object({
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  grant_type: z.literal('client_credentials'),
});

export const CreateTokenBodySchema = z.object({
  name: z.string().min(1).max(200),
  permissions: z.array(PermissionSchema).min(1),
  /** Optional feature-tag rules (ALLOW / DENY), carried in the token's JWTs for the data plane. */
  feature_permissions: FeaturePermissionsSchema.optional(),
});

export function tokenRoutes(router: Router, ctx: MetadataPlaneContext): void {
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/oauth/token',
      summary: 'Exchange service-token client credentials for an access token (Chalk-compatible)',
      auth: { kind: 'public' },
      body: TokenRequestSchema,
      chalkWire: true,
      audit: 'oauth.token',
      handler: async ({ body, auditTarget, auditTeam, auditPrincipal, request, reply }) => {
        auditTarget(body.client_id);
        const { tokenId, response } = await exchangeClientCredentials(
          ctx.db,
          ctx.keys,
          ctx.clientSecrets,
          ctx.apiServer,
          { clientId: body.client_id, clientSecret: body.client_secret, ip: request.ip },
          ctx.now(),
        ).catch((error: unknown) => {
          // 429 / 503 say when to come back (RFC 9110 §10.2.3); the body keeps Chalk's error shape.
          const retryAfter = retryAfterOf(error);
          if (retryAfter !== undefined) {
            reply.header('retry-after', String(retryAfter));
            request.slateAuditSkip = true;
          }
          throw error;
        });
        // The secret proved who is asking: the entry names the service token, not `anonymous`. A refused
        // attempt stays anonymous (its client id, unproven, is the target).
        auditPrincipal(`token:${tokenId}`);
        auditTeam((await getEnvironment(ctx.db, response.primary_environment)).team_id);
        return response;
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/.well-known/jwks.json',
      summary: 'Public keys that verify access tokens (including rotated-out keys)',
      auth: { kind: 'public' },
      handler: () => ctx.keys.jwks(),
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/environments/:id/tokens',
      summary: 'Create a service token; the secret is returned only here',
      auth: { kind: 'principal', permission: 'tokens.write' },
      params: IdParams,
      body: CreateTokenBodySchema,
      status: 201,
      audit: 'tokens.create',
      handler: async ({ principal, params, body, auditTarget }) => {
        const env = await getEnvironment(ctx.db, params.id);
        const scope = { teamId: env.team_id, environmentId: env.id };
        assertCan(principal, 'tokens.write', scope);
        // No escalation: a caller can grant only permissions it holds in this environment itself.
        for (const permission of body.permissions) assertCan(principal, permission, scope);
        const created = await createServiceToken(ctx.db, {
          environmentId: env.id,
          name: body.name,
          permissions: body.permissions,
          featurePermissions: body.feature_permissions,
        });
        auditTarget(created.id);
        return {
          id: created.id,
          client_id: created.clientId,
          client_secret: created.clientSecret,
          name: body.name,
          environment_id: env.id,
          permissions: [...new Set(body.permissions)].sort(),
          feature_permissions: body.feature_permissions ?? null,
        };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id/tokens',
      summary: "An environment's service tokens (client ids, never secrets)",
      auth: { kind: 'principal', permission: 'tokens.list' },
      params: IdParams,
      query: PageQuerySchema,
      handler: async ({ principal, params, query }) => {
        const env = await getEnvironment(ctx.db, params.id);
        assertCan(principal, 'tokens.list', { teamId: env.team_id, environmentId: env.id });
        return listServiceTokens(ctx.db, env.id, query);
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'DELETE',
      url: '/v1/tokens/:id',
      summary: 'Revoke a service token (effective immediately)',
      auth: { kind: 'principal', permission: 'tokens.write' },
      params: IdParams,
      audit: 'tokens.revoke',
      handler: async ({ principal, params }) => {
        const token = await getServiceToken(ctx.db, params.id);
        const env = await getEnvironment(ctx.db, token.environment_id);
        assertCan(principal, 'tokens.write', { teamId: env.team_id, environmentId: env.id });
        await revokeServiceToken(ctx.db, ctx.notifier, token.id, ctx.now());
        return getServiceToken(ctx.db, token.id);
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/tokens/:id/rotate',
      summary: 'Give a service token a new client secret (shown only here); the old one stops working',
      auth: { kind: 'principal', permission: 'tokens.write' },
      params: IdParams,
      audit: 'tokens.rotate',
      handler: async ({ principal, params }) => {
        const token = await getServiceToken(ctx.db, params.id);
        const env = await getEnvironment(ctx.db, token.environment_id);
        assertCan(principal, 'tokens.write', { teamId: env.team_id, environmentId: env.id });
        const rotated = await rotateServiceToken(ctx.db, ctx.notifier, token.id, ctx.now());
        return { id: rotated.id, client_id: rotated.clientId, client_secret: rotated.clientSecret };
      },
    }),
  );
}
