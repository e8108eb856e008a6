import { randomUUID } from 'node:crypto';
import { coerceValue, type EngineResult, type OutputColumn, type QueryError } from '@slate/engine';
import { type FeatureSpec, SlateError } from '@slate/graph';
import { Table as ArrowTable, type Table, tableToIPC, type Vector } from 'apache-arrow';
import { z } from 'zod';
import { tableToInputs, toArrowVector } from './arrow-values.ts';
import { encodeByteModel } from './byte-model.ts';
import { decodeFeatherRequest } from './feather-request.ts';
import { check64BitSupport, checkFeatherWireOptions } from './feather-wire-options.ts';
import { engineQuery, type OnlineQueryCall, OnlineQueryRequestSchema, queryMeta } from './online-query.ts';
import { withWireStacks } from './wire-stacks.ts';

/** Input rows one feather request may carry, over all its queries (the data plane's default). */
export const DEFAULT_MAX_FEATHER_ROWS = 50_000;

const isoTime = z.iso.datetime({ offset: true });

/**
 * The JSON header of one feather query: the online-query fields minus `inputs` (chalk.md §3.5). `now` may
 * be one time or one per row (all equal: the engine runs a query at one instant). Unknown fields are ignored.
 */
export const FeatherQueryHeaderSchema = OnlineQueryRequestSchema.omit({ inputs: true, now: true }).extend({
  now: z.union([isoTime, z.array(isoTime)]).nullish(),
  feather_body_type: z.string().nullish(),
  response_compression_scheme: z.string().nullish(),
  client_supports_64bit: z.boolean().nullish(),
  client_supported_64bit_types: z.array(z.string()).nullish(),
});
export type FeatherQueryHeader = z.infer<typeof FeatherQueryHeaderSchema>;

/** What one answered feather query reports to the route (for logs and metrics). */
export interface FeatherQueryOutcome {
  readonly queryId: string;
  readonly correlationId: string | null;
  readonly queryName: string | undefined;
  readonly rows: number;
  readonly result: EngineResult;
  readonly inputs: Readonly<Record<string, readonly unknown[]>>;
}

/**
 * Answers `POST /v1/query/feather`: every query of the body runs (concurrently) and the answer is the
 * `CHALK_BYTE_TRANSMISSION` model whose serializable `query_results_bytes` holds one model per query,
 * keyed `"0"`, `"1"`, … — attrs `has_data`, `errors` (JSON strings), `meta` (JSON string); bytes
 * `scalar_data` (Arrow IPC stream: outputs, scalar inputs, `__ts__`); serializable `groups_data` (a model of
 * has-many feature → Arrow IPC stream). Request-level query errors (an unknown feature, a wrong input type)
 * are data in that query's `errors`, as for the JSON endpoint.
 *
 * @throws SlateError `PARSE_FAILED` for a body that does not decode, `INVALID_QUERY` for a header of the
 * wrong shape or without outputs, or more than `limits.maxRows` input rows.
 */
export async function runFeatherQueries(
  body: Uint8Array,
  call: OnlineQueryCall,
  limits: { maxRows: number } = { maxRows: DEFAULT_MAX_FEATHER_ROWS },
): Promise<{ body: Buffer; outcomes: FeatherQueryOutcome[] }> {
  const decoded = decodeFeatherRequest(body, limits.maxRows);
  // Arrow bodies are not validated against their buffers: a few flipped bits can declare millions of rows.
  const rows = decoded.reduce((sum, query) => sum + query.inputs.numRows, 0);
  if (rows > limits.maxRows) {
    throw new SlateError(
      'input',
      'INVALID_QUERY',
      `the request holds ${rows} input rows; this data plane answers at most ${limits.maxRows} per request`,
    );
  }
  const queries = decoded.map((query, index) => {
    const parsed = FeatherQueryHeaderSchema.safeParse(query.header);
    if (!parsed.success) {
      // Prefix the issue paths with the query index, so a multi-query client sees which one was wrong.
      for (const issue of parsed.error.issues) issue.path.unshift(`queries[${index}]`);
      throw parsed.error;
    }
    return { header: parsed.data, inputs: query.inputs };
  });
  const answered = await Promise.all(queries.map((query) => runOne(query.header, query.inputs, call)));
  const perQuery = answered.map((answer, index) => [String(index), answer.model] as const);
  // Clients read the per-query entries in sorted key order ("0", "1", "10", "2", …): write them that way.
  perQuery.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const inner = encodeByteModel({ bytes: perQuery });
  return {
    body: encodeByteModel({ serializables: [['query_results_bytes', inner]] }),
    outcomes: answered.map((answer) => answer.outcome),
  };
}

