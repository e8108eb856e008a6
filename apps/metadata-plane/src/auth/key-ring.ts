import { SlateError } from '@slate/graph';
import {
  type CryptoKey,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { newId } from '../ids.ts';
import {
  type KeyEncryptionKeyProvider,
  KeyEnvelopeSchema,
  openEnvelope,
  sealEnvelope,
} from './key-encryption.ts';

const ALG = 'EdDSA';
export const TOKEN_AUDIENCE = 'slate';

/** Ed25519 signing keys, persisted in the database, used to issue and verify access tokens. */
export interface KeyRing {
  /** Signs `claims` with the newest key; `iss`, `aud`, `iat`, `exp` and the `kid` header are added. */
  sign(claims: JWTPayload, expiresInSeconds: number): Promise<string>;
  /**
   * Verifies signature, issuer, audience and expiry.
   * @throws SlateError('authentication', 'INVALID_TOKEN')
   */
  verify(token: string): Promise<JWTPayload>;
  /** Every public key, newest first, including retired ones (tokens they signed may still be live). */
  jwks(): Promise<JSONWebKeySet>;
  /** Creates a new signing key; older keys stay in the JWKS for verification. Returns the new `kid`. */
  rotate(): Promise<string>;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
}

const sealPrivateJwk = async (kek: KeyEncryptionKeyProvider, kid: string, jwk: unknown) =>
  JSON.stringify(await sealEnvelope(kek, Buffer.from(JSON.stringify(jwk)), kid));

/**
 * Brings every stored private key under the current KEK: clear keys of older installations are
 * encrypted (and the clear column nulled), envelopes wrapped by a previous KEK are re-wrapped. Idempotent,
 * so replicas starting together may both run it. Returns how many rows changed.
 *
 * @throws SlateError('internal', 'KEY_ENCRYPTION_KEY_MISMATCH') when an envelope is under a KEK that is
 *   neither the current nor a previous one (start-up fails with that message).
 */
export async function encryptSigningKeys(
  db: Kysely<Database>,
  kek: KeyEncryptionKeyProvider,
): Promise<number> {
  const rows = await db
    .selectFrom('signing_keys')
    .select(['kid', 'private_jwk', 'private_key_envelope'])
    .execute();
  let changed = 0;
  for (const row of rows) {
    let jwk: unknown;
    if (row.private_key_envelope === null) {
      jwk = row.private_jwk;
    } else {
      const envelope = KeyEnvelopeSchema.parse(row.private_key_envelope);
      const plain = await openEnvelope(kek, envelope, row.kid);
      if (envelope.dek.kek === kek.currentId && row.private_jwk === null) continue;
      jwk = JSON.parse(plain.toString('utf8'));
    }
    await db
      .updateTable('signing_keys')
      .set({ private_key_envelope: await sealPrivateJwk(kek, row.kid, jwk), private_jwk: null })
      .where('kid', '=', row.kid)
      .execute();
    changed++;
  }
  return changed;
}

/**
 * Loads the key ring, creating the first key when there is none. Private keys are stored only in
 * AES-256-GCM envelopes under `kek` (see `encryptSigningKeys`, which runs first); they are decrypted in
 * memory for signing. Signing-key rotation (`rotate`) adds a key that signs from then on; older keys stay
 * in the JWKS, so tokens they signed verify until they expire.
 *
 * @throws SlateError('internal', 'KEY_ENCRYPTION_KEY_MISMATCH') when the stored keys were encrypted with
 *   another KEK.
 * @example
 * const keys = await loadKeyRing(db, 'https://api.example.com', createLocalKeyEncryptionKeyProvider({ current: kekBase64 }));
 * const jwt = await keys.sign({ sub: 'st_1' }, 3600);
 */
export async function loadKeyRing(
  db: Kysely<Database>,
  issuer: string,
  kek: KeyEncryptionKeyProvider,
): Promise<KeyRing> {
  await encryptSigningKeys(db, kek);
  let current: SigningKey | undefined;
  let publicKeys: JWK[] = [];
  let verifier = createLocalJWKSet({ keys: [] });

  const reload = async (): Promise<void> => {
    const rows = await db
      .selectFrom('signing_keys')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('kid', 'desc')
      .execute();
    publicKeys = rows.map((r) => ({ ...(r.public_jwk as JWK), kid: r.kid, alg: ALG, use: 'sig' }));
    verifier = createLocalJWKSet({ keys: publicKeys });
    const newest = rows.find((r) => r.retired_at === null);
    if (newest && newest.kid !== current?.kid) {
      // Another replica may have added this key with the clear column only if it runs an older
      // version; the envelope is what this version writes and reads.
      const jwk = newest.private_key_envelope
        ? (JSON.parse(
            (
              await openEnvelope(kek, KeyEnvelopeSchema.parse(newest.private_key_envelope), newest.kid)
            ).toString('utf8'),
          ) as JWK)
        : (newest.private_jwk as JWK);
      current = { kid: newest.kid, privateKey: (await importJWK(jwk, ALG)) as CryptoKey };
    }
  };

  const rotate = async (): Promise<string> => {
    const { publicKey, privateKey } = await generateKeyPair(ALG, { crv: 'Ed25519', extractable: true });
    const kid = newId('k', 12);
    await db
      .insertInto('signing_keys')
      .values({
        kid,
        public_jwk: JSON.stringify(await exportJWK(publicKey)),
        private_key_envelope: await sealPrivateJwk(kek, kid, await exportJWK(privateKey)),
      })
      .execute();
    await reload();
    return kid;
  };

  await reload();
  if (!current) await rotate();

  return {
    async sign(claims, expiresInSeconds) {
      // Another replica may have rotated; signing with our (older) key is still verifiable by everyone.
      const key = current!;
      return new SignJWT(claims)
        .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(TOKEN_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${expiresInSeconds}s`)
        .sign(key.privateKey);
    },
    async verify(token) {
      const attempt = () =>
        jwtVerify(token, verifier, { issuer, audience: TOKEN_AUDIENCE, algorithms: [ALG] });
      try {
        return (await attempt()).payload;
      } catch (error) {
        // A kid we do not know yet may come from a rotation on another replica: reload once and retry.
        if ((error as { code?: string }).code === 'ERR_JWKS_NO_MATCHING_KEY') {
          await reload();
          try {
            return (await attempt()).payload;
          } catch {
            // fall through
          }
        }
        throw new SlateError('authentication', 'INVALID_TOKEN', 'the access token is invalid or expired');
      }
    },
    async jwks() {
      await reload();
      return { keys: publicKeys };
    },
    rotate,
  };
}
