import {
  MODEL_PART_MAX_BYTES,
  type ModelRef,
  ModelSignatureSchema,
  type PinnedModel,
  Sha256Schema,
  SlateError,
} from '@slate/graph';
import type { ObjectStore } from '@slate/stores';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { Database, EnvironmentRow } from '../db/schema.ts';
import { verifyArtifact } from './model-artifacts.ts';

/** The body of `POST /v1/environments/:id/models/:name/versions`. */
export const RegisterModelVersionSchema = z
  .object({
    format: z.literal('onnx').default('onnx'),
    description: z.string().max(2000).optional(),
    artifact: z.object({
      sha256: Sha256Schema,
      size: z.number().int().positive(),
      parts: z
        .array(
          z.object({ sha256: Sha256Schema, size: z.number().int().positive().max(MODEL_PART_MAX_BYTES) }),
        )
        .min(1)
        .max(100_000),
    }),
    inputs: ModelSignatureSchema,
    outputs: ModelSignatureSchema,
    metadata: z.record(z.string().max(128), z.unknown()).default({}),
    metrics: z.record(z.string().max(128), z.number()).default({}),
    training_dataset_revision: z.string().min(1).max(256).nullable().default(null),
  })
  .strict();
export type RegisterModelVersionInput = z.input<typeof RegisterModelVersionSchema>;

export interface ModelVersionView {
  readonly name: string;
  readonly version: number;
  readonly format: string;
  readonly sha256: string;
  readonly size: number;
  readonly parts: readonly { sha256: string; size: number }[];
  readonly inputs: unknown;
  readonly outputs: unknown;
  readonly metadata: Record<string, unknown>;
  readonly metrics: Record<string, number>;
  readonly training_dataset_revision: string | null;
  /** Aliases pointing at this version now. */
  readonly aliases: readonly string[];
  readonly created_by: string;
  readonly created_at: string;
}

export interface ModelView {
  readonly name: string;
  readonly description: string | null;
  readonly latest_version: number | null;
  readonly aliases: Readonly<Record<string, number>>;
  readonly created_by: string;
  readonly created_at: string;
}

export interface AliasMoveView {
  readonly alias: string;
  readonly from_version: number | null;
  readonly to_version: number;
  readonly moved_by: string;
  readonly moved_at: string;
}

type VersionRow = Awaited<ReturnType<typeof selectVersions>>[number];

function selectVersions(db: Kysely<Database>, environmentId: string, name: string) {
  return db
    .selectFrom('model_versions')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('model_name', '=', name)
    .orderBy('version', 'desc')
    .execute();
}

function versionView(row: VersionRow, aliases: readonly string[]): ModelVersionView {
  return {
    name: row.model_name,
    version: row.version,
    format: row.format,
    sha256: row.sha256,
    size: Number(row.size_bytes),
    parts: row.parts,
    inputs: row.input_schema,
    outputs: row.output_schema,
    metadata: row.metadata,
    metrics: row.metrics,
    training_dataset_revision: row.training_dataset_revision,
    aliases,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
  };
}

/**
 * Registers a new version of `name` (creating the model on its first version) after checking that its
 * uploaded parts add up to the stated sha256. Versions number 1, 2, 3… per model; concurrent registrations
 * of one model serialise on the model's row.
 *
 * @throws SlateError from `verifyArtifact` (`MODEL_PART_MISSING`, `ARTIFACT_SHA256_MISMATCH`, …)
 */
export async function registerModelVersion(
  db: Kysely<Database>,
  store: ObjectStore,
  env: EnvironmentRow,
  name: string,
  input: RegisterModelVersionInput,
  by: string,
  now: Date,
): Promise<ModelVersionView> {
  const body = RegisterModelVersionSchema.parse(input);
  await verifyArtifact(store, env.id, body.artifact.parts, body.artifact.sha256, body.artifact.size);
  const row = await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('models')
      .values({
        environment_id: env.id,
        name,
        description: body.description ?? null,
        created_by: by,
        created_at: now,
      })
      .onConflict((oc) => oc.columns(['environment_id', 'name']).doNothing())
      .execute();
    await trx
      .selectFrom('models')
      .select('name')
      .where('environment_id', '=', env.id)
      .where('name', '=', name)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (body.description !== undefined) {
      await trx
        .updateTable('models')
        .set({ description: body.description })
        .where('environment_id', '=', env.id)
        .where('name', '=', name)
        .execute();
    }
    const latest = await trx
      .selectFrom('model_versions')
      .select(sql<number | null>`max(version)`.as('v'))
      .where('environment_id', '=', env.id)
      .where('model_name', '=', name)
      .executeTakeFirst();
    return trx
      .insertInto('model_versions')
      .values({
        environment_id: env.id,
        model_name: name,
        version: Number(latest?.v ?? 0) + 1,
        format: body.format,
        sha256: body.artifact.sha256,
        size_bytes: body.artifact.size,
        parts: JSON.stringify(body.artifact.parts),
        input_schema: JSON.stringify(body.inputs),
        output_schema: JSON.stringify(body.outputs),
        metadata: JSON.stringify(body.metadata),
        metrics: JSON.stringify(body.metrics),
        training_dataset_revision: body.training_dataset_revision,
        created_by: by,
        created_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  });
  return versionView(row, []);
}

