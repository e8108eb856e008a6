import { z } from 'zod';
import { loginVerifiedEmail, logout } from '../../auth/users.ts';
import type { MetadataPlaneContext } from '../../context.ts';
import { defineRoute, SESSION_COOKIE } from '../route.ts';
import type { Router } from '../router.ts';

/**
 * Embedded-mode login by email (no password: the embedded plane runs on the user's own machine).
 * Production deployments get OIDC instead (issue 6), which will end in the same `loginVerifiedEmail`.
 */
export function localLoginRoutes(router: Router, ctx: MetadataPlaneContext): void {
  const secure = ctx.apiServer.startsWith('https:');
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/auth/local-login',
      summary: 'Embedded mode only: log in as a team member or invited email; sets the session cookie',
      auth: { kind: 'public' },
      body: z.object({ email: z.email() }),
      audit: 'auth.local_login',
      handler: async ({ body, reply, auditTarget }) => {
        auditTarget(body.email.toLowerCase());
        const session = await loginVerifiedEmail(ctx.db, body.email, ctx.now());
        reply.setCookie(SESSION_COOKIE, session.cookie, {
          httpOnly: true,
          sameSite: 'strict',
          secure,
          path: '/',
          expires: session.expiresAt,
        });
        return { user: session.user };
      },
    }),
  );
}

export function logoutRoutes(router: Router, ctx: MetadataPlaneContext): void {
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/auth/logout',
      summary: 'End the session and clear its cookie',
      // Public so an expired session can still clear its cookie; it can only end the caller's own session.
      auth: { kind: 'public' },
      handler: async ({ request, reply }) => {
        const cookie = request.cookies[SESSION_COOKIE];
        if (cookie) await logout(ctx.db, cookie);
        reply.clearCookie(SESSION_COOKIE, { path: '/' });
        return { ok: true };
      },
    }),
  );
}
