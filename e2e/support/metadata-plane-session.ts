/**
 * Signing in to a metadata plane the way a user does in embedded mode (the password-less owner login),
 * creating a service token and exchanging it for an access token (a JWT data planes verify).
 */

/** A signed-in browser session: its cookies, for the metadata plane's REST API. */
export async function signIn(apiServer: string, email = 'owner@example.com'): Promise<string> {
  const login = await fetch(`${apiServer}/v1/auth/local-login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-slate-csrf': '1' },
    body: JSON.stringify({ email }),
  });
  if (!login.ok) throw new Error(`local login: ${login.status} ${await login.text()}`);
  return login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

/** A service token's credentials. */
export interface ServiceToken {
  readonly client_id: string;
  readonly client_secret: string;
}

/** Creates a service token for `environment` with `permissions`, as the signed-in `cookie`. */
export async function createServiceToken(
  apiServer: string,
  cookie: string,
  options: { environment?: string; name?: string; permissions: readonly string[] },
): Promise<ServiceToken> {
  const created = await fetch(`${apiServer}/v1/environments/${options.environment ?? 'dev'}/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-slate-csrf': '1', cookie },
    body: JSON.stringify({ name: options.name ?? 'e2e', permissions: options.permissions }),
  });
  if (created.status !== 201) throw new Error(`creating a token: ${created.status} ${await created.text()}`);
  const { client_id, client_secret } = (await created.json()) as ServiceToken;
  return { client_id, client_secret };
}

/** Exchanges a service token for an access token (`client_credentials`). */
export async function accessToken(apiServer: string, token: ServiceToken): Promise<string> {
  const res = await fetch(`${apiServer}/v1/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...token, grant_type: 'client_credentials' }),
  });
  if (!res.ok) throw new Error(`token exchange: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
