import { createHash, randomBytes } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase, type MetadataDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { createLocalKeyEncryptionKeyProvider } from './key-encryption.ts';
import { loadKeyRing } from './key-ring.ts';

const ISSUER = 'http://mp.test';
const kekA = randomBytes(32).toString('base64');
const kekB = randomBytes(32).toString('base64');
const fingerprintOf = (base64: string) =>
  `kek-${createHash('sha256').update(Buffer.from(base64, 'base64')).digest('hex').slice(0, 16)}`;

describe('signing keys encrypted at rest', () => {
  let database: MetadataDatabase;
  beforeEach(async () => {
    database = await createDatabase({ type: 'pglite' });
    await migrateToLatest(database.db);
  });
  afterEach(async () => {
    await database.close();
  });
  /** Every signing_keys row as the database returns it, as text. */
  const rawRows = async () =>
    JSON.stringify((await sql`select * from signing_keys`.execute(database.db)).rows);

  it('encrypts a clear key of an older installation at start, keeps the same key, and never stores its bytes', async () => {
    // An installation from before envelopes: the private JWK in the clear, written by the test.
    const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const privateJwk = await exportJWK(pair.privateKey);
    const publicJwk = await exportJWK(pair.publicKey);
    await database.db
      .insertInto('signing_keys')
      .values({
        kid: 'k_old',
        public_jwk: JSON.stringify(publicJwk),
        private_jwk: JSON.stringify(privateJwk),
      })
      .execute();
    expect(await rawRows()).toContain(privateJwk.d);

    const ring = await loadKeyRing(
      database.db,
      ISSUER,
      createLocalKeyEncryptionKeyProvider({ current: kekA }),
    );
    const raw = await rawRows();
    expect(raw).not.toContain(privateJwk.d!);
    expect(raw).not.toContain(Buffer.from(privateJwk.d!, 'base64url').toString('base64'));
    expect(raw).not.toContain(Buffer.from(privateJwk.d!, 'base64url').toString('hex'));
    // Still the same key: what the ring signs verifies against the public key the test made.
    const token = await ring.sign({ sub: 'st_1' }, 60);
    const verified = await jwtVerify(token, createLocalJWKSet({ keys: [{ ...publicJwk, kid: 'k_old' }] }));
    expect(verified.payload.sub).toBe('st_1');
  });

  it('stores new keys only as envelopes under the current KEK', async () => {
    const ring = await loadKeyRing(
      database.db,
      ISSUER,
      createLocalKeyEncryptionKeyProvider({ current: kekA }),
    );
    await ring.rotate();
    const rows = await database.db.selectFrom('signing_keys').selectAll().execute();
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.private_jwk).toBeNull();
      expect(row.private_key_envelope).toMatchObject({ v: 1, dek: { kek: fingerprintOf(kekA) } });
      expect(JSON.stringify(row.private_key_envelope)).not.toMatch(/"d"|"kty"|Ed25519/);
    }
  });

  it('rotates the KEK: the previous one decrypts once, everything is re-encrypted, then the old KEK alone fails start', async () => {
    const first = await loadKeyRing(
      database.db,
      ISSUER,
      createLocalKeyEncryptionKeyProvider({ current: kekA }),
    );
    const before = await first.sign({ sub: 'st_1' }, 60);
    const rotated = await loadKeyRing(
      database.db,
      ISSUER,
      createLocalKeyEncryptionKeyProvider({ current: kekB, previous: [kekA] }),
    );
    const rows = await database.db.selectFrom('signing_keys').select('private_key_envelope').execute();
    expect(rows.map((r) => (r.private_key_envelope as { dek: { kek: string } }).dek.kek)).toEqual([
      fingerprintOf(kekB),
    ]);
    expect((await rotated.verify(before)).sub).toBe('st_1');
    // B alone now suffices; A alone is refused with a message that says what to set.
    const onlyB = await loadKeyRing(
      database.db,
      ISSUER,
      createLocalKeyEncryptionKeyProvider({ current: kekB }),
    );
    expect((await onlyB.verify(await onlyB.sign({ sub: 'st_2' }, 60))).sub).toBe('st_2');
    await expect(
      loadKeyRing(database.db, ISSUER, createLocalKeyEncryptionKeyProvider({ current: kekA })),
    ).rejects.toMatchObject({
      code: 'KEY_ENCRYPTION_KEY_MISMATCH',
      message: expect.stringContaining('SLATE_KEY_ENCRYPTION_KEY'),
    });
  });

  it('refuses a wrong KEK and a tampered envelope at start (authenticated decryption)', async () => {
    await loadKeyRing(database.db, ISSUER, createLocalKeyEncryptionKeyProvider({ current: kekA }));
    await expect(
      loadKeyRing(database.db, ISSUER, createLocalKeyEncryptionKeyProvider({ current: kekB })),
    ).rejects.toMatchObject({ code: 'KEY_ENCRYPTION_KEY_MISMATCH' });
    // Tampering: the envelope's ciphertext changed by one byte.
    await sql`update signing_keys set private_key_envelope = jsonb_set(private_key_envelope, '{ciphertext}', to_jsonb('A' || substr(private_key_envelope->>'ciphertext', 2)))`.execute(
      database.db,
    );
    await expect(
      loadKeyRing(database.db, ISSUER, createLocalKeyEncryptionKeyProvider({ current: kekA })),
    ).rejects.toMatchObject({ code: 'KEY_ENCRYPTION_KEY_MISMATCH' });
  });

  it('rotates the signing key: the new key signs, the old one still verifies, the JWKS publishes both', async () => {
    const kek = createLocalKeyEncryptionKeyProvider({ current: kekA });
    const ring = await loadKeyRing(database.db, ISSUER, kek);
    const old = await ring.sign({ sub: 'st_1' }, 3600);
    const newKid = await ring.rotate();
    const fresh = await ring.sign({ sub: 'st_1' }, 3600);
    expect(decodeProtectedHeader(fresh).kid).toBe(newKid);
    expect(decodeProtectedHeader(old).kid).not.toBe(newKid);
    const jwks = await ring.jwks();
    expect(jwks.keys.map((k) => k.kid)).toEqual(
      expect.arrayContaining([newKid, decodeProtectedHeader(old).kid]),
    );
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
    // Another process (a restart) on the same database signs with the new key and verifies the old token.
    const restarted = await loadKeyRing(database.db, ISSUER, kek);
    expect(decodeProtectedHeader(await restarted.sign({}, 60)).kid).toBe(newKid);
    expect((await restarted.verify(old)).sub).toBe('st_1');
  });
});
