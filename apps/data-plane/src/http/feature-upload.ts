import { coerceValue, type GraphIndex, type QueryError, toJsonValue } from '@slate/engine';
import { SlateError } from '@slate/graph';
import { z } from 'zod';
import type { FeatureValueWrite } from './feature-writer.ts';

/** `POST /v1/upload/single` as the seed product's TS client sends it (chalk.md §3.6). */
export const UploadSingleRequestSchema = z.object({
  inputs: z.record(z.string(), z.unknown()),
  outputs: z.array(z.string()).nullish(),
  context: z.object({ tags: z.array(z.string()).nullish() }).nullish(),
  correlation_id: z.string().nullish(),
  deployment_id: z.string().nullish(),
  branch_id: z.string().nullish(),
});

/** `DELETE /v1/features/rows` (chalk.md §3.6). `features` may be FQNs or names in `namespace`; none = all. */
export const DeleteRowsRequestSchema = z.object({
  namespace: z.string().min(1),
  features: z.array(z.string().min(1)).nullish(),
  tags: z.array(z.string()).nullish(),
  primary_keys: z.array(z.union([z.string(), z.number()])).min(1),
  retain_offline: z.boolean().nullish(),
  retain_online: z.boolean().nullish(),
});

/** Errors past this many are dropped: one bad column in a large upload would otherwise repeat per row. */
const MAX_ERRORS = 20;

/**
 * Turns uploaded columns (feature FQN → one value per row) into values to persist. Every namespace
 * uploaded needs its primary key column; its feature-time column, when uploaded, dates the row (else
 * `now`). Values are checked against their feature's type and stored in their JSON form.
 *
 * @returns the writes, or the request-level errors (`PARSE_FAILED` for an unknown feature or a value of the
 * wrong type, `INVALID_QUERY` for a missing primary key, a relationship, or ragged columns); never both.
 */
export function featureWrites(
  index: GraphIndex,
  columns: Readonly<Record<string, readonly unknown[]>>,
  now: number,
): { writes: FeatureValueWrite[]; errors: QueryError[] } {
  const errors: QueryError[] = [];
  const byNamespace = new Map<string, string[]>();
  const lengths = new Set(Object.values(columns).map((column) => column.length));
  if (lengths.size > 1)
    errors.push({
      code: 'INVALID_QUERY',
      category: 'REQUEST',
      message: 'every uploaded column must have the same number of rows',
    });
  for (const fqn of Object.keys(columns)) {
    const feature = index.features.get(fqn);
    if (!feature) {
      errors.push({
        code: 'PARSE_FAILED',
        category: 'REQUEST',
        feature: fqn,
        message: `Upload referenced undefined feature '${fqn}'`,
      });
    } else if (feature.kind !== 'scalar') {
      errors.push({
        code: 'INVALID_QUERY',
        category: 'REQUEST',
        feature: fqn,
        message: `'${fqn}' is a relationship: upload the related rows' own features instead`,
      });
    } else byNamespace.set(feature.namespace, [...(byNamespace.get(feature.namespace) ?? []), fqn]);
  }
  for (const name of byNamespace.keys()) {
    const primaryKey = index.namespaces.get(name)!.primaryKey;
    if (!(primaryKey in columns))
      errors.push({
        code: 'INVALID_QUERY',
        category: 'REQUEST',
        message: `uploading '${name}' features needs its primary key '${primaryKey}'`,
      });
  }
  if (errors.length > 0) return { writes: [], errors };

  const writes: FeatureValueWrite[] = [];
  const fail = (fqn: string, row: number, reason: string) =>
    errors.length < MAX_ERRORS &&
    errors.push({
      code: 'PARSE_FAILED',
      category: 'REQUEST',
      feature: fqn,
      message: `Upload value of '${fqn}' in row ${row}: ${reason}`,
    });
  for (const [name, fqns] of byNamespace) {
    const namespace = index.namespaces.get(name)!;
    const pkSpec = index.features.get(namespace.primaryKey)!;
    const timeSpec = namespace.featureTime ? index.features.get(namespace.featureTime) : undefined;
    const pkeys = columns[namespace.primaryKey]!;
    for (let row = 0; row < pkeys.length; row++) {
      const pkey = pkSpec.kind === 'scalar' ? coerceValue(pkSpec.dtype, pkeys[row]) : undefined;
      if (!pkey?.ok || (typeof pkey.value !== 'string' && typeof pkey.value !== 'number')) {
        fail(namespace.primaryKey, row, pkey && !pkey.ok ? pkey.reason : 'a primary key is required');
        continue;
      }
      let observedAt = now;
      if (timeSpec?.kind === 'scalar' && columns[timeSpec.fqn]) {
        const time = coerceValue(timeSpec.dtype, columns[timeSpec.fqn]![row]);
        if (time.ok && time.value instanceof Date) observedAt = time.value.getTime();
        else if (!time.ok) fail(timeSpec.fqn, row, time.reason);
      }
      for (const fqn of fqns) {
        if (fqn === namespace.primaryKey) continue;
        const spec = index.features.get(fqn)!;
        if (spec.kind !== 'scalar') continue;
        const coerced = coerceValue(spec.dtype, columns[fqn]![row]);
        if (!coerced.ok) fail(fqn, row, coerced.reason);
        else writes.push({ feature: fqn, pkey: pkey.value, value: toJsonValue(coerced.value), observedAt });
      }
    }
  }
  return errors.length > 0 ? { writes: [], errors } : { writes, errors };
}

/**
 * The error an upload rejected by `featureWrites` fails with: its first error's code, the first few
 * messages, and every error in `details.errors` (which the edges return as the seed product's `errors`).
 */
export function uploadRejected(errors: readonly { code: string; message: string }[]): SlateError {
  return new SlateError(
    'input',
    errors[0]!.code,
    `the upload was rejected: ${errors
      .slice(0, 3)
      .map((e) => e.message)
      .join('; ')}`,
    { errors },
  );
}
