import { SlateError } from '@slate/graph';
import { z } from 'zod';

/** `POST /v1/oauth/device/code`'s answer (RFC 8628 §3.2). */
const StartedSchema = z.object({
  device_code: z.string().min(1),
  user_code: z.string().min(1),
  verification_uri: z.string().url(),
  verification_uri_complete: z.string().url().optional(),
  expires_in: z.number().positive(),
  interval: z.number().positive().optional(),
});

/** The credentials an approved device login hands out once. */
const CredentialsSchema = z.object({
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  environment: z.string().min(1),
  api_server: z.string().optional(),
});
export type DeviceLoginCredentials = z.infer<typeof CredentialsSchema>;

const ErrorBodySchema = z.looseObject({ code: z.string().optional(), error: z.string().optional() });

/** What the device login needs from its surroundings (all injectable for tests). */
export interface DeviceLoginOptions {
  readonly apiServer: string;
  readonly clientName: string;
  readonly fetch: typeof fetch;
  /** Tells the user where to go and which code to check (stderr). */
  readonly notify: (text: string) => void;
  /** Opens the URL in a browser; resolves false when none could be opened. */
  readonly openUrl?: (url: string) => Promise<boolean>;
  /** Waits between polls (default: a timer). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * `slate login` through the browser, by the OAuth 2.0 device authorization grant (RFC 8628): starts a
 * login on the API server, opens the approval page with the code filled in (or prints the URL and code
 * when no browser opens, as on a remote shell), then polls at the server's interval — slower after
 * `slow_down` — until a signed-in user approves it for an environment. Resolves with service-token
 * credentials for that environment.
 *
 * @throws SlateError `authentication`/`LOGIN_DENIED` when the user denied it, `timeout`/`LOGIN_EXPIRED`
 * when the code expired first, `unavailable`/`UNREACHABLE` when the server cannot be reached.
 */
export async function deviceLogin(options: DeviceLoginOptions): Promise<DeviceLoginCredentials> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const post = async (path: string, body: unknown) => {
    const url = new URL(path, options.apiServer);
    try {
      const response = await options.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json().catch(() => null)) as unknown };
    } catch (error) {
      throw new SlateError('unavailable', 'UNREACHABLE', `could not reach ${url.origin}`, undefined, {
        cause: error,
      });
    }
  };
  const start = await post('/v1/oauth/device/code', {
    client_id: 'slate-cli',
    client_name: options.clientName,
  });
  const started = StartedSchema.safeParse(start.body);
  if (!started.success)
    throw new SlateError(
      'unavailable',
      'DEVICE_LOGIN_UNAVAILABLE',
      `${options.apiServer} does not offer a browser login (HTTP ${start.status}): use \`slate login --client-id ID\` with a service token`,
    );
  const { device_code, user_code, verification_uri, verification_uri_complete } = started.data;
  const link = verification_uri_complete ?? verification_uri;
  const opened = options.openUrl ? await options.openUrl(link).catch(() => false) : false;
  options.notify(
    opened
      ? `▸ opened ${link} in your browser: check the code there is ${user_code} and approve\n`
      : `▸ open ${verification_uri} in a browser and enter the code ${user_code}\n  (or go straight to ${link})\n`,
  );
  let interval = (started.data.interval ?? 5) * 1000;
  const deadline = Date.now() + started.data.expires_in * 1000;
  for (;;) {
    await sleep(interval);
    const poll = await post('/v1/oauth/device/token', {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code,
    });
    if (poll.status === 200) {
      const credentials = CredentialsSchema.safeParse(poll.body);
      if (credentials.success) return credentials.data;
      throw new SlateError(
        'unavailable',
        'BAD_RESPONSE',
        'the server answered the login with no credentials',
      );
    }
    const error = ErrorBodySchema.safeParse(poll.body);
    const code = error.success ? (error.data.error ?? error.data.code?.toLowerCase()) : undefined;
    if (code === 'authorization_pending' && Date.now() < deadline) continue;
    if (code === 'slow_down') {
      interval += 5000;
      continue;
    }
    if (code === 'access_denied')
      throw new SlateError('authentication', 'LOGIN_DENIED', 'the login was denied in the browser');
    if (code === 'expired_token' || code === 'authorization_pending')
      throw new SlateError(
        'timeout',
        'LOGIN_EXPIRED',
        'the login code expired before it was approved: run `slate login` again',
      );
    throw new SlateError(
      'unavailable',
      'DEVICE_LOGIN_FAILED',
      `the login failed (HTTP ${poll.status}${code ? `, ${code}` : ''})`,
    );
  }
}
