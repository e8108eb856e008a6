import {
  createCipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
} from 'node:crypto';
import { SlateError } from '@slate/graph';

/** Prefix and version of the sealed-box text format. */
export const SEALED_BOX_VERSION = 'slate-sealed-v1';

/** An X25519 public key as a data plane registers it: the raw 32 bytes in base64url (a JWK's `x`). */
export const X25519_PUBLIC_KEY = /^[A-Za-z0-9_-]{43}$/;

/**
 * Encrypts `plaintext` so that only the holder of the X25519 private key behind `recipientPublicKey` can
 * read it: a fresh ephemeral key pair per message, ECDH, HKDF-SHA256 (salt = ephemeral ‖ recipient public
 * key, info binds `aad`), then AES-256-GCM with `aad` as associated data, so a sealed value moved to
 * another secret's slot fails to open. The sender keeps nothing that could decrypt it (write-only).
 *
 * Format: `slate-sealed-v1.<ephemeral public key>.<12-byte nonce>.<ciphertext ‖ 16-byte tag>`, base64url.
 * The data plane's `openSealedBox` is the inverse.
 *
 * @throws SlateError input `INVALID_PUBLIC_KEY`
 * @example
 * const sealed = sealToPublicKey(dataPlane.public_key, 'hunter2', 'prod/STRIPE_KEY');
 */
export function sealToPublicKey(recipientPublicKey: string, plaintext: string, aad: string): string {
  if (!X25519_PUBLIC_KEY.test(recipientPublicKey)) {
    throw new SlateError('input', 'INVALID_PUBLIC_KEY', 'the data plane public key is not a raw X25519 key');
  }
  const recipient = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: recipientPublicKey },
    format: 'jwk',
  });
  const ephemeral = generateKeyPairSync('x25519');
  const ephemeralX = ephemeral.publicKey.export({ format: 'jwk' }).x as string;
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient });
  const salt = Buffer.concat([
    Buffer.from(ephemeralX, 'base64url'),
    Buffer.from(recipientPublicKey, 'base64url'),
  ]);
  const key = Buffer.from(hkdfSync('sha256', shared, salt, `${SEALED_BOX_VERSION}\0${aad}`, 32));
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return [SEALED_BOX_VERSION, ephemeralX, nonce.toString('base64url'), body.toString('base64url')].join('.');
}
