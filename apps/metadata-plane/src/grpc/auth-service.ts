import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { ConnectError, type ConnectRouter, createContextKey } from '@connectrpc/connect';
import { SlateError } from '@slate/graph';
import { AuthService, GetTokenResponseSchema, grpcStatusOf } from '@slate/grpc-api';
import { httpStatusOf } from '@slate/http-edge';
import type { Logger } from 'pino';
import { z } from 'zod';
import { recordAudit } from '../audit/audit-log.ts';
import { getEnvironment } from '../catalog/catalog.ts';
import type { MetadataPlaneContext } from '../context.ts';
import { exchangeClientCredentials } from '../tokens/service-tokens.ts';

/** The caller's address, set per request by the server (the token endpoint's per-IP limit needs it). */
export const clientIpKey = createContextKey<string>('', { description: 'client IP' });

function noNul(text: string): boolean {
  return !text.includes('\u0000');
}

/** What `GetToken` reads: the same fields and rules as `POST /v1/oauth/token`'s body. */
const GetTokenSchema = z.object({
  // NUL is refused as the HTTP edge refuses it (PostgreSQL text cannot hold it: the lookup failed INTERNAL).
  clientId: z
    .string()
    .min(1, 'client_id is required')
    .refine(noNul, 'client_id must not contain NUL (U+0000)'),
  clientSecret: z
    .string()
    .min(1, 'client_secret is required')
    .refine(noNul, 'client_secret must not contain NUL (U+0000)'),
  grantType: z.literal('client_credentials', { error: 'grant_type must be "client_credentials"' }),
});

export interface AuthServiceOptions {
  readonly ctx: Pick<MetadataPlaneContext, 'db' | 'keys' | 'clientSecrets' | 'apiServer' | 'now'>;
  /** The gRPC address of the data plane whose HTTP URL is given (`grpc_engines` in the answer). */
  readonly grpcEngineOf: (httpUrl: string) => string;
  readonly logger: Logger;
}

/**
 * `chalk.server.v1.AuthService/GetToken`, the seed product's token exchange over gRPC: the same credential
 * check, rate limits (per IP, per client, global; RESOURCE_EXHAUSTED with `retry-after`) and answer as
 * `POST /v1/oauth/token`, plus `grpc_engines` and `expires_at`. Wrong credentials are UNAUTHENTICATED with
 * the HTTP exchange's message. `scope` and a requested `expires_at` are accepted and ignored: Slate issues
 * tokens of one lifetime, scoped by the service token's own permissions.
 *
 * @example
 * connectNodeAdapter({ routes: authServiceRoutes({ ctx, grpcEngineOf, logger }) });
 */
export function authServiceRoutes(options: AuthServiceOptions): (router: ConnectRouter) => void {
  return (router) =>
    router.service(AuthService, {
      async getToken(request, context) {
        const ip = context.values.get(clientIpKey);
        // Audited as the HTTP exchange is (`oauth.token`, the client id as target); attempts shed by a
        // rate limit are not written one by one, so a flood cannot grow the log.
        const audit = async (outcome: string, teamId: string | null, principal = 'anonymous') => {
          try {
            await recordAudit(
              options.ctx.db,
              {
                principal,
                action: 'oauth.token',
                // A refused id with NUL is not stored (PostgreSQL text cannot hold it).
                target: request.clientId && noNul(request.clientId) ? request.clientId : null,
                ip: ip || null,
                outcome,
                traceId: context.requestHeader.get('x-request-id'),
                teamId,
              },
              options.ctx.now(),
            );
          } catch (error) {
            options.logger.error({ err: error }, 'could not write the audit log');
          }
        };
        try {
          const parsed = GetTokenSchema.safeParse(request);
          if (!parsed.success) {
            throw new SlateError(
              'input',
              'INVALID_REQUEST',
              parsed.error.issues.map((issue) => issue.message).join('; '),
            );
          }
          const now = options.ctx.now();
          const { tokenId, response: answer } = await exchangeClientCredentials(
            options.ctx.db,
            options.ctx.keys,
            options.ctx.clientSecrets,
            options.ctx.apiServer,
            {
              clientId: parsed.data.clientId,
              clientSecret: parsed.data.clientSecret,
              ip,
            },
            now,
          );
          await audit(
            'success',
            (await getEnvironment(options.ctx.db, answer.primary_environment)).team_id,
            `token:${tokenId}`,
          );
          return create(GetTokenResponseSchema, {
            accessToken: answer.access_token,
            tokenType: answer.token_type,
            expiresIn: answer.expires_in,
            expiresAt: timestampFromMs(now.getTime() + answer.expires_in * 1000),
            apiServer: answer.api_server,
            primaryEnvironment: answer.primary_environment,
            engines: answer.engines,
            grpcEngines: Object.fromEntries(
              Object.entries(answer.engines).map(([env, url]) => [env, options.grpcEngineOf(url)]),
            ),
            environmentIdToName: answer.environment_id_to_name,
          });
        } catch (error) {
          const shed = error instanceof SlateError && error.details?.retryAfterSeconds !== undefined;
          if (!shed) {
            const kind = error instanceof SlateError ? error.kind : 'internal';
            await audit(`failure:${httpStatusOf(kind)}`, null);
          }
          const status = grpcStatusOf(error, (cause) =>
            options.logger.error({ err: cause }, 'gRPC token exchange failed'),
          );
          throw new ConnectError(status.message, status.code, new Headers(status.metadata), undefined, error);
        }
      },
    });
}
