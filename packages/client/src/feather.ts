import {
  Table as ArrowTable,
  Bool,
  type DataType,
  Float64,
  Int64,
  type Table,
  TimestampMillisecond,
  tableFromIPC,
  tableToIPC,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import type { ChalkError, JsonValue, OnlineQueryRequest } from './online-query.ts';

/** Arrow's IPC writer, for callers that load this module lazily (`SlateClient.uploadFeatures`). */
export { tableToIPC };

/** One query of a bulk or multi-query: the online-query fields, with a column of values per input. */
export interface BulkQueryRequest extends Omit<OnlineQueryRequest, 'inputs' | 'now'> {
  /** Feature FQN → one value per row; every column has the same length. */
  readonly inputs: Readonly<Record<string, readonly unknown[]>>;
  /** ISO-8601 time the query runs "as of". */
  readonly now?: string;
}

/** One query's answer from `POST /v1/query/feather`. */
export interface BulkQueryResult {
  /** One object per input row: outputs, scalar inputs and `__ts__`; int64 values as numbers when exact. */
  readonly rows: Record<string, unknown>[];
  /** The scalar results as sent (int64 columns read as BigInt). */
  readonly table: Table;
  /** Has-many outputs: feature FQN → table of related rows (each carrying the root's primary key). */
  readonly groups: Readonly<Record<string, Table>>;
  readonly errors: ChalkError[];
  readonly meta: Record<string, JsonValue> | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function u64(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value));
  return bytes;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The Arrow type a column of JS values travels as: integers Int64, other numbers Float64, dates timestamps. */
function inferType(values: readonly unknown[]): DataType | undefined {
  const sample = values.find((value) => value !== null && value !== undefined);
  if (typeof sample === 'bigint') return new Int64();
  if (typeof sample === 'number')
    return values.every((v) => v === null || v === undefined || Number.isInteger(v))
      ? new Int64()
      : new Float64();
  if (typeof sample === 'string') return new Utf8();
  if (typeof sample === 'boolean') return new Bool();
  if (sample instanceof Date) return new TimestampMillisecond('UTC');
  return undefined;
}

/** Input columns as an Arrow table; composite values (lists, structs) are typed by apache-arrow's inference. */
export function inputsTable(inputs: Readonly<Record<string, readonly unknown[]>>): Table {
  const columns: Record<string, Vector> = {};
  for (const [fqn, values] of Object.entries(inputs)) {
    const type = inferType(values);
    const prepared =
      type instanceof Int64
        ? values.map((v) => (v === null || v === undefined ? null : BigInt(v as number | bigint)))
        : [...values];
    columns[fqn] = type ? vectorFromArray(prepared, type) : vectorFromArray(prepared as unknown[]);
  }
  return new ArrowTable(columns);
}

/**
 * A `POST /v1/query/feather` body (chalk.md §3.5): `chal1`, then per query a u64-BE length + JSON header
 * (the query minus `inputs`) and a u64-BE length + Arrow IPC stream of the inputs.
 */
export function encodeFeatherRequest(queries: readonly BulkQueryRequest[]): Uint8Array {
  const parts: Uint8Array[] = [encoder.encode('chal1')];
  for (const { inputs, ...rest } of queries) {
    const header = encoder.encode(
      JSON.stringify({
        ...rest,
        planner_options: { pack_groups_into_structs: false, ...(rest.planner_options ?? {}) },
        feather_body_type: 'RECORD_BATCHES',
        response_compression_scheme: 'uncompressed',
        client_supports_64bit: true,
        client_supported_64bit_types: ['Int64', 'LargeBinary', 'UInt64', 'LargeUtf8', 'Float64'],
      }),
    );
    const body = tableToIPC(inputsTable(inputs), 'stream');
    parts.push(u64(header.length), header, u64(body.length), body);
  }
  return concat(parts);
}

/** A decoded `CHALK_BYTE_TRANSMISSION` model: JSON attributes and named byte values of both sections. */
export interface ByteModel {
  readonly attrs: Record<string, unknown>;
  readonly bytes: Map<string, Uint8Array>;
  readonly serializables: Map<string, Uint8Array>;
}

const MAGIC = 'CHALK_BYTE_TRANSMISSION';

/**
 * Decodes a byte model. Byte values are read in the order of their length map's text (integer-like keys
 * included, which `JSON.parse` would reorder).
 * @throws Error when the bytes are not a byte model.
 */
export function decodeByteModel(raw: Uint8Array): ByteModel {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (decoder.decode(raw.subarray(0, MAGIC.length)) !== MAGIC)
    throw new Error(`the answer is not a ${MAGIC} model`);
  let offset = MAGIC.length;
  const text = () => {
    const length = Number(view.getBigUint64(offset));
    offset += 8;
    const value = decoder.decode(raw.subarray(offset, offset + length));
    offset += length;
    return value;
  };
  const entries = () => {
    const map = new Map<string, Uint8Array>();
    for (const match of text().matchAll(/"((?:[^"\\]|\\.)*)"\s*:\s*(\d+)/g)) {
      const length = Number(match[2]);
      map.set(JSON.parse(`"${match[1]}"`), raw.subarray(offset, offset + length));
      offset += length;
    }
    return map;
  };
  const attrs = JSON.parse(text()) as Record<string, unknown>;
  text(); // pydantic attributes: unused by Slate
  const bytes = entries();
  const serializables = offset < raw.length ? entries() : new Map<string, Uint8Array>();
  return { attrs, bytes, serializables };
}

