import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { SlateError } from '@slate/graph';
import { z } from 'zod';

/** Where the metadata plane listens when nothing says otherwise (`slate up`'s default). */
export const DEFAULT_API_SERVER = 'http://127.0.0.1:4000';

/** The file `slate up` writes: `.slate/credentials.json`. */
export const CredentialsFileSchema = z.object({
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  api_server: z.url().optional(),
  environment: z.string().min(1).optional(),
  query_server: z.url().optional(),
});
export type CredentialsFile = z.infer<typeof CredentialsFileSchema>;

/** Resolved credentials; spread straight into `createSlateClient`. */
export interface Credentials {
  readonly apiServer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly environment?: string;
  readonly queryServer?: string;
  /** Where the client id came from, for messages: `options`, `env:<NAME>` or a file path. */
  readonly source: string;
}

/** Explicit settings (CLI flags); each one beats the environment and the file. */
export interface CredentialOverrides {
  readonly apiServer?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly environment?: string;
  readonly queryServer?: string;
}

export interface LoadCredentialsOptions extends CredentialOverrides {
  /** Where the upward search for `.slate/credentials.json` starts. */
  readonly cwd: string;
  /** Variables to read (default `process.env`); pass `{}` to ignore the environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * A credentials file read when the upward search finds none: the CLI passes the one `slate login`
   * saves (`~/.slate/credentials.json`, or under `SLATE_CONFIG_DIR`).
   */
  readonly fallbackFile?: string;
}

/** Variable names per setting, Slate's first, then Chalk's (chalk.md §3.2). */
const ENV_NAMES = {
  clientId: ['SLATE_CLIENT_ID', '_CHALK_CLIENT_ID'],
  clientSecret: ['SLATE_CLIENT_SECRET', '_CHALK_CLIENT_SECRET'],
  apiServer: ['SLATE_API_SERVER', '_CHALK_API_SERVER'],
  environment: ['SLATE_ENVIRONMENT', '_CHALK_ACTIVE_ENVIRONMENT'],
  queryServer: ['SLATE_QUERY_SERVER', '_CHALK_QUERY_SERVER'],
} as const satisfies Record<keyof CredentialOverrides, readonly string[]>;

type Setting = keyof typeof ENV_NAMES;

/**
 * Finds credentials the way the CLI does. Each setting is taken from, in order: the explicit option,
 * the first set variable of `SLATE_*` / `_CHALK_*`, the nearest `.slate/credentials.json` found walking up
 * from `cwd`, else `fallbackFile`. The file is read only when the id or secret is still missing. `apiServer` falls back to
 * `DEFAULT_API_SERVER`.
 *
 * @throws SlateError `authentication`/`NO_CREDENTIALS` naming every place searched, when no client id and
 *   secret are found; `input`/`INVALID_CREDENTIALS_FILE` when the file is not valid JSON of the right shape.
 * @example
 * const client = createSlateClient(await loadCredentials({ cwd: process.cwd() }));
 */
export async function loadCredentials(options: LoadCredentialsOptions): Promise<Credentials> {
  const env = options.env ?? process.env;
  const fromEnv = (setting: Setting): { value: string; name: string } | undefined => {
    for (const name of ENV_NAMES[setting]) {
      const value = env[name];
      if (value) return { value, name };
    }
    return undefined;
  };
  const pick = (setting: Setting) => options[setting] || fromEnv(setting)?.value;

  let file: { path: string; content: CredentialsFile } | undefined;
  const searched: string[] = [];
  if (!pick('clientId') || !pick('clientSecret')) {
    file = await findCredentialsFile(options.cwd, searched);
    if (!file && options.fallbackFile && !searched.includes(options.fallbackFile)) {
      searched.push(options.fallbackFile);
      file = await readCredentialsFile(options.fallbackFile);
    }
  }
  const clientId = pick('clientId') ?? file?.content.client_id;
  const clientSecret = pick('clientSecret') ?? file?.content.client_secret;
  if (!clientId || !clientSecret) {
    const names = [...ENV_NAMES.clientId, ...ENV_NAMES.clientSecret].join(', ');
    throw new SlateError(
      'authentication',
      'NO_CREDENTIALS',
      `no client credentials found: pass --client-id/--client-secret, set ${names}, or run \`slate up\` ` +
        `to write .slate/credentials.json (searched ${searched.join(', ')})`,
      { searched },
    );
  }
  const source = options.clientId
    ? 'options'
    : (fromEnv('clientId') && `env:${fromEnv('clientId')?.name}`) || file?.path || 'options';
  const environment = pick('environment') ?? file?.content.environment;
  const queryServer = pick('queryServer') ?? file?.content.query_server;
  return {
    apiServer: pick('apiServer') ?? file?.content.api_server ?? DEFAULT_API_SERVER,
    clientId,
    clientSecret,
    ...(environment ? { environment } : {}),
    ...(queryServer ? { queryServer } : {}),
    source,
  };
}

/** The nearest `.slate/credentials.json` at or above `cwd`; records each path tried in `searched`. */
async function findCredentialsFile(
  cwd: string,
  searched: string[],
): Promise<{ path: string; content: CredentialsFile } | undefined> {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const path = join(dir, '.slate', 'credentials.json');
    searched.push(path);
    const found = await readCredentialsFile(path);
    if (found) return found;
    if (dirname(dir) === dir) return undefined;
  }
}

/** One credentials file, or `undefined` when there is none at `path`. */
async function readCredentialsFile(
  path: string,
): Promise<{ path: string; content: CredentialsFile } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return { path, content: parseCredentialsFile(path, text) };
}

function parseCredentialsFile(path: string, text: string): CredentialsFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SlateError('input', 'INVALID_CREDENTIALS_FILE', `${path} is not valid JSON`, { path });
  }
  const parsed = CredentialsFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new SlateError('input', 'INVALID_CREDENTIALS_FILE', `${path}: ${problems.join('; ')}`, {
      path,
      issues: problems,
    });
  }
  return parsed.data;
}
