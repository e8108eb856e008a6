import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import type { AccessToken, Credentials, TokenCache } from '@slate/client';
import { z } from 'zod';

/** The folder under the credentials folder that holds cached access tokens (mode 0700, files 0600). */
export const TOKENS_FOLDER = 'tokens';

/** One cached token file; anything else found there is ignored (and replaced on the next exchange). */
const CachedTokenSchema = z.object({
  api_server: z.string(),
  client_id: z.string(),
  environment: z.string().nullable(),
  access_token: z.string().min(1),
  token_type: z.string(),
  expires_at: z.iso.datetime(),
  environment_id: z.string().nullable(),
  primary_environment: z.string().nullable(),
  engines: z.record(z.string(), z.string()),
  environment_id_to_name: z.record(z.string(), z.string()),
});

/** Who a cached token belongs to: a token is reused only by the same server, client id and environment. */
export interface TokenCacheKey {
  readonly apiServer: string;
  readonly clientId: string;
  readonly environment?: string;
}

/**
 * The folder a credentials set keeps its tokens in: the folder of the credentials file it came from, else
 * `SLATE_CONFIG_DIR`, else `$HOME/.slate`; `undefined` (no caching) when none is known.
 */
export function credentialsFolder(
  credentials: Pick<Credentials, 'source'>,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (isAbsolute(credentials.source)) return dirname(credentials.source);
  return configFolder(env);
}

/** `SLATE_CONFIG_DIR`, else `$HOME/.slate` (where `slate login` writes); `undefined` without either. */
export function configFolder(env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (env.SLATE_CONFIG_DIR) return env.SLATE_CONFIG_DIR;
  const home = env.HOME ?? env.USERPROFILE;
  return home ? join(home, '.slate') : undefined;
}

/** Where `slate login` saves credentials: `credentials.json` in the config folder, read when no project's is found. */
export function loginCredentialsPath(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const folder = configFolder(env);
  return folder ? join(folder, 'credentials.json') : undefined;
}

/** The file one key's token lives in: a hash, so the file name reveals neither server nor client id. */
export function tokenFilePath(folder: string, key: TokenCacheKey): string {
  const digest = createHash('sha256')
    .update(`${key.apiServer}\0${key.clientId}\0${key.environment ?? ''}`)
    .digest('hex')
    .slice(0, 32);
  return join(folder, TOKENS_FOLDER, `${digest}.json`);
}

/**
 * A `TokenCache` in `<folder>/tokens/<hash>.json`, so consecutive `slate` commands reuse one access token
 * until it expires instead of exchanging (and auditing) a new one each time. The folder is created 0700 and
 * each file written 0600 through a rename, so a reader never sees half a token. Unreadable or foreign
 * files read as "no token"; a failed write is ignored (the command still has its token).
 *
 * @example
 * const client = createSlateClient({ ...credentials, tokenCache: createFileTokenCache(folder, credentials) });
 */
export function createFileTokenCache(folder: string, key: TokenCacheKey): TokenCache {
  const path = tokenFilePath(folder, key);
  const matches = (stored: z.infer<typeof CachedTokenSchema>) =>
    stored.api_server === key.apiServer &&
    stored.client_id === key.clientId &&
    stored.environment === (key.environment ?? null);
  return {
    async read() {
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) return undefined;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return undefined;
      }
      const parsed = CachedTokenSchema.safeParse(json);
      if (!parsed.success || !matches(parsed.data)) return undefined;
      const stored = parsed.data;
      return {
        accessToken: stored.access_token,
        tokenType: stored.token_type,
        expiresAt: new Date(stored.expires_at),
        environmentId: stored.environment_id ?? undefined,
        primaryEnvironment: stored.primary_environment ?? undefined,
        engines: stored.engines,
        environmentIdToName: stored.environment_id_to_name,
      } satisfies AccessToken;
    },
    async write(token) {
      const stored: z.infer<typeof CachedTokenSchema> = {
        api_server: key.apiServer,
        client_id: key.clientId,
        environment: key.environment ?? null,
        access_token: token.accessToken,
        token_type: token.tokenType,
        expires_at: token.expiresAt.toISOString(),
        environment_id: token.environmentId ?? null,
        primary_environment: token.primaryEnvironment ?? null,
        engines: { ...token.engines },
        environment_id_to_name: { ...token.environmentIdToName },
      };
      try {
        await ensurePrivateFolder(dirname(path));
        const temporary = `${path}.${process.pid}.tmp`;
        await writeFile(temporary, JSON.stringify(stored), { mode: 0o600 });
        await chmod(temporary, 0o600);
        await rename(temporary, path);
      } catch {
        // A read-only or full disk costs one exchange per command, nothing more.
      }
    },
    async clear() {
      await rm(path, { force: true });
    },
  };
}

/** Creates `folder` (and its parents) and makes it 0700 even when it existed with a wider mode. */
export async function ensurePrivateFolder(folder: string): Promise<void> {
  await mkdir(folder, { recursive: true, mode: 0o700 });
  await chmod(folder, 0o700);
}

/** Removes every cached token under `folder` (`slate logout`); answers how many were removed. */
export async function clearTokenCache(folder: string): Promise<number> {
  const tokens = join(folder, TOKENS_FOLDER);
  const names = await readdir(tokens).catch(() => [] as string[]);
  const files = names.filter((name) => name.endsWith('.json'));
  await Promise.all(files.map((name) => rm(join(tokens, name), { force: true })));
  return files.length;
}
