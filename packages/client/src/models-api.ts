import { ModelSignatureSchema } from '@slate/graph';
import { z } from 'zod';
import { environmentIdOf } from './catalog-api.ts';
import type { CallOptions, SlateClient } from './slate-client.ts';

/** A registered model (`GET /v1/environments/:id/models`). */
export const ModelSchema = z.looseObject({
  name: z.string(),
  description: z.string().nullable(),
  latest_version: z.number().nullable(),
  aliases: z.record(z.string(), z.number()),
  created_by: z.string(),
  created_at: z.string(),
});
export type Model = z.infer<typeof ModelSchema>;

/** One version of a model. */
export const ModelVersionSchema = z.looseObject({
  name: z.string(),
  version: z.number(),
  format: z.string(),
  sha256: z.string(),
  size: z.number(),
  parts: z.array(z.object({ sha256: z.string(), size: z.number() })),
  inputs: ModelSignatureSchema,
  outputs: ModelSignatureSchema,
  metadata: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), z.number()),
  training_dataset_revision: z.string().nullable(),
  aliases: z.array(z.string()),
  created_by: z.string(),
  created_at: z.string(),
});
export type ModelVersion = z.infer<typeof ModelVersionSchema>;

export const AliasMoveSchema = z.looseObject({
  alias: z.string(),
  from_version: z.number().nullable(),
  to_version: z.number(),
  moved_by: z.string(),
  moved_at: z.string(),
});
export type AliasMove = z.infer<typeof AliasMoveSchema>;

/** What registering a version sends (the artifact's parts must be uploaded first). */
export interface RegisterModelVersion {
  readonly artifact: { sha256: string; size: number; parts: readonly { sha256: string; size: number }[] };
  readonly inputs: z.input<typeof ModelSignatureSchema>;
  readonly outputs: z.input<typeof ModelSignatureSchema>;
  readonly description?: string;
  readonly metadata?: Record<string, unknown>;
  readonly metrics?: Record<string, number>;
  readonly training_dataset_revision?: string | null;
}

/** Options of the model calls: the environment (default the client's). */
export interface ModelCallOptions extends CallOptions {
  readonly environmentId?: string;
}

const envPath = async (client: SlateClient, options: ModelCallOptions) =>
  `/v1/environments/${encodeURIComponent(options.environmentId ?? (await environmentIdOf(client, options)))}`;
const signal = (options: ModelCallOptions) => (options.signal ? { signal: options.signal } : {});

/** `GET /v1/environments/:id/models`. Needs `models.read`. */
export async function listModels(client: SlateClient, options: ModelCallOptions = {}): Promise<Model[]> {
  const answer = await client.request({
    method: 'GET',
    target: 'api',
    path: `${await envPath(client, options)}/models`,
    schema: z.looseObject({ items: z.array(ModelSchema) }),
    ...signal(options),
  });
  return answer.items;
}

/** `GET .../models/:name/versions`, newest first. @throws SlateError not_found `MODEL_NOT_FOUND`. */
export async function listModelVersions(
  client: SlateClient,
  name: string,
  options: ModelCallOptions = {},
): Promise<ModelVersion[]> {
  const answer = await client.request({
    method: 'GET',
    target: 'api',
    path: `${await envPath(client, options)}/models/${encodeURIComponent(name)}/versions`,
    schema: z.looseObject({ items: z.array(ModelVersionSchema) }),
    ...signal(options),
  });
  return answer.items;
}

/**
 * `GET .../models/:name/versions/:version` by number or alias.
 * @throws SlateError not_found `MODEL_NOT_FOUND`, `MODEL_VERSION_NOT_FOUND`, `MODEL_ALIAS_NOT_FOUND`.
 */
export async function getModelVersion(
  client: SlateClient,
  name: string,
  version: number | string,
  options: ModelCallOptions = {},
): Promise<ModelVersion> {
  return client.request({
    method: 'GET',
    target: 'api',
    path: `${await envPath(client, options)}/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(String(version))}`,
    schema: ModelVersionSchema,
    ...signal(options),
  });
}

/** `PUT .../model-parts/:sha256`: one part of an artifact (at most 8 MiB). Needs `models.write`. */
export async function uploadModelPart(
  client: SlateClient,
  sha256: string,
  bytes: Uint8Array,
  options: ModelCallOptions = {},
): Promise<void> {
  await client.request({
    method: 'PUT',
    target: 'api',
    path: `${await envPath(client, options)}/model-parts/${sha256}`,
    body: bytes,
    schema: z.looseObject({ sha256: z.string(), size: z.number() }),
    ...signal(options),
  });
}

/** `GET .../model-parts/:sha256`: one part's bytes. Needs `models.read`. */
export async function downloadModelPart(
  client: SlateClient,
  sha256: string,
  options: ModelCallOptions = {},
): Promise<Uint8Array> {
  return client.requestBytes({
    target: 'api',
    path: `${await envPath(client, options)}/model-parts/${sha256}`,
    ...signal(options),
  });
}

/**
 * `POST .../models/:name/versions`: registers a version from uploaded parts.
 * @throws SlateError input `ARTIFACT_SHA256_MISMATCH`, `MODEL_PART_MISSING`.
 */
export async function registerModelVersion(
  client: SlateClient,
  name: string,
  body: RegisterModelVersion,
  options: ModelCallOptions = {},
): Promise<ModelVersion> {
  return client.request({
    method: 'POST',
    target: 'api',
    path: `${await envPath(client, options)}/models/${encodeURIComponent(name)}/versions`,
    body,
    schema: ModelVersionSchema,
    ...signal(options),
  });
}

/**
 * `PUT .../models/:name/aliases/:alias`: points an alias at a version (with `expectedVersion`, only if the
 * alias still points where the caller thinks). @throws SlateError conflict `MODEL_ALIAS_CHANGED`.
 */
export async function promoteModel(
  client: SlateClient,
  name: string,
  alias: string,
  version: number,
  options: ModelCallOptions & { readonly expectedVersion?: number | null } = {},
): Promise<AliasMove> {
  return client.request({
    method: 'PUT',
    target: 'api',
    path: `${await envPath(client, options)}/models/${encodeURIComponent(name)}/aliases/${encodeURIComponent(alias)}`,
    body: {
      version,
      ...(options.expectedVersion === undefined ? {} : { expected_version: options.expectedVersion }),
    },
    schema: AliasMoveSchema,
    ...signal(options),
  });
}
