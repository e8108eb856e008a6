import { SlateError } from '@slate/graph';
import { httpStatusOf } from '@slate/http-edge';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { recordAudit } from '../../audit/audit-log.ts';
import { loginVerifiedEmail, logout, SESSION_TTL_MS } from '../../auth/users.ts';
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

/** Short-lived cookie binding a started OIDC login to the browser that started it. */
export const OIDC_STATE_COOKIE = 'slate_oidc_state';

/**
 * OIDC login (authorization code + PKCE) with the configured providers. The callback ends in the same
 * `loginVerifiedEmail` as the local login: an invited email joins its team at first login, and an email
 * with neither membership nor invite is refused (no open sign-up).
 */
export function oidcRoutes(router: Router, ctx: MetadataPlaneContext): void {
  const secure = ctx.apiServer.startsWith('https:');
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/auth/providers',
      summary: 'Identity providers this installation logs in with (and whether local login exists)',
      auth: { kind: 'public' },
      handler: async () => ({
        providers: ctx.oidc.providers.map((p) => ({ ...p, login_url: `/v1/auth/oidc/${p.id}/login` })),
        local_login: ctx.mode === 'embedded',
      }),
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/auth/oidc/:provider/login',
      summary: 'Start an OIDC login: redirects to the identity provider',
      auth: { kind: 'public' },
      params: z.object({ provider: z.string().min(1) }),
      query: z.object({
        // Only a same-site path: an absolute URL here would make this an open redirector.
        return_to: z
          .string()
          .regex(/^\/(?![/\\])[^\s]*$/, 'a path on this site')
          .default('/'),
      }),
      handler: async ({ params, query, request, reply }) => {
        let started: { url: string; state: string };
        try {
          started = await ctx.oidc.begin(params.provider, query.return_to, ctx.now());
        } catch (error) {
          return loginFailed(request, reply, error);
        }
        const { url, state } = started;
        // Lax, not Strict: the identity provider's redirect back is a cross-site top-level navigation,
        // on which browsers withhold Strict cookies.
        reply.setCookie(OIDC_STATE_COOKIE, state, {
          httpOnly: true,
          sameSite: 'lax',
          secure,
          path: '/v1/auth/oidc',
          maxAge: 600,
        });
        return reply.redirect(url, 302);
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/auth/oidc/:provider/callback',
      summary: 'Finish an OIDC login (the identity provider redirects here); sets the session cookie',
      auth: { kind: 'public' },
      params: z.object({ provider: z.string().min(1) }),
      audit: 'auth.oidc_login',
      handler: async ({ params, request, reply, auditTarget }) => {
        const callback = new URL(request.url, `${ctx.apiServer}/`);
        // The state is single-use whatever happens next: drop its cookie on failures too.
        reply.clearCookie(OIDC_STATE_COOKIE, { path: '/v1/auth/oidc' });
        let email: string;
        let returnTo: string;
        let session: Awaited<ReturnType<typeof loginVerifiedEmail>>;
        try {
          ({ email, returnTo } = await ctx.oidc.complete(
            params.provider,
            callback,
            request.cookies[OIDC_STATE_COOKIE],
            ctx.now(),
          ));
          auditTarget(email.toLowerCase());
          session = await loginVerifiedEmail(ctx.db, email, ctx.now());
        } catch (error) {
          if (!wantsHtml(request)) throw error;
          // A redirect answers 302, which the audit hook would record as a success: record the refusal here.
          request.slateAuditSkip = true;
          await recordAudit(
            ctx.db,
            {
              principal: 'anonymous',
              action: 'auth.oidc_login',
              target: request.slateAuditTarget,
              ip: request.ip,
              outcome: `failure:${error instanceof SlateError ? httpStatusOf(error.kind) : 500}`,
              traceId: request.id,
              teamId: null,
            },
            ctx.now(),
          ).catch((auditError: unknown) =>
            request.log.error({ err: auditError }, 'could not write the audit log'),
          );
          return loginFailed(request, reply, error);
        }
        reply.setCookie(SESSION_COOKIE, session.cookie, {
          httpOnly: true,
          sameSite: 'strict',
          secure,
          path: '/',
          expires: new Date(ctx.now().getTime() + SESSION_TTL_MS),
        });
        return reply.redirect(returnTo, 302);
      },
    }),
  );
}

/** A top-level browser navigation (it asks for HTML), as opposed to an API client or a test's `fetch`. */
function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

/**
 * Ends a failed OIDC step. A browser goes back to the UI's login page with the error's stable code
 * (`/login?error=UNKNOWN_USER`), which says what happened in words, instead of stranding the user on a JSON
 * body; API clients get the usual error answer. Only the code travels in the URL, never a message or email.
 */
function loginFailed(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  if (!wantsHtml(request) || !(error instanceof SlateError)) throw error;
  request.log.info({ code: error.code }, 'OIDC login refused');
  return reply.redirect(`/login?error=${encodeURIComponent(error.code)}`, 302);
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