/** The environment's models with their latest version and current aliases, by name. */
export async function listModels(db: Kysely<Database>, environmentId: string): Promise<ModelView[]> {
  const [models, latest, aliases] = await Promise.all([
    db.selectFrom('models').selectAll().where('environment_id', '=', environmentId).orderBy('name').execute(),
    db
      .selectFrom('model_versions')
      .select(['model_name', sql<number>`max(version)`.as('v')])
      .where('environment_id', '=', environmentId)
      .groupBy('model_name')
      .execute(),
    db.selectFrom('model_aliases').selectAll().where('environment_id', '=', environmentId).execute(),
  ]);
  const latestOf = new Map(latest.map((r) => [r.model_name, Number(r.v)]));
  return models.map((m) => ({
    name: m.name,
    description: m.description,
    latest_version: latestOf.get(m.name) ?? null,
    aliases: Object.fromEntries(
      aliases.filter((a) => a.model_name === m.name).map((a) => [a.alias, a.version]),
    ),
    created_by: m.created_by,
    created_at: m.created_at.toISOString(),
  }));
}

/** @throws SlateError not_found `MODEL_NOT_FOUND` */
async function assertModel(db: Kysely<Database>, environmentId: string, name: string): Promise<void> {
  const row = await db
    .selectFrom('models')
    .select('name')
    .where('environment_id', '=', environmentId)
    .where('name', '=', name)
    .executeTakeFirst();
  if (!row) {
    throw new SlateError('not_found', 'MODEL_NOT_FOUND', `model ${name} does not exist in ${environmentId}`, {
      model: name,
    });
  }
}

async function aliasesByVersion(db: Kysely<Database>, environmentId: string, name: string) {
  const rows = await db
    .selectFrom('model_aliases')
    .select(['alias', 'version'])
    .where('environment_id', '=', environmentId)
    .where('model_name', '=', name)
    .orderBy('alias')
    .execute();
  const out = new Map<number, string[]>();
  for (const r of rows) out.set(r.version, [...(out.get(r.version) ?? []), r.alias]);
  return out;
}

/**
 * A model's versions, newest first.
 *
 * @throws SlateError not_found `MODEL_NOT_FOUND`
 */
export async function listModelVersions(
  db: Kysely<Database>,
  environmentId: string,
  name: string,
): Promise<ModelVersionView[]> {
  await assertModel(db, environmentId, name);
  const [rows, aliases] = await Promise.all([
    selectVersions(db, environmentId, name),
    aliasesByVersion(db, environmentId, name),
  ]);
  return rows.map((r) => versionView(r, aliases.get(r.version) ?? []));
}

/**
 * One version, by number or by alias.
 *
 * @throws SlateError not_found `MODEL_NOT_FOUND`, `MODEL_VERSION_NOT_FOUND`, `MODEL_ALIAS_NOT_FOUND`
 */
