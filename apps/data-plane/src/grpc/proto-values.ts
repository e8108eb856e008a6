import { create } from '@bufbuild/protobuf';
import {
  type Duration,
  DurationSchema,
  ListValueSchema,
  NullValue,
  StructSchema,
  type Timestamp,
  timestampDate,
  timestampFromDate,
  type Value,
  ValueSchema,
} from '@bufbuild/protobuf/wkt';
import { SlateError } from '@slate/graph';

/** Deepest nesting accepted in a `google.protobuf.Value` (a hostile request could nest without end). */
const MAX_DEPTH = 64;

/**
 * A JSON-like value as `google.protobuf.Value`. Dates become ISO strings, bigints numbers when exact (else
 * decimal strings), `undefined` null — as the JSON API writes them.
 */
export function toProtoValue(value: unknown, depth = 0): Value {
  if (depth > MAX_DEPTH) return create(ValueSchema, { kind: { case: 'stringValue', value: '…' } });
  if (value === null || value === undefined)
    return create(ValueSchema, { kind: { case: 'nullValue', value: NullValue.NULL_VALUE } });
  switch (typeof value) {
    case 'number':
      return create(ValueSchema, { kind: { case: 'numberValue', value } });
    case 'bigint': {
      const number = Number(value);
      return Number.isSafeInteger(number)
        ? create(ValueSchema, { kind: { case: 'numberValue', value: number } })
        : create(ValueSchema, { kind: { case: 'stringValue', value: value.toString() } });
    }
    case 'string':
      return create(ValueSchema, { kind: { case: 'stringValue', value } });
    case 'boolean':
      return create(ValueSchema, { kind: { case: 'boolValue', value } });
  }
  if (value instanceof Date)
    return create(ValueSchema, { kind: { case: 'stringValue', value: value.toISOString() } });
  if (Array.isArray(value)) {
    const values = value.map((item) => toProtoValue(item, depth + 1));
    return create(ValueSchema, { kind: { case: 'listValue', value: create(ListValueSchema, { values }) } });
  }
  if (typeof value === 'object') {
    const fields: Record<string, Value> = {};
    for (const [key, item] of Object.entries(value)) fields[key] = toProtoValue(item, depth + 1);
    return create(ValueSchema, { kind: { case: 'structValue', value: create(StructSchema, { fields }) } });
  }
  return create(ValueSchema, { kind: { case: 'stringValue', value: String(value) } });
}

/**
 * A `google.protobuf.Value` as the JSON value the query path takes (an unset value is null).
 *
 * @throws SlateError `INVALID_QUERY` (kind `input`) for values nested deeper than 64 levels.
 */
export function fromProtoValue(value: Value | undefined, depth = 0): unknown {
  if (depth > MAX_DEPTH)
    throw new SlateError('input', 'INVALID_QUERY', `a value is nested deeper than ${MAX_DEPTH} levels`);
  const kind = value?.kind;
  switch (kind?.case) {
    case 'numberValue':
    case 'stringValue':
    case 'boolValue':
      return kind.value;
    case 'listValue':
      return kind.value.values.map((item) => fromProtoValue(item, depth + 1));
    case 'structValue': {
      const object: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(kind.value.fields))
        object[key] = fromProtoValue(item, depth + 1);
      return object;
    }
    default:
      return null;
  }
}

/** An ISO-8601 time (or a Date) as a Timestamp; undefined for null or an unparsable time. */
export function toProtoTimestamp(time: unknown): Timestamp | undefined {
  if (time === null || time === undefined) return undefined;
  const date = time instanceof Date ? time : new Date(String(time));
  return Number.isNaN(date.getTime()) ? undefined : timestampFromDate(date);
}

/**
 * A Timestamp as an ISO-8601 string.
 *
 * @throws SlateError `INVALID_QUERY` (kind `input`) for a time outside what a Date holds.
 */
export function fromProtoTimestamp(timestamp: Timestamp): string {
  const date = timestampDate(timestamp);
  if (Number.isNaN(date.getTime()))
    throw new SlateError('input', 'INVALID_QUERY', `timestamp ${timestamp.seconds}s is out of range`);
  return date.toISOString();
}

/** Seconds as a Duration. */
export function toProtoDuration(seconds: number): Duration {
  const whole = Math.floor(seconds);
  return create(DurationSchema, { seconds: BigInt(whole), nanos: Math.round((seconds - whole) * 1e9) });
}