/** Encodes a byte model with JSON `attrs` and named byte values (for `POST /v1/upload_features/multi`). */
export function encodeByteModel(
  attrs: Record<string, unknown>,
  bytes: readonly [string, Uint8Array][],
): Uint8Array {
  const json = (value: string) => {
    const encoded = encoder.encode(value);
    return [u64(encoded.length), encoded];
  };
  return concat([
    encoder.encode(MAGIC),
    ...json(JSON.stringify(attrs)),
    ...json('{}'),
    ...json(`{${bytes.map(([name, value]) => `${JSON.stringify(name)}:${value.length}`).join(',')}}`),
    ...bytes.map(([, value]) => value),
    ...json('{}'),
  ]);
}

/** Reads a feather answer: one result per query, in request order. */
export function decodeFeatherResponse(raw: Uint8Array): BulkQueryResult[] {
  const outer = decodeByteModel(raw);
  const results = outer.serializables.get('query_results_bytes');
  if (!results) throw new Error("the answer has no 'query_results_bytes'");
  const inner = decodeByteModel(results);
  return [...inner.bytes.entries()]
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, bytes]) => {
      const chunk = decodeByteModel(bytes);
      const scalar = chunk.bytes.get('scalar_data');
      const table = scalar && scalar.length > 0 ? tableFromIPC(scalar) : new ArrowTable();
      const groupsModel = chunk.serializables.get('groups_data') ?? chunk.bytes.get('groups_data');
      const groups: Record<string, Table> = {};
      if (groupsModel)
        for (const [fqn, group] of decodeByteModel(groupsModel).bytes) groups[fqn] = tableFromIPC(group);
      const errors = ((chunk.attrs.errors as string[] | null) ?? []).map((e) => JSON.parse(e) as ChalkError);
      const meta = typeof chunk.attrs.meta === 'string' ? JSON.parse(chunk.attrs.meta) : null;
      return { rows: plainRows(table), table, groups, errors, meta };
    });
}

function plainRows(table: Table): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row = table.get(i)?.toJSON() ?? {};
    for (const key of Object.keys(row)) {
      const value = row[key];
      if (typeof value === 'bigint' && Number.isSafeInteger(Number(value))) row[key] = Number(value);
    }
    rows.push(row);
  }
  return rows;
}
