import type { DType } from '@slate/graph';

/**
 * Converts a value arriving from JSON, an online store or a resolver into the engine's representation of
 * `dtype` (a `Date` for datetimes, `YYYY-MM-DD` strings for dates, numbers for int/float, plain arrays
 * and objects for composites). Returns `{ ok: false }` with a reason when the value does not fit; `null`
 * and `undefined` pass through as `null` (nullability is the caller's business).
 */
export function coerceValue(
  dtype: DType,
  value: unknown,
): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (value === null || value === undefined) return { ok: true, value: null };
  switch (dtype.type) {
    case 'int': {
      const n =
        typeof value === 'bigint'
          ? Number(value)
          : typeof value === 'string' && value.trim() !== ''
            ? Number(value)
            : value;
      return typeof n === 'number' && Number.isInteger(n)
        ? { ok: true, value: n }
        : mismatch('an integer', value);
    }
    case 'float': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      return typeof n === 'number' && !Number.isNaN(n) ? { ok: true, value: n } : mismatch('a number', value);
    }
    case 'string':
      return typeof value === 'string' ? { ok: true, value } : mismatch('a string', value);
    case 'bool':
      return typeof value === 'boolean' ? { ok: true, value } : mismatch('a boolean', value);
    case 'datetime': {
      const date =
        value instanceof Date
          ? value
          : typeof value === 'string' || typeof value === 'number'
            ? new Date(value)
            : null;
      return date && !Number.isNaN(date.getTime())
        ? { ok: true, value: date }
        : mismatch('a datetime', value);
    }
    case 'date': {
      if (value instanceof Date) return { ok: true, value: value.toISOString().slice(0, 10) };
      return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)
        ? { ok: true, value }
        : mismatch('a date (YYYY-MM-DD)', value);
    }
    case 'enum':
      return typeof value === 'string' && dtype.values.includes(value)
        ? { ok: true, value }
        : mismatch(`one of ${dtype.values.join(', ')}`, value);
    case 'list':
    case 'set': {
      if (!Array.isArray(value)) return mismatch('a list', value);
      const items: unknown[] = [];
      for (const item of value) {
        const coerced = coerceValue(dtype.of, item);
        if (!coerced.ok) return coerced;
        items.push(coerced.value);
      }
      return { ok: true, value: dtype.type === 'set' ? [...new Set(items)] : items };
    }
    case 'vector':
      return Array.isArray(value) &&
        value.length === dtype.dimensions &&
        value.every((x) => typeof x === 'number')
        ? { ok: true, value }
        : mismatch(`a vector of ${dtype.dimensions} numbers`, value);
    case 'struct': {
      if (typeof value !== 'object' || Array.isArray(value)) return mismatch('an object', value);
      const out: Record<string, unknown> = {};
      for (const [name, fieldType] of Object.entries(dtype.fields)) {
        const coerced = coerceValue(fieldType, (value as Record<string, unknown>)[name]);
        if (!coerced.ok) return { ok: false, reason: `${name}: ${coerced.reason}` };
        out[name] = coerced.value;
      }
      return { ok: true, value: out };
    }
    case 'document':
      return { ok: true, value };
  }
}

/** A refusal: built only when a value does not fit (no closure per call on the hot path). */
function mismatch(expected: string, value: unknown): { ok: false; reason: string } {
  return { ok: false, reason: `expected ${expected}, got ${describe(value)}` };
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a Date';
  return typeof value === 'string'
    ? `the string ${JSON.stringify(value.slice(0, 40))}`
    : `${typeof value} ${String(value).slice(0, 40)}`;
}

/** The JSON form of an engine value: datetimes become ISO-8601 strings; everything else is already JSON. */
export function toJsonValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v)]));
  }
  return value;
}

const primitiveTypes: Record<DType['type'], string> = {
  int: "<class 'int'>",
  float: "<class 'float'>",
  string: "<class 'str'>",
  bool: "<class 'bool'>",
  date: "<class 'datetime.date'>",
  datetime: "<class 'datetime.datetime'>",
  enum: "<class 'str'>",
  list: "<class 'list'>",
  set: "<class 'set'>",
  struct: "<class 'dict'>",
  vector: "<class 'list'>",
  document: "<class 'dict'>",
};

/** The seed product's `primitive_type` string for a type (its clients print Python class reprs). */
export function primitiveTypeOf(dtype: DType): string {
  return primitiveTypes[dtype.type];
}
