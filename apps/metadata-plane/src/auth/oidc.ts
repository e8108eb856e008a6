import { SlateError } from '@slate/graph';
import type { Kysely } from 'kysely';
import * as client from 'openid-client';
import { z } from 'zod';
import type { Database } from '../db/schema.ts';
import { sha256Hex } from '../ids.ts';

/** One OpenID Connect identity provider, found by discovery from its issuer URL. */
export const OidcProviderSchema = z.object({
  /** Path segment of its login URL: `/v1/auth/oidc/<id>/login`. */
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/),
  /** Shown on the login page. */
  name: z.string().min(1),
  /** Issuer URL (`https://accounts.google.com`, an Okta/Azure AD/Keycloak issuer). */
  issuer: z.url(),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  /** Allow an `http:` issuer (local test providers only). Default false. */
  allowInsecure: z.boolean().default(false),
});
export type OidcProviderConfig = z.input<typeof OidcProviderSchema>;

/** Google as the install guide configures it (`GOOGLE_CLIENT_ID` / `GOOGLE_CLIENT_SECRET`). */
export function googleProvider(clientId: string, clientSecret: string): OidcProviderConfig {
  return { id: 'google', name: 'Google', issuer: 'https://accounts.google.com', clientId, clientSecret };
}

/** How long a started login may take before its state is forgotten. */
export const LOGIN_TRANSACTION_TTL_MS = 10 * 60 * 1000;

/** Authorization-code + PKCE logins against the configured providers. */
export interface OidcLogin {
  readonly providers: readonly { id: string; name: string }[];
  /** Starts a login: remembers state, nonce and PKCE verifier; returns where to send the browser. */
  begin(providerId: string, returnTo: string, now: Date): Promise<{ url: string; state: string }>;
  /**
   * Finishes a login from the provider's redirect: checks state (and that it is this browser's), PKCE,
   * the id token and its nonce. Returns the verified email and where to go next.
   * @throws SlateError authentication `OIDC_LOGIN_FAILED` / `OIDC_EMAIL_UNVERIFIED`
   */
  complete(
    providerId: string,
    callbackUrl: URL,
    browserState: string | undefined,
    now: Date,
  ): Promise<{ email: string; returnTo: string }>;
}

export function createOidcLogin(
  db: Kysely<Database>,
  apiServer: string,
  configs: readonly OidcProviderConfig[],
): OidcLogin {
  const providers = configs.map((c) => OidcProviderSchema.parse(c));
  // Discovery is lazy and cached: the API starts even when an issuer is unreachable, and a failed
  // discovery is retried on the next login instead of being cached.
  const discovered = new Map<string, Promise<client.Configuration>>();
  const provider = (id: string) => {
    const found = providers.find((p) => p.id === id);
    if (!found) throw new SlateError('not_found', 'OIDC_PROVIDER_NOT_FOUND', `no identity provider '${id}'`);
    return found;
  };
  const configuration = (id: string) => {
    const p = provider(id);
    let pending = discovered.get(id);
    if (!pending) {
      pending = client
        .discovery(
          new URL(p.issuer),
          p.clientId,
          p.clientSecret,
          undefined,
          p.allowInsecure ? { execute: [client.allowInsecureRequests] } : undefined,
        )
        .catch((error: unknown) => {
          discovered.delete(id);
          throw new SlateError(
            'unavailable',
            'OIDC_DISCOVERY_FAILED',
            `cannot discover ${p.issuer}`,
            undefined,
            {
              cause: error,
            },
          );
        });
      discovered.set(id, pending);
    }
    return pending;
  };
  const redirectUri = (id: string) => `${apiServer}/v1/auth/oidc/${id}/callback`;

  return {
    providers: providers.map((p) => ({ id: p.id, name: p.name })),
    async begin(providerId, returnTo, now) {
      const config = await configuration(providerId);
      const state = client.randomState();
      const nonce = client.randomNonce();
      const verifier = client.randomPKCECodeVerifier();
      await db.deleteFrom('oidc_transactions').where('expires_at', '<', now).execute();
      await db
        .insertInto('oidc_transactions')
        .values({
          state_hash: sha256Hex(state),
          provider: providerId,
          code_verifier: verifier,
          nonce,
          return_to: returnTo,
          expires_at: new Date(now.getTime() + LOGIN_TRANSACTION_TTL_MS),
        })
        .execute();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri(providerId),
        scope: 'openid email profile',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { url: url.href, state };
    },
    async complete(providerId, callbackUrl, browserState, now) {
      const state = callbackUrl.searchParams.get('state');
      const failed = (message: string, cause?: unknown) =>
        new SlateError('authentication', 'OIDC_LOGIN_FAILED', message, undefined, { cause });
      // The state must be the one this browser started with (its cookie), or anyone could complete a
      // login started elsewhere in a victim's browser (login CSRF).
      if (!state || !browserState || state !== browserState) throw failed('the login state does not match');
      const transaction = await db
        .deleteFrom('oidc_transactions')
        .where('state_hash', '=', sha256Hex(state))
        .returningAll()
        .executeTakeFirst();
      if (
        !transaction ||
        transaction.provider !== providerId ||
        transaction.expires_at.getTime() < now.getTime()
      ) {
        throw failed('the login expired or was already used; start again');
      }
      const config = await configuration(providerId);
      let claims: Record<string, unknown> | undefined;
      try {
        const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: transaction.code_verifier,
          expectedState: state,
          expectedNonce: transaction.nonce,
          idTokenExpected: true,
        });
        const idToken = tokens.claims();
        claims = idToken;
        // Google puts the email in the ID token; many providers only in the userinfo response.
        if (idToken && typeof idToken.email !== 'string') {
          claims = { ...(await client.fetchUserInfo(config, tokens.access_token, idToken.sub)), ...idToken };
        }
      } catch (error) {
        throw failed('the identity provider did not confirm the login', error);
      }
      const email = typeof claims?.email === 'string' ? claims.email : undefined;
      if (!email || claims?.email_verified === false) {
        throw new SlateError(
          'authentication',
          'OIDC_EMAIL_UNVERIFIED',
          'the identity provider gave no verified email',
        );
      }
      return { email, returnTo: transaction.return_to };
    },
  };
}
