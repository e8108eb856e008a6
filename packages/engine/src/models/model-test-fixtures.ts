import { createHash } from 'node:crypto';
import type { ModelSignature, PinnedModel } from '@slate/graph';

/** Pins `bytes` as `name` version `version` with a `[batch, width] → [batch, 1]` float signature. */
export function pinned(
  name: string,
  version: number,
  bytes: Uint8Array,
  width = 2,
  alias: string | null = null,
): PinnedModel {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const inputs: ModelSignature = [{ name: 'x', type: 'float32', shape: ['batch', width] }];
  const outputs: ModelSignature = [{ name: 'y', type: 'float32', shape: ['batch', 1] }];
  return {
    name,
    alias,
    version,
    sha256,
    size: bytes.byteLength,
    parts: [{ sha256, size: bytes.byteLength }],
    inputs,
    outputs,
  };
}
