import { SlateError } from '@slate/graph';
import { z } from 'zod';
import {
  decideDeviceAuthorization,
  describeUserCode,
  pollDeviceAuthorization,
  startDeviceAuthorization,
} from '../../auth/device-authorizations.ts';
import type { MetadataPlaneContext } from '../../context.ts';
import { createRateLimiter, type RateLimiter } from '../../tokens/rate-limiter.ts';
import { defineRoute } from '../route.ts';
import type { Router } from '../router.ts';

/** Where the approval page lives in the web UI (RFC 8628 `verification_uri`). */
export const DEVICE_VERIFICATION_PATH = '/device';

const StartSchema = z.object({
  /** RFC 8628 §3.1 `client_id`: for a public client such as the CLI, only a label. */
  client_id: z.string().max(100).optional(),
  /** Shown on the approval page so the user recognises the device. */
  client_name: z.string().min(1).max(100).optional(),
  scope: z.string().max(200).optional(),
});

const PollSchema = z.object({
  grant_type: z.literal('urn:ietf:params:oauth:grant-type:device_code'),
  device_code: z.string().min(1).max(200),
});

const UserCodeQuery = z.object({ user_code: z.string().min(1).max(20) });

const DecisionSchema = z.object({
  user_code: z.string().min(1).max(20),
  environment_id: z.string().min(1).max(200),
  approve: z.boolean(),
});

function limited(limiter: RateLimiter, key: string, what: string): void {
  const decision = limiter.take(key);
  if (!decision.ok)
    throw new SlateError('rate_limited', 'TOO_MANY_REQUESTS', `too many ${what}: retry later`, {
      retryAfterS: decision.retryAfterSeconds,
    });
}

/**
 * The OAuth 2.0 device authorization grant (RFC 8628) behind `slate login`: the CLI starts a login
 * (`POST /v1/oauth/device/code`), the user approves its code in a signed-in browser on `/device`
 * (`GET /v1/oauth/device`, `POST /v1/oauth/device/decision`), and the CLI polls
 * (`POST /v1/oauth/device/token`) until it receives service-token credentials for the approved environment.
 * Starting is rate-limited per IP and installation-wide, decisions per user (a user code is short), and
 * polling by the grant's own `slow_down`. Waiting polls are not written to the audit log one by one.
 * Poll errors carry RFC 8628 §3.5's names upper-cased as their `code` (`AUTHORIZATION_PENDING`,
 * `SLOW_DOWN`, `EXPIRED_TOKEN`, `ACCESS_DENIED`, `INVALID_GRANT`), all HTTP 400 but `ACCESS_DENIED` (403).
 */
export function deviceRoutes(router: Router, ctx: MetadataPlaneContext): void {
  const startsPerIp = createRateLimiter({ ratePerSecond: 1 / 30, burst: 10 });
  const startsGlobal = createRateLimiter({ ratePerSecond: 20, burst: 200, maxKeys: 1 });
  const decisionsPerUser = createRateLimiter({ ratePerSecond: 1 / 30, burst: 10 });

  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/oauth/device/code',
      summary: 'Start a device login (RFC 8628): a device code for the CLI, a user code for the browser',
      auth: { kind: 'public' },
      body: StartSchema,
      audit: 'oauth.device.start',
      handler: async ({ body, request }) => {
        limited(startsPerIp, request.ip, 'logins started from this address');
        limited(startsGlobal, 'all', 'logins started');
        const started = await startDeviceAuthorization(
          ctx.db,
          body.client_name ?? body.client_id ?? 'slate CLI',
          ctx.now(),
        );
        const verification = new URL(DEVICE_VERIFICATION_PATH, ctx.apiServer);
        const complete = new URL(verification);
        complete.searchParams.set('code', started.userCode);
        return {
          device_code: started.deviceCode,
          user_code: started.userCode,
          verification_uri: verification.toString(),
          verification_uri_complete: complete.toString(),
          expires_in: started.expiresIn,
          interval: started.interval,
        };
      },
    }),
  );

  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/oauth/device/token',
      summary: 'Poll a device login (RFC 8628 §3.4): service-token credentials once approved',
      auth: { kind: 'public' },
      body: PollSchema,
      audit: 'oauth.device.token',
      handler: async ({ body, request, auditPrincipal, auditTarget }) => {
        try {
          const credentials = await pollDeviceAuthorization(ctx.db, body.device_code, ctx.now());
          auditPrincipal(`token:${credentials.tokenId}`);
          auditTarget(credentials.environmentId);
          return {
            client_id: credentials.clientId,
            client_secret: credentials.clientSecret,
            environment: credentials.environmentId,
            api_server: ctx.apiServer,
            token_type: 'client_credentials',
          };
        } catch (error) {
          // A poll that only says "not yet" every 5 s would flood the audit log with anonymous rows.
          if (
            error instanceof SlateError &&
            (error.code === 'AUTHORIZATION_PENDING' || error.code === 'SLOW_DOWN')
          )
            request.slateAuditSkip = true;
          throw error;
        }
      },
    }),
  );

  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/oauth/device',
      summary: 'The pending device login a user code names (for the approval page)',
      auth: { kind: 'principal', permission: 'authenticated' },
      query: UserCodeQuery,
      handler: async ({ principal, query }) => {
        if (principal.kind !== 'user')
          throw new SlateError('not_allowed', 'USER_REQUIRED', 'only a signed-in person approves a login');
        limited(decisionsPerUser, principal.id, 'login codes tried');
        const pending = await describeUserCode(ctx.db, query.user_code, ctx.now());
        return { client_name: pending.clientName, expires_at: pending.expiresAt.toISOString() };
      },
    }),
  );

  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/oauth/device/decision',
      summary: 'Approve or deny a device login for one environment (signed-in users only)',
      auth: { kind: 'principal', permission: 'authenticated' },
      body: DecisionSchema,
      audit: 'oauth.device.decision',
      handler: async ({ principal, body, auditTarget }) => {
        if (principal.kind !== 'user')
          throw new SlateError('not_allowed', 'USER_REQUIRED', 'only a signed-in person approves a login');
        limited(decisionsPerUser, principal.id, 'login codes tried');
        auditTarget(body.environment_id);
        const { permissions } = await decideDeviceAuthorization(
          ctx.db,
          principal,
          { userCode: body.user_code, environmentId: body.environment_id, approve: body.approve },
          ctx.now(),
        );
        return { approved: body.approve, environment_id: body.environment_id, permissions };
      },
    }),
  );
}
