import type { DType } from '@slate/graph';
import { SlateError } from '@slate/graph';
import {
  Bool,
  type DataType,
  DateDay,
  Field,
  Float64,
  Int64,
  List,
  makeData,
  makeVector,
  Struct,
  type Table,
  TimestampMillisecond,
  Utf8,
  Vector,
  vectorFromArray,
} from 'apache-arrow';

/**
 * The Arrow type a feature's values travel as. Integers are Int64 (the seed product's clients read them as
 * BigInt), datetimes millisecond timestamps in UTC, documents JSON text.
 */
export function arrowTypeOf(dtype: DType): DataType {
  switch (dtype.type) {
    case 'int':
      return new Int64();
    case 'float':
      return new Float64();
    case 'string':
    case 'enum':
    case 'document':
      return new Utf8();
    case 'bool':
      return new Bool();
    case 'datetime':
      return new TimestampMillisecond('UTC');
    case 'date':
      return new DateDay();
    case 'list':
    case 'set':
      return new List(new Field('item', arrowTypeOf(dtype.of), true));
    case 'vector':
      return new List(new Field('item', new Float64(), true));
    case 'struct':
      return new Struct(
        Object.entries(dtype.fields).map(([name, field]) => new Field(name, arrowTypeOf(field), true)),
      );
  }
}

/** An engine value as the Arrow builder for `arrowTypeOf(dtype)` takes it. */
export function toArrowValue(dtype: DType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (dtype.type) {
    case 'int':
      return typeof value === 'bigint' ? value : BigInt(Math.trunc(Number(value)));
    case 'datetime':
      return value instanceof Date ? value : new Date(value as string | number);
    case 'date':
      return value instanceof Date ? value : new Date(`${value as string}T00:00:00Z`);
    case 'document':
      return JSON.stringify(value);
    case 'list':
    case 'set':
      return (value as unknown[]).map((item) => toArrowValue(dtype.of, item));
    case 'struct': {
      const row = value as Record<string, unknown>;
      return Object.fromEntries(
        Object.entries(dtype.fields).map(([name, field]) => [name, toArrowValue(field, row[name])]),
      );
    }
    default:
      return value;
  }
}

/**
 * A column of engine values as an Arrow vector of `arrowTypeOf(dtype)`. Rows `failed` marks are null.
 * Floats, integers and datetimes (most bulk-query columns) fill their typed array and validity bitmap
 * directly; Arrow's generic builder costs several times more per value. Both paths write the same IPC bytes
 * (arrow-values.test.ts).
 */
export function toArrowVector(
  dtype: DType,
  values: readonly unknown[],
  failed?: (row: number) => boolean,
): Vector {
  const direct = directVector(dtype, values, failed);
  if (direct) return direct;
  return vectorFromArray(
    values.map((value, row) => (failed?.(row) ? null : toArrowValue(dtype, value))),
    arrowTypeOf(dtype),
  );
}

/** Buffer sizes as Arrow's builders allocate them (multiples of 64 bytes), so the IPC bytes match theirs. */
const padded = (bytes: number) => Math.ceil(bytes / 64) * 64;

/** The typed-array path of `toArrowVector`, or `undefined` for the types it leaves to the builder. */
function directVector(
  dtype: DType,
  values: readonly unknown[],
  failed: ((row: number) => boolean) | undefined,
): Vector | undefined {
  const length = values.length;
  const isNull = (row: number) => {
    const value = values[row];
    return value === null || value === undefined || (failed?.(row) ?? false);
  };
  let nullCount = 0;
  for (let row = 0; row < length; row++) if (isNull(row)) nullCount++;
  let nullBitmap: Uint8Array | undefined;
  if (nullCount > 0) {
    nullBitmap = new Uint8Array(padded((length + 7) >> 3));
    for (let row = 0; row < length; row++) if (!isNull(row)) nullBitmap[row >> 3]! |= 1 << (row & 7);
  }
  switch (dtype.type) {
    case 'float': {
      const data = new Float64Array(padded(length * 8) / 8);
      for (let row = 0; row < length; row++) if (!isNull(row)) data[row] = values[row] as number;
      return makeVector(makeData({ type: new Float64(), length, nullCount, nullBitmap, data }));
    }
    case 'int': {
      const data = new BigInt64Array(padded(length * 8) / 8);
      for (let row = 0; row < length; row++)
        if (!isNull(row)) data[row] = toArrowValue(dtype, values[row]) as bigint;
      return makeVector(makeData({ type: new Int64(), length, nullCount, nullBitmap, data }));
    }
    case 'datetime': {
      const data = new BigInt64Array(padded(length * 8) / 8);
      for (let row = 0; row < length; row++)
        if (!isNull(row)) data[row] = BigInt((toArrowValue(dtype, values[row]) as Date).getTime());
      const type = new TimestampMillisecond('UTC');
      return makeVector(makeData({ type, length, nullCount, nullBitmap, data }));
    }
    default:
      return undefined;
  }
}

/**
 * Arrow input columns as the engine's columnar inputs. Nested values become plain arrays and objects;
 * 64-bit integers become numbers when they fit exactly and strings otherwise, so no precision is lost.
 */
export function tableToInputs(table: Table): Record<string, unknown[]> {
  const inputs: Record<string, unknown[]> = {};
  // apache-arrow builds vectors lazily: a table that decoded can still fail here on a malformed batch
  // (a column with no data), which is the client's body at fault, not a server fault.
  try {
    for (const field of table.schema.fields) {
      const column = table.getChild(field.name);
      if (!column) continue;
      const values: unknown[] = new Array(column.length);
      for (let row = 0; row < column.length; row++) values[row] = fromArrowValue(column.get(row));
      inputs[field.name] = values;
    }
  } catch (error) {
    if (error instanceof SlateError) throw error;
    throw new SlateError(
      'input',
      'PARSE_FAILED',
      `the Arrow body is malformed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return inputs;
}

function fromArrowValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
  if (typeof value !== 'object') return value;
  if (value instanceof Date || value instanceof Uint8Array) return value;
  if (value instanceof Vector) return Array.from(value as Iterable<unknown>, fromArrowValue);
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    const plain = (value as { toJSON(): Record<string, unknown> }).toJSON();
    return Object.fromEntries(Object.entries(plain).map(([k, v]) => [k, fromArrowValue(v)]));
  }
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<unknown>, fromArrowValue);
  return value;
}