export async function getModelVersion(
  db: Kysely<Database>,
  environmentId: string,
  ref: ModelRef,
): Promise<ModelVersionView> {
  await assertModel(db, environmentId, ref.name);
  let version: number;
  if ('alias' in ref) {
    const alias = await db
      .selectFrom('model_aliases')
      .select('version')
      .where('environment_id', '=', environmentId)
      .where('model_name', '=', ref.name)
      .where('alias', '=', ref.alias)
      .executeTakeFirst();
    if (!alias) {
      throw new SlateError(
        'not_found',
        'MODEL_ALIAS_NOT_FOUND',
        `model ${ref.name} has no alias ${ref.alias}`,
        { model: ref.name, alias: ref.alias },
      );
    }
    version = alias.version;
  } else {
    version = ref.version;
  }
  const row = await db
    .selectFrom('model_versions')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('model_name', '=', ref.name)
    .where('version', '=', version)
    .executeTakeFirst();
  if (!row) {
    throw new SlateError(
      'not_found',
      'MODEL_VERSION_NOT_FOUND',
      `model ${ref.name} has no version ${version}`,
      { model: ref.name, version },
    );
  }
  const aliases = await aliasesByVersion(db, environmentId, ref.name);
  return versionView(row, aliases.get(row.version) ?? []);
}

/**
 * Points `alias` at `version`, atomically, recording the move in the alias history. With `expected`
 * (the version the caller believes the alias points at now, `null` for "not set"), the move happens only
 * if that is still so: two promotions racing do not silently overwrite each other.
 *
 * @throws SlateError not_found `MODEL_NOT_FOUND` / `MODEL_VERSION_NOT_FOUND`; conflict `MODEL_ALIAS_CHANGED`
 */
export async function moveModelAlias(
  db: Kysely<Database>,
  environmentId: string,
  name: string,
  alias: string,
  version: number,
  expected: number | null | undefined,
  by: string,
  now: Date,
): Promise<AliasMoveView> {
  await getModelVersion(db, environmentId, { name, version });
  return db.transaction().execute(async (trx) => {
    // The model row serialises moves of its aliases (the alias row may not exist yet to lock).
    await trx
      .selectFrom('models')
      .select('name')
      .where('environment_id', '=', environmentId)
      .where('name', '=', name)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const current = await trx
      .selectFrom('model_aliases')
      .select('version')
      .where('environment_id', '=', environmentId)
      .where('model_name', '=', name)
      .where('alias', '=', alias)
      .executeTakeFirst();
    const from = current?.version ?? null;
    if (expected !== undefined && expected !== from) {
      throw new SlateError(
        'conflict',
        'MODEL_ALIAS_CHANGED',
        `alias ${alias} of ${name} points at ${from ?? 'nothing'}, not ${expected ?? 'nothing'}`,
        { alias, current: from, expected },
      );
    }
    await trx
      .insertInto('model_aliases')
      .values({
        environment_id: environmentId,
        model_name: name,
        alias,
        version,
        updated_by: by,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc
          .columns(['environment_id', 'model_name', 'alias'])
          .doUpdateSet({ version, updated_by: by, updated_at: now }),
      )
      .execute();
    await trx
      .insertInto('model_alias_history')
      .values({
        environment_id: environmentId,
        model_name: name,
        alias,
        from_version: from,
        to_version: version,
        moved_by: by,
        moved_at: now,
      })
      .execute();
    return { alias, from_version: from, to_version: version, moved_by: by, moved_at: now.toISOString() };
  });
}

/**
 * Every move of the model's aliases, newest first (at most `limit`).
 *
 * @throws SlateError not_found `MODEL_NOT_FOUND`
 */
export async function modelAliasHistory(
  db: Kysely<Database>,
  environmentId: string,
  name: string,
  limit: number,
): Promise<AliasMoveView[]> {
  await assertModel(db, environmentId, name);
  const rows = await db
    .selectFrom('model_alias_history')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('model_name', '=', name)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    alias: r.alias,
    from_version: r.from_version,
    to_version: r.to_version,
    moved_by: r.moved_by,
    moved_at: r.moved_at.toISOString(),
  }));
}

/**
 * Resolves the model references of a deployment to the versions they name now: what the deployment pins
 * (a later alias move does not change a running deployment; it takes a new deployment).
 *
 * @throws SlateError not_found as `getModelVersion`
 */
export async function pinModels(
  db: Kysely<Database>,
  environmentId: string,
  refs: readonly ModelRef[],
): Promise<PinnedModel[]> {
  const out: PinnedModel[] = [];
  for (const ref of refs) {
    const v = await getModelVersion(db, environmentId, ref);
    out.push({
      name: v.name,
      alias: 'alias' in ref ? ref.alias : null,
      version: v.version,
      sha256: v.sha256,
      size: v.size,
      parts: [...v.parts],
      inputs: ModelSignatureSchema.parse(v.inputs),
      outputs: ModelSignatureSchema.parse(v.outputs),
    });
  }
  return out;
}
