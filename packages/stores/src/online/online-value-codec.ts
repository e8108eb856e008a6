import { SlateError } from '@slate/graph';
import type { StoredValue } from './online-store.ts';

/**
 * Encodes a value as the compact JSON every backend stores: `{"v":<value>,"t":<observedAt>}`. `t` comes
 * last on purpose: the Redis write script reads the stored timestamp from the tail without decoding the
 * value.
 */
export function encodeStoredValue(value: unknown, observedAt: number): string {
  // Numbers are most feature values: `String` renders a finite number as `JSON.stringify` does, for less.
  if (typeof value === 'number' && Number.isFinite(value) && Number.isFinite(observedAt))
    return `{"v":${value},"t":${observedAt}}`;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (cause) {
    throw new SlateError('input', 'INVALID_ONLINE_VALUE', 'the value cannot be stored as JSON', undefined, {
      cause,
    });
  }
  return `{"v":${json ?? 'null'},"t":${JSON.stringify(observedAt)}}`;
}

/** Decodes what `encodeStoredValue` wrote; anything else (a foreign or damaged value) decodes to `null`. */
export function decodeStoredValue(text: string): StoredValue | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || !('t' in parsed) || !('v' in parsed)) return null;
  const { v, t } = parsed as { v: unknown; t: unknown };
  return typeof t === 'number' ? { value: v, observedAt: t } : null;
}

/**
 * Decodes many stored texts (`null` for missing keys) with one `JSON.parse` of the whole batch, which costs
 * far less than one parse per value; a batch holding a damaged value falls back to decoding each alone.
 */
export function decodeStoredValues(texts: readonly (string | null)[]): (StoredValue | null)[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(`[${texts.map((text) => text ?? 'null').join(',')}]`);
  } catch {
    return texts.map((text) => (text === null ? null : decodeStoredValue(text)));
  }
  const values = parsed as unknown[];
  if (values.length !== texts.length)
    return texts.map((text) => (text === null ? null : decodeStoredValue(text)));
  return values.map((item) => {
    if (typeof item !== 'object' || item === null || !('t' in item) || !('v' in item)) return null;
    const { v, t } = item as { v: unknown; t: unknown };
    return typeof t === 'number' ? { value: v, observedAt: t } : null;
  });
}
