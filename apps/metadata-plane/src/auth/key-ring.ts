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

/**
 * Loads the key ring, creating the first key when there is none. The private JWK sits in the database
 * for now; issue 5 moves it to the secret store.
 *
 * @example
 * const keys = await loadKeyRing(db, 'https://api.example.com');
 * const jwt = await keys.sign({ sub: 'st_1' }, 3600);
 */
export async function loadKeyRing(db: Kysely<Database>, issuer: string): Promise<KeyRing> {
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
      current = {
        kid: newest.kid,
        privateKey: (await importJWK(newest.private_jwk as JWK, ALG)) as CryptoKey,
      };
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
        private_jwk: JSON.stringify(await exportJWK(privateKey)),
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