async function runOne(
  header: FeatherQueryHeader,
  table: Table,
  call: OnlineQueryCall,
): Promise<{ model: Buffer; outcome: FeatherQueryOutcome }> {
  const answer = await answerFeatherQuery(header, table, call);
  const model = encodeByteModel({
    attrs: {
      has_data: answer.outcome.result.columns.length > 0,
      errors: answer.errors.map((error) => JSON.stringify(error)),
      meta: JSON.stringify(answer.meta),
    },
    bytes: [['scalar_data', tableToIPC(answer.scalars, 'stream')]],
    serializables: [
      [
        'groups_data',
        encodeByteModel({
          bytes: answer.groups.map(([fqn, group]) => [fqn, tableToIPC(group, 'stream')] as const),
        }),
      ],
    ],
  });
  return { model, outcome: answer.outcome };
}

/** One answered bulk query, before any transport encodes it. */
export interface FeatherQueryAnswer {
  /** One row per input row: scalar outputs, scalar inputs and `__ts__`. */
  readonly scalars: Table;
  /** One table per has-many output: its related rows, keyed by the root's primary key. */
  readonly groups: readonly (readonly [string, Table])[];
  readonly errors: readonly QueryError[];
  /** The response `meta` object (chalk.md §3.4). */
  readonly meta: Record<string, unknown>;
  readonly outcome: FeatherQueryOutcome;
}

/**
 * Runs one bulk query (a validated header and its input rows) and shapes its answer as tables: the part
 * of the feather endpoint every transport shares (HTTP's byte model, gRPC's `OnlineQueryBulkResponse`).
 *
 * @throws SlateError `INVALID_QUERY` (kind `input`) when neither the query nor a matching named query names
 * outputs, for a body type or compression other than `RECORD_BATCHES` / `uncompressed`, or for a 64-bit
 * column the client says it does not read (see `check64BitSupport`).
 */
export async function answerFeatherQuery(
  header: FeatherQueryHeader,
  table: Table,
  call: OnlineQueryCall,
): Promise<FeatherQueryAnswer> {
  checkFeatherWireOptions(header);
  const started = performance.now();
  const queryId = randomUUID();
  const nows = header.now === undefined || header.now === null ? [] : [header.now].flat();
  const now = nows.length > 0 ? new Date(nows[0]!) : new Date();
  const inputs = tableToInputs(table);
  const result = withWireStacks(
    await call.engine.query(engineQuery(header, call, inputs, now)),
    call.stackTraces ?? 'off',
  );
  const errors = [...result.errors];
  if (nows.some((time) => new Date(time).getTime() !== now.getTime())) {
    errors.unshift({
      code: 'INVALID_QUERY',
      category: 'REQUEST',
      message: 'every row of a feather query must share one `now`; the first one was used',
    });
  }
  const { scalars, groups } = resultTables(result, inputs, header, call, now);
  check64BitSupport(header, [scalars, ...groups.map(([, group]) => group)]);
  return {
    scalars,
    groups,
    errors,
    meta: queryMeta(header, call, { queryId, now, started, result }),
    outcome: {
      queryId,
      correlationId: header.correlation_id ?? null,
      queryName: header.query_name ?? undefined,
      rows: result.rowCount,
      result,
      inputs,
    },
  };
}

