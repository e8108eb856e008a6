import { z } from 'zod';

/**
 * A registered model's contract: the names, element types and shapes of its input and output tensors.
 * The registry stores it with each version; SDK handles type their rows from it, and the runtime checks
 * every batch against it before calling the model (a bad input shape is `MODEL_INPUT_INVALID`, never a
 * crash inside the runtime).
 */

/** Tensor element types Slate feeds and reads (onnxruntime's names). */
export const MODEL_ELEMENT_TYPES = ['float32', 'float64', 'int32', 'int64', 'bool', 'string'] as const;
export type ModelElementType = (typeof MODEL_ELEMENT_TYPES)[number];

/** Model names: letters, digits and `_`, starting with a letter; at most 64 (they appear in feature refs). */
export const ModelNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'letters, digits and _, starting with a letter; at most 64');

/** Alias names such as `production` or `staging`. */
export const ModelAliasSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9_-]{0,31}$/,
    'lower-case letters, digits, _ and -, starting with a letter; at most 32',
  );

/** A lower-case hex sha256. */
export const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex sha256');

export const ModelTensorSchema = z.object({
  name: z.string().min(1).max(256),
  type: z.enum(MODEL_ELEMENT_TYPES),
  /** Dimensions: a size, or a name/null for a free dimension (the batch). */
  shape: z.array(z.union([z.number().int().nonnegative(), z.string().max(64), z.null()])).max(8),
});
export type ModelTensor = z.infer<typeof ModelTensorSchema>;

export const ModelSignatureSchema = z.array(ModelTensorSchema).min(1).max(64);
export type ModelSignature = z.infer<typeof ModelSignatureSchema>;

/** How a resolver or expression names a model: by alias (pinned at deploy time) or by exact version. */
export const ModelRefSchema = z.union([
  z.object({ name: ModelNameSchema, alias: ModelAliasSchema }).strict(),
  z.object({ name: ModelNameSchema, version: z.number().int().positive() }).strict(),
]);
export type ModelRef = z.infer<typeof ModelRefSchema>;

/** A model version a deployment runs: the alias resolved when it was deployed. */
export const PinnedModelSchema = z.object({
  name: ModelNameSchema,
  alias: ModelAliasSchema.nullable(),
  version: z.number().int().positive(),
  sha256: Sha256Schema,
  size: z.number().int().nonnegative(),
  parts: z.array(z.object({ sha256: Sha256Schema, size: z.number().int().nonnegative() })).min(1),
  inputs: ModelSignatureSchema,
  outputs: ModelSignatureSchema,
});
export type PinnedModel = z.infer<typeof PinnedModelSchema>;

/** The key under which a model-ref is pinned: `name@alias` or `name#version`. */
export function modelRefKey(ref: ModelRef): string {
  return 'alias' in ref ? `${ref.name}@${ref.alias}` : `${ref.name}#${ref.version}`;
}

/** Where an artifact part lives in the environment's `model` bucket (content-addressed). */
export function modelPartKey(environmentId: string, sha256: string): string {
  return `env/${environmentId}/models/parts/${sha256}`;
}

/** The largest part of an artifact upload: a request's body, and the memory one upload holds at a time. */
export const MODEL_PART_MAX_BYTES = 8 * 1024 * 1024;
