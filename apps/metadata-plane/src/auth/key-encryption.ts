import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { SlateError } from '@slate/graph';
import { z } from 'zod';

/** A data key wrapped by a key-encryption key (AES-256-GCM); `kek` names the KEK that wrapped it. */
export interface WrappedKey {
  readonly kek: string;
  readonly iv: string;
  readonly tag: string;
  readonly ciphertext: string;
}

/**
 * Wraps and unwraps data keys with the installation's key-encryption key (KEK). Local keys today; a KMS
 * (AWS KMS `Encrypt`/`Decrypt`, Vault transit) fits the same two calls later.
 */
export interface KeyEncryptionKeyProvider {
  /** Names the KEK that `wrap` uses now (a fingerprint, never the key). */
  readonly currentId: string;
  /** Wraps `dataKey`, bound to `context` (authenticated, not stored). */
  wrap(dataKey: Buffer, context: string): Promise<WrappedKey>;
  /**
   * Unwraps with whichever known KEK `wrapped.kek` names (current or previous).
   *
   * @throws SlateError('internal', 'KEY_ENCRYPTION_KEY_MISMATCH') when no known KEK wrapped it or the
   *   ciphertext does not authenticate (a wrong key, or tampering).
   */
  unwrap(wrapped: WrappedKey, context: string): Promise<Buffer>;
}

/** `SLATE_KEY_ENCRYPTION_KEY` and friends: 32 bytes, base64. */
export const KeyEncryptionKeySchema = z
  .string()
  .trim()
  .refine((v) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32, {
    message: 'a key-encryption key is 32 random bytes in base64 (e.g. `openssl rand -base64 32`)',
  });

const fingerprint = (key: Buffer) => `kek-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;

function seal(key: Buffer, plaintext: Buffer, context: string) {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ciphertext: ciphertext.toString('base64'),
  };
}

function open(key: Buffer, sealed: { iv: string; tag: string; ciphertext: string }, context: string) {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]);
}

/**
 * A KEK provider over local keys: `current` wraps, `previous` (a KEK being rotated out) only unwraps.
 * Keys are 32-byte buffers or base64 strings.
 *
 * @throws ZodError when a key is not 32 bytes of base64.
 * @example
 * const kek = createLocalKeyEncryptionKeyProvider({ current: process.env.SLATE_KEY_ENCRYPTION_KEY! });
 */
export function createLocalKeyEncryptionKeyProvider(options: {
  current: string;
  previous?: readonly string[];
}): KeyEncryptionKeyProvider {
  const current = Buffer.from(KeyEncryptionKeySchema.parse(options.current), 'base64');
  const known = new Map<string, Buffer>([[fingerprint(current), current]]);
  for (const p of options.previous ?? []) {
    const key = Buffer.from(KeyEncryptionKeySchema.parse(p), 'base64');
    if (!known.has(fingerprint(key))) known.set(fingerprint(key), key);
  }
  const mismatch = (detail: string) =>
    new SlateError(
      'internal',
      'KEY_ENCRYPTION_KEY_MISMATCH',
      `the signing keys cannot be decrypted: ${detail}. Set SLATE_KEY_ENCRYPTION_KEY to the key they were encrypted with, or, while rotating, the old one in SLATE_KEY_ENCRYPTION_KEY_PREVIOUS`,
    );
  return {
    currentId: fingerprint(current),
    async wrap(dataKey, context) {
      return { kek: fingerprint(current), ...seal(current, dataKey, context) };
    },
    async unwrap(wrapped, context) {
      const key = known.get(wrapped.kek);
      if (!key) throw mismatch(`they were encrypted with ${wrapped.kek}, which is not configured`);
      try {
        return open(key, wrapped, context);
      } catch {
        throw mismatch(`${wrapped.kek} does not authenticate them (tampered data?)`);
      }
    },
  };
}

/** A private key at rest: AES-256-GCM under a fresh data key, which the KEK wraps. */
export const KeyEnvelopeSchema = z.object({
  v: z.literal(1),
  dek: z.object({ kek: z.string(), iv: z.string(), tag: z.string(), ciphertext: z.string() }),
  iv: z.string(),
  tag: z.string(),
  ciphertext: z.string(),
});
export type KeyEnvelope = z.infer<typeof KeyEnvelopeSchema>;

/** Encrypts `plaintext` for storage, bound to `context` (the key id: an envelope cannot be moved to another row). */
export async function sealEnvelope(
  kek: KeyEncryptionKeyProvider,
  plaintext: Buffer,
  context: string,
): Promise<KeyEnvelope> {
  const dataKey = randomBytes(32);
  try {
    return { v: 1, dek: await kek.wrap(dataKey, context), ...seal(dataKey, plaintext, context) };
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Decrypts an envelope.
 * @throws SlateError('internal', 'KEY_ENCRYPTION_KEY_MISMATCH') (see `unwrap`).
 */
export async function openEnvelope(
  kek: KeyEncryptionKeyProvider,
  envelope: KeyEnvelope,
  context: string,
): Promise<Buffer> {
  const dataKey = await kek.unwrap(envelope.dek, context);
  try {
    return open(dataKey, envelope, context);
  } catch {
    throw new SlateError(
      'internal',
      'KEY_ENCRYPTION_KEY_MISMATCH',
      'a signing key envelope does not authenticate (tampered data?)',
    );
  } finally {
    dataKey.fill(0);
  }
}
