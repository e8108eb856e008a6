import { type Kysely, sql } from 'kysely';

/**
 * The model registry: models by name per environment, their immutable versions (artifact in the
 * environment's `model` bucket, content-addressed by sha256), aliases (`production`, `staging`) and every
 * move of an alias.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('models')
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('models_pk', ['environment_id', 'name'])
    .execute();
  await db.schema
    .createTable('model_versions')
    .addColumn('environment_id', 'text', (c) => c.notNull())
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    /** `onnx` (the only runtime so far). */
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    /** The artifact's parts, in order: `[{sha256, size}]` (each at `models/parts/<sha256>`). */
    .addColumn('parts', 'jsonb', (c) => c.notNull())
    .addColumn('input_schema', 'jsonb', (c) => c.notNull())
    .addColumn('output_schema', 'jsonb', (c) => c.notNull())
    .addColumn('metadata', 'jsonb', (c) => c.notNull())
    .addColumn('metrics', 'jsonb', (c) => c.notNull())
    .addColumn('training_dataset_revision', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('model_versions_pk', ['environment_id', 'model_name', 'version'])
    .addForeignKeyConstraint(
      'model_versions_model_fk',
      ['environment_id', 'model_name'],
      'models',
      ['environment_id', 'name'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();
  await db.schema
    .createTable('model_aliases')
    .addColumn('environment_id', 'text', (c) => c.notNull())
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('model_aliases_pk', ['environment_id', 'model_name', 'alias'])
    .addForeignKeyConstraint(
      'model_aliases_version_fk',
      ['environment_id', 'model_name', 'version'],
      'model_versions',
      ['environment_id', 'model_name', 'version'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();
  await db.schema
    .createTable('model_alias_history')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('environment_id', 'text', (c) => c.notNull())
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('alias', 'text', (c) => c.notNull())
    /** Null when the alias was created by this move. */
    .addColumn('from_version', 'integer')
    .addColumn('to_version', 'integer', (c) => c.notNull())
    .addColumn('moved_by', 'text', (c) => c.notNull())
    .addColumn('moved_at', 'timestamptz', (c) => c.notNull())
    .addForeignKeyConstraint(
      'model_alias_history_model_fk',
      ['environment_id', 'model_name'],
      'models',
      ['environment_id', 'name'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();
  await db.schema
    .createIndex('model_alias_history_by_alias')
    .on('model_alias_history')
    .columns(['environment_id', 'model_name', 'alias', 'id'])
    .execute();
}
