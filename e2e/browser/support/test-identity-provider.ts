import type { Server } from 'node:http';
import Provider from 'oidc-provider';

/** An OpenID provider for browser tests, and the client the metadata plane registers as. */
export interface TestIdentityProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  close(): Promise<void>;
}

/**
 * Starts oidc-provider (the certified OpenID Connect server the metadata plane's OIDC suite uses) on
 * `http://localhost:<port>`: a different site from the app on `127.0.0.1`, as a real identity provider is,
 * so SameSite cookie rules apply as in production. Any login name is accepted and becomes the account's
 * verified email; its own login and consent pages are the ones a user would click through.
 */
export function startTestIdentityProvider(options: {
  readonly port: number;
  readonly redirectUris: readonly string[];
}): TestIdentityProvider {
  const issuer = `http://localhost:${options.port}`;
  const clientId = 'slate-browser-tests';
  const clientSecret = 'a-client-secret-for-the-browser-test-provider';
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [...options.redirectUris],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    findAccount: async (_ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, email: id, email_verified: true, name: id.split('@')[0] }),
    }),
    cookies: { keys: ['browser-test-provider-cookie-key'] },
  });
  const server: Server = provider.listen(options.port);
  return {
    issuer,
    clientId,
    clientSecret,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
