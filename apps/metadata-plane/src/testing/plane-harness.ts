import type { MetadataPlane } from '../metadata-plane.ts';

type Json = Record<string, unknown>;

/** A response, parsed. */
export interface Answer {
  readonly status: number;
  readonly body: Json;
  readonly raw: string;
  readonly headers: Record<string, unknown>;
  readonly cookies: { name: string; value: string }[];
}

/** Who calls: a bearer token, a session cookie (the CSRF header is added on mutations), or nobody. */
export type Caller = { token: string } | { cookie: string } | null;

/** `app.inject` with JSON in and out, for the suites. */
export function harness(plane: () => MetadataPlane) {
  const call = async (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    caller: Caller = null,
    body?: unknown,
  ): Promise<Answer> => {
    const headers: Record<string, string> = {};
    if (caller && 'token' in caller) headers.authorization = `Bearer ${caller.token}`;
    if (caller && 'cookie' in caller) {
      headers.cookie = caller.cookie;
      if (method !== 'GET') headers['x-slate-csrf'] = '1';
    }
    const res = await plane().app.inject({
      method,
      url,
      headers,
      ...(body !== undefined ? { payload: body as Json } : {}),
    });
    let parsed: Json = {};
    try {
      parsed = res.body ? (JSON.parse(res.body) as Json) : {};
    } catch {
      parsed = {};
    }
    return {
      status: res.statusCode,
      body: parsed,
      raw: res.body,
      headers: res.headers,
      cookies: res.cookies,
    };
  };
  /** Embedded local login; returns a cookie caller. */
  const login = async (email: string): Promise<{ cookie: string }> => {
    const res = await call('POST', '/v1/auth/local-login', null, { email });
    const cookie = res.cookies.find((c) => c.name === 'slate_session');
    if (res.status !== 200 || !cookie) throw new Error(`login ${email} failed: ${res.status} ${res.raw}`);
    return { cookie: `slate_session=${cookie.value}` };
  };
  /** A service token for `environmentId`, exchanged for an access token. */
  const serviceToken = async (environmentId: string, permissions: string[], name = 'test') => {
    const created = await plane().services.createServiceToken({
      environmentId,
      name,
      permissions: permissions as never,
    });
    const res = await call('POST', '/v1/oauth/token', null, {
      client_id: created.clientId,
      client_secret: created.clientSecret,
      grant_type: 'client_credentials',
    });
    if (res.status !== 200) throw new Error(`token exchange failed: ${res.raw}`);
    return { ...created, token: res.body.access_token as string };
  };
  return { call, login, serviceToken };
}

/** Polls `check` until it returns a value other than undefined, or fails after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
