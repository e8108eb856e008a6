import {
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlateError } from '@slate/graph';
import { z } from 'zod';

const SEALED_BOX_VERSION = 'slate-sealed-v1';

/**
 * This data plane's X25519 key pair: the metadata plane seals secrets to the public half, and only this
 * process (holding the private half, kept in its state folder) can open them.
 */
export interface DataPlaneKey {
  /** The raw 32-byte public key, base64url (what registration sends). */
  readonly publicKey: string;
  /**
   * Opens a sealed box made by the metadata plane's `sealToPublicKey` with the same `aad`.
   * @throws SlateError input `SEALED_BOX_INVALID` when it is malformed, for another key, or tampered with.
   */
  open(sealed: string, aad: string): string;
}

/**
 * Loads the key pair from `dir/x25519.json`, creating it (mode 0600) on first start. Keeping it across
 * restarts matters: secrets already sealed to the old public key could not be opened by a new one.
 *
 * @example
 * const key = await loadOrCreateDataPlaneKey('.slate/data-plane/keys');
 */
export async function loadOrCreateDataPlaneKey(dir: string): Promise<DataPlaneKey> {
  const path = join(dir, 'x25519.json');
  let privateKey: KeyObject;
  try {
    const jwk = JSON.parse(await readFile(path, 'utf8')) as {
      kty: string;
      crv: string;
      x: string;
      d: string;
    };
    privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error;
    privateKey = generateKeyPairSync('x25519').privateKey;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(privateKey.export({ format: 'jwk' })), { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  }
  return dataPlaneKeyOf(privateKey);
}

/**
 * Loads the data plane's group key from a file holding an X25519 private JWK (`{"kty":"OKP","crv":"X25519",
 * "x":…,"d":…}`), as a Kubernetes secret mounts it. Never writes: every replica reads the same key.
 *
 * @throws SlateError input `DATA_PLANE_KEY_INVALID` when the file is missing or is not such a key.
 * @example
 * const key = await loadDataPlaneKeyFile('/var/run/secrets/slate/group-key/group-key.jwk');
 */
export async function loadDataPlaneKeyFile(path: string): Promise<DataPlaneKey> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SlateError(
      'input',
      'DATA_PLANE_KEY_INVALID',
      `cannot read the data-plane key file ${path}`,
      {
        path,
      },
      { cause: error },
    );
  }
  const parsed = GroupKeySchema.safeParse(safeJson(text));
  if (!parsed.success) {
    throw new SlateError(
      'input',
      'DATA_PLANE_KEY_INVALID',
      `${path} is not an X25519 private key as a JWK ({"kty":"OKP","crv":"X25519","x":…,"d":…})`,
      { path },
    );
  }
  return dataPlaneKeyOf(createPrivateKey({ key: parsed.data, format: 'jwk' }));
}

const GroupKeySchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('X25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  d: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A `DataPlaneKey` over an in-memory private key (tests, or keys from a secret manager). */
export function dataPlaneKeyOf(privateKey: KeyObject): DataPlaneKey {
  const publicKey = createPublicKey(privateKey).export({ format: 'jwk' }).x as string;
  return {
    publicKey,
    open(sealed, aad) {
      const invalid = (why: string) =>
        new SlateError('input', 'SEALED_BOX_INVALID', `cannot open sealed value: ${why}`);
      const parts = sealed.split('.');
      if (parts.length !== 4 || parts[0] !== SEALED_BOX_VERSION) throw invalid('unknown format');
      const [, ephemeralX, nonceText, bodyText] = parts as [string, string, string, string];
      const body = Buffer.from(bodyText, 'base64url');
      if (body.length < 16) throw invalid('too short');
      try {
        const ephemeral = createPublicKey({
          key: { kty: 'OKP', crv: 'X25519', x: ephemeralX },
          format: 'jwk',
        });
        const shared = diffieHellman({ privateKey, publicKey: ephemeral });
        const salt = Buffer.concat([
          Buffer.from(ephemeralX, 'base64url'),
          Buffer.from(publicKey, 'base64url'),
        ]);
        const key = Buffer.from(hkdfSync('sha256', shared, salt, `${SEALED_BOX_VERSION}\0${aad}`, 32));
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonceText, 'base64url'));
        decipher.setAAD(Buffer.from(aad, 'utf8'));
        decipher.setAuthTag(body.subarray(body.length - 16));
        return Buffer.concat([
          decipher.update(body.subarray(0, body.length - 16)),
          decipher.final(),
        ]).toString('utf8');
      } catch {
        throw invalid('wrong key, wrong slot, or tampered');
      }
    },
  };
}
