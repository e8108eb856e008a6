import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SlateError } from '@slate/graph';
import { createLocalKeyEncryptionKeyProvider, type KeyEncryptionKeyProvider } from './key-encryption.ts';

/**
 * The KEK from the environment:
 * - `SLATE_KEY_ENCRYPTION_KEY` (32 bytes, base64), or `SLATE_KEY_ENCRYPTION_KEY_FILE` (a file holding it,
 *   e.g. a mounted Kubernetes Secret);
 * - while rotating, `SLATE_KEY_ENCRYPTION_KEY_PREVIOUS` (comma-separated) or `_PREVIOUS_FILE`: keys that
 *   still decrypt; the next start re-encrypts every signing key under the current one, after which the
 *   previous key can be dropped;
 * - neither, and `generateFile` given (single-process installs: `slate up`, the metadata plane on PGlite):
 *   the key in that file, created on first use (mode 0600).
 *
 * @throws SlateError('input', 'KEY_ENCRYPTION_KEY_REQUIRED') when none is configured and nothing may be
 *   generated; ZodError for a key that is not 32 bytes of base64.
 * @example
 * const kek = await keyEncryptionKeyFromEnv(process.env, { generateFile: '.slate/key-encryption-key' });
 */
export async function keyEncryptionKeyFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  options: { generateFile?: string } = {},
): Promise<{ provider: KeyEncryptionKeyProvider; source: 'env' | 'file' | 'generated' }> {
  const fromFile = async (path: string | undefined) =>
    path ? (await readFile(path, 'utf8')).trim() : undefined;
  const previous = [
    ...(env.SLATE_KEY_ENCRYPTION_KEY_PREVIOUS ?? '').split(','),
    ...((await fromFile(env.SLATE_KEY_ENCRYPTION_KEY_PREVIOUS_FILE)) ?? '').split(/[\n,]/),
  ]
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
  const given = env.SLATE_KEY_ENCRYPTION_KEY?.trim() || (await fromFile(env.SLATE_KEY_ENCRYPTION_KEY_FILE));
  if (given) {
    return {
      provider: createLocalKeyEncryptionKeyProvider({ current: given, previous }),
      source: env.SLATE_KEY_ENCRYPTION_KEY ? 'env' : 'file',
    };
  }
  if (!options.generateFile) {
    throw new SlateError(
      'input',
      'KEY_ENCRYPTION_KEY_REQUIRED',
      'set SLATE_KEY_ENCRYPTION_KEY (32 random bytes in base64, e.g. `openssl rand -base64 32`) or SLATE_KEY_ENCRYPTION_KEY_FILE: it encrypts the token-signing keys in the database, and every replica needs the same one',
    );
  }
  let current: string;
  try {
    current = (await readFile(options.generateFile, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    current = randomBytes(32).toString('base64');
    await mkdir(dirname(options.generateFile), { recursive: true });
    // `wx`: never overwrite a key another process just wrote.
    await writeFile(options.generateFile, `${current}\n`, { mode: 0o600, flag: 'wx' }).catch(async (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      current = (await readFile(options.generateFile!, 'utf8')).trim();
    });
  }
  return { provider: createLocalKeyEncryptionKeyProvider({ current, previous }), source: 'generated' };
}
