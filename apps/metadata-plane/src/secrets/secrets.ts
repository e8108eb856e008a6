import { SlateError } from '@slate/graph';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database, EnvironmentRow } from '../db/schema.ts';
import { sealToPublicKey } from './sealed-box.ts';

export const SecretNameSchema = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/,
    'letters, digits, _ . -; starting with a letter or _; at most 128',
  );
export const PutSecretBodySchema = z.object({ value: z.string().max(64 * 1024) });

/** What the API shows of a secret: never its value, sealed or not. */
export interface SecretView {
  readonly name: string;
  readonly environment_id: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly updated_by: string;
}

/** What a data plane receives in its desired state. */
export interface DesiredSecret {
  readonly name: string;
  readonly sealed: string;
  readonly updated_at: string;
}

/** Associated data a sealed secret is bound to: it opens only as this environment's secret of this name. */
export function secretAad(environmentId: string, name: string): string {
  return `${environmentId}/${name}`;
}

/**
 * Stores a secret sealed to the public key of the data plane serving the environment; the plaintext is
 * dropped here and never written anywhere.
 *
 * @throws SlateError conflict `NO_DATA_PLANE` / `DATA_PLANE_KEY_MISSING` when there is no key to seal to.
 */
export async function putSecret(
  db: Kysely<Database>,
  env: EnvironmentRow,
  name: string,
  value: string,
  by: string,
  now: Date,
): Promise<SecretView> {
  if (!env.data_plane_id) {
    throw new SlateError(
      'conflict',
      'NO_DATA_PLANE',
      `environment ${env.id} is not assigned to a data plane yet`,
    );
  }
  const plane = await db
    .selectFrom('data_planes')
    .select(['id', 'public_key'])
    .where('id', '=', env.data_plane_id)
    .executeTakeFirstOrThrow();
  if (!plane.public_key) {
    throw new SlateError(
      'conflict',
      'DATA_PLANE_KEY_MISSING',
      `data plane ${plane.id} registered no public key, so secrets cannot be sealed to it`,
    );
  }
  const sealed = sealToPublicKey(plane.public_key, value, secretAad(env.id, name));
  const row = await db
    .insertInto('secrets')
    .values({
      environment_id: env.id,
      name,
      sealed,
      data_plane_id: plane.id,
      updated_by: by,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc
        .columns(['environment_id', 'name'])
        .doUpdateSet({ sealed, data_plane_id: plane.id, updated_by: by, updated_at: now }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
  return view(row);
}

function view(row: {
  name: string;
  environment_id: string;
  created_at: Date;
  updated_at: Date;
  updated_by: string;
}): SecretView {
  return {
    name: row.name,
    environment_id: row.environment_id,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    updated_by: row.updated_by,
  };
}

export async function listSecrets(db: Kysely<Database>, environmentId: string): Promise<SecretView[]> {
  const rows = await db
    .selectFrom('secrets')
    .select(['name', 'environment_id', 'created_at', 'updated_at', 'updated_by'])
    .where('environment_id', '=', environmentId)
    .orderBy('name')
    .execute();
  return rows.map(view);
}

/** @throws SlateError not_found `SECRET_NOT_FOUND` */
export async function deleteSecret(db: Kysely<Database>, environmentId: string, name: string): Promise<void> {
  const result = await db
    .deleteFrom('secrets')
    .where('environment_id', '=', environmentId)
    .where('name', '=', name)
    .executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) {
    throw new SlateError(
      'not_found',
      'SECRET_NOT_FOUND',
      `secret ${name} does not exist in ${environmentId}`,
    );
  }
}

/** The sealed secrets of the environments a data plane serves, sealed to that data plane only. */
export async function desiredSecrets(
  db: Kysely<Database>,
  dataPlaneId: string,
): Promise<Map<string, DesiredSecret[]>> {
  const rows = await db
    .selectFrom('secrets')
    .innerJoin('environments', 'environments.id', 'secrets.environment_id')
    .select(['secrets.environment_id', 'secrets.name', 'secrets.sealed', 'secrets.updated_at'])
    .where('environments.data_plane_id', '=', dataPlaneId)
    .where('secrets.data_plane_id', '=', dataPlaneId)
    .orderBy('secrets.environment_id')
    .orderBy('secrets.name')
    .execute();
  const out = new Map<string, DesiredSecret[]>();
  for (const r of rows) {
    const list = out.get(r.environment_id) ?? [];
    list.push({ name: r.name, sealed: r.sealed, updated_at: r.updated_at.toISOString() });
    out.set(r.environment_id, list);
  }
  return out;
}
