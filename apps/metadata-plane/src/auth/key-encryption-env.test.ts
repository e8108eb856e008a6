import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyEncryptionKeyFromEnv } from './key-encryption-env.ts';

describe('keyEncryptionKeyFromEnv', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slate-kek-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('generates a key once in the given file (mode 0600) and reuses it', async () => {
    const file = join(dir, 'state', 'key-encryption-key');
    const first = await keyEncryptionKeyFromEnv({}, { generateFile: file });
    const second = await keyEncryptionKeyFromEnv({}, { generateFile: file });
    expect(first.source).toBe('generated');
    expect(second.provider.currentId).toBe(first.provider.currentId);
    expect(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64')).toHaveLength(32);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('prefers SLATE_KEY_ENCRYPTION_KEY, then the _FILE, and requires one when nothing may be generated', async () => {
    const key = randomBytes(32).toString('base64');
    const fromEnv = await keyEncryptionKeyFromEnv(
      { SLATE_KEY_ENCRYPTION_KEY: key },
      { generateFile: join(dir, 'x') },
    );
    const file = join(dir, 'mounted');
    await writeFile(file, `${key}\n`);
    const fromFile = await keyEncryptionKeyFromEnv({ SLATE_KEY_ENCRYPTION_KEY_FILE: file });
    expect([fromEnv.source, fromFile.source]).toEqual(['env', 'file']);
    expect(fromFile.provider.currentId).toBe(fromEnv.provider.currentId);
    await expect(keyEncryptionKeyFromEnv({})).rejects.toMatchObject({ code: 'KEY_ENCRYPTION_KEY_REQUIRED' });
    await expect(keyEncryptionKeyFromEnv({ SLATE_KEY_ENCRYPTION_KEY: 'c2hvcnQ=' })).rejects.toThrow(
      /32 random bytes/,
    );
  });
});
