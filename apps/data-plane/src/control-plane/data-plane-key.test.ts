import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataPlaneKeyOf, loadOrCreateDataPlaneKey } from './data-plane-key.ts';
import { sealForTest } from './fixtures/seal-for-test.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('data-plane key', () => {
  it('creates the key once (mode 0600) and loads the same one after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slate-key-'));
    dirs.push(dir);
    const first = await loadOrCreateDataPlaneKey(join(dir, 'keys'));
    const again = await loadOrCreateDataPlaneKey(join(dir, 'keys'));
    expect(first.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(again.publicKey).toBe(first.publicKey);
    expect((await stat(join(dir, 'keys', 'x25519.json'))).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(join(dir, 'keys', 'x25519.json'), 'utf8')) as {
      x: string;
      d: string;
    };
    expect(stored.x).toBe(first.publicKey);
    const sealed = sealForTest(first.publicKey, 'pa55 wörd ✓', 'prod/DB_PASSWORD');
    expect(again.open(sealed, 'prod/DB_PASSWORD')).toBe('pa55 wörd ✓');
  });

  it('refuses another slot, another key, tampering and junk', () => {
    const key = dataPlaneKeyOf(generateKeyPairSync('x25519').privateKey);
    const stranger = dataPlaneKeyOf(generateKeyPairSync('x25519').privateKey);
    const sealed = sealForTest(key.publicKey, 'value', 'dev/A');
    expect(key.open(sealed, 'dev/A')).toBe('value');
    expect(() => key.open(sealed, 'dev/B')).toThrow(expect.objectContaining({ code: 'SEALED_BOX_INVALID' }));
    expect(() => stranger.open(sealed, 'dev/A')).toThrow(
      expect.objectContaining({ code: 'SEALED_BOX_INVALID' }),
    );
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0] = body[0]! ^ 1;
    const tampered = [...parts.slice(0, 3), body.toString('base64url')].join('.');
    expect(() => key.open(tampered, 'dev/A')).toThrow(
      expect.objectContaining({ code: 'SEALED_BOX_INVALID' }),
    );
    expect(() => key.open('not-a-box', 'dev/A')).toThrow(
      expect.objectContaining({ code: 'SEALED_BOX_INVALID' }),
    );
  });
});