/** The scalar table (one row per input row) and one table per has-many output. */
function resultTables(
  result: EngineResult,
  inputs: Record<string, unknown[]>,
  header: FeatherQueryHeader,
  call: OnlineQueryCall,
  now: Date,
): { scalars: Table; groups: [string, Table][] } {
  const index = call.engine.planner.index;
  const features = index.features;
  const packGroups = header.planner_options?.pack_groups_into_structs === true;
  const columns: Record<string, Vector> = {};
  const groups: [string, Table][] = [];
  if (result.columns.length === 0) return { scalars: new ArrowTable(), groups };

  for (const column of result.columns) {
    // A has-many restricted to a column (`user.transactions.amount`) is answered by its relation's table.
    const spec =
      column.kind === 'has_many' && column.fields
        ? features.get(column.fqn.split('.', 2).join('.'))
        : // A has-one path (`user.profile.email`) is no feature of its own: resolve it to its target's.
          (features.get(column.fqn) ?? index.resolve(column.fqn)?.spec);
    const failed = (row: number) => Boolean(column.errors[row]);
    if (column.kind === 'struct' && column.dtype) {
      columns[column.fqn] = toArrowVector(column.dtype, column.values, failed);
    } else if (spec?.kind === 'scalar') {
      columns[column.fqn] = toArrowVector(spec.dtype, column.values, failed);
    } else if (spec?.kind === 'has_many') {
      const group = hasManyTable(column, spec, inputs, call);
      groups.push([column.fqn, group.table]);
      if (packGroups) Object.assign(columns, group.packed);
    }
  }
  for (const [fqn, values] of Object.entries(inputs)) {
    const spec = features.get(fqn);
    if (spec?.kind !== 'scalar' || fqn in columns) continue;
    columns[fqn] = toArrowVector(
      spec.dtype,
      values.map((value) => {
        const coerced = coerceValue(spec.dtype, value);
        return coerced.ok ? coerced.value : null;
      }),
    );
  }
  columns.__ts__ = toArrowVector({ type: 'datetime' }, new Array<Date>(result.rowCount).fill(now));
  return { scalars: new ArrowTable(columns), groups };
}

function withoutFailures(column: OutputColumn): unknown[] {
  return column.values.map((value, row) => (column.errors[row] ? null : value));
}

/**
 * A has-many output as a table of its related rows, each carrying the root's primary key, plus (for
 * `pack_groups_into_structs`) one list column per related feature, `<has-many fqn>.<feature>`, per root row.
 */
function hasManyTable(
  column: OutputColumn,
  spec: Extract<FeatureSpec, { kind: 'has_many' }>,
  inputs: Record<string, unknown[]>,
  call: OnlineQueryCall,
): { table: Table; packed: Record<string, Vector> } {
  const index = call.engine.planner.index;
  const root = index.namespaces.get(spec.namespace);
  const rootKey = root ? index.features.get(root.primaryKey) : undefined;
  const target = index.namespaces.get(spec.target);
  const fields = (target?.features ?? []).filter(
    (feature): feature is Extract<FeatureSpec, { kind: 'scalar' }> =>
      feature.kind === 'scalar' && (column.fields?.includes(feature.name) ?? true),
  );
  const rowsPerRoot = withoutFailures(column).map(
    (value) => (Array.isArray(value) ? value : []) as Record<string, unknown>[],
  );
  const flat: Record<string, Vector> = {};
  if (rootKey?.kind === 'scalar') {
    const keys = inputs[rootKey.fqn] ?? [];
    flat[rootKey.fqn] = toArrowVector(
      rootKey.dtype,
      rowsPerRoot.flatMap((rows, row) => rows.map(() => coerceOrNull(rootKey, keys[row]))),
    );
  }
  const packed: Record<string, Vector> = {};
  for (const field of fields) {
    flat[field.fqn] = toArrowVector(
      field.dtype,
      rowsPerRoot.flatMap((rows) => rows.map((row) => row[field.name] ?? null)),
    );
    packed[`${spec.fqn}.${field.name}`] = toArrowVector(
      { type: 'list', of: field.dtype },
      rowsPerRoot.map((rows) => rows.map((row) => row[field.name] ?? null)),
    );
  }
  return { table: new ArrowTable(flat), packed };
}

function coerceOrNull(spec: Extract<FeatureSpec, { kind: 'scalar' }>, value: unknown): unknown {
  const coerced = coerceValue(spec.dtype, value);
  return coerced.ok ? coerced.value : null;
}
