import { createHash } from 'node:crypto';
import { MODEL_PART_MAX_BYTES, modelPartKey, SlateError } from '@slate/graph';
import type { ObjectStore } from '@slate/stores';

/**
 * Model artifacts in the environment's `model` bucket. An artifact is uploaded as parts of at most
 * `MODEL_PART_MAX_BYTES`, each stored under its own sha256 (`env/<id>/models/parts/<sha256>`), so one
 * request never holds more than one part in memory, an interrupted upload resumes where it stopped (parts
 * already stored are skipped), and two versions sharing bytes store them once. A version names its parts
 * in order plus the sha256 of their concatenation, which is checked when the version is registered and
 * again by every data plane when it loads the model.
 */

export interface ArtifactPart {
  readonly sha256: string;
  readonly size: number;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Stores one part after checking its bytes hash to `sha256`; storing a part that exists is a no-op.
 *
 * @throws SlateError input `ARTIFACT_SHA256_MISMATCH` when the body does not hash to `sha256`;
 *   input `MODEL_PART_TOO_LARGE` past `MODEL_PART_MAX_BYTES`.
 */
export async function putArtifactPart(
  store: ObjectStore,
  environmentId: string,
  sha256: string,
  body: Uint8Array,
): Promise<ArtifactPart> {
  if (body.byteLength > MODEL_PART_MAX_BYTES) {
    throw new SlateError(
      'input',
      'MODEL_PART_TOO_LARGE',
      `a part holds at most ${MODEL_PART_MAX_BYTES} bytes`,
    );
  }
  const actual = sha256Hex(body);
  if (actual !== sha256) {
    throw new SlateError(
      'input',
      'ARTIFACT_SHA256_MISMATCH',
      `the part's bytes hash to ${actual}, not ${sha256}`,
      {
        expected: sha256,
        actual,
      },
    );
  }
  const key = modelPartKey(environmentId, sha256);
  if (!(await store.head('model', key))) {
    await store.put('model', key, body, { contentType: 'application/octet-stream' });
  }
  return { sha256, size: body.byteLength };
}

/** Reads one stored part, or `null`. */
export function getArtifactPart(
  store: ObjectStore,
  environmentId: string,
  sha256: string,
): Promise<Uint8Array | null> {
  return store.get('model', modelPartKey(environmentId, sha256));
}

/**
 * Checks that the parts exist with their stated sizes and hashes, and that their concatenation hashes to
 * `sha256` with `size` bytes in all. Reads one part at a time.
 *
 * @throws SlateError input `MODEL_PART_MISSING` (a part was never uploaded), `ARTIFACT_SIZE_MISMATCH`,
 *   `ARTIFACT_SHA256_MISMATCH` (a part or the whole).
 */
export async function verifyArtifact(
  store: ObjectStore,
  environmentId: string,
  parts: readonly ArtifactPart[],
  sha256: string,
  size: number,
): Promise<void> {
  const whole = createHash('sha256');
  let total = 0;
  for (const part of parts) {
    const bytes = await getArtifactPart(store, environmentId, part.sha256);
    if (!bytes) {
      throw new SlateError('input', 'MODEL_PART_MISSING', `part ${part.sha256} was not uploaded`, {
        part: part.sha256,
      });
    }
    const actual = sha256Hex(bytes);
    if (actual !== part.sha256 || bytes.byteLength !== part.size) {
      throw new SlateError(
        'input',
        'ARTIFACT_SHA256_MISMATCH',
        `stored part ${part.sha256} does not match its hash or size (the object was altered)`,
        { part: part.sha256, actual },
      );
    }
    whole.update(bytes);
    total += bytes.byteLength;
  }
  if (total !== size) {
    throw new SlateError('input', 'ARTIFACT_SIZE_MISMATCH', `the parts hold ${total} bytes, not ${size}`, {
      expected: size,
      actual: total,
    });
  }
  const actual = whole.digest('hex');
  if (actual !== sha256) {
    throw new SlateError(
      'input',
      'ARTIFACT_SHA256_MISMATCH',
      `the artifact hashes to ${actual}, not ${sha256}`,
      {
        expected: sha256,
        actual,
      },
    );
  }
}
