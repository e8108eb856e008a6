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
  return values.map(storedValueOf);
}

const OPEN = 0x5b; // [
const COMMA = 0x2c;
const CLOSE = 0x5d; // ]
const NULL_TEXT = Buffer.from('null');

/**
 * `decodeStoredValues` for values read as bytes (`null` for missing keys): the values are copied into one
 * JSON array text and parsed once, so a bulk read makes one string instead of one per value. A batch
 * holding a damaged value falls back to decoding each alone.
 */
export function decodeStoredBuffers(buffers: readonly (Uint8Array | null)[]): (StoredValue | null)[] {
  const count = buffers.length;
  let size = count + 1;
  for (let i = 0; i < count; i++) size += (buffers[i] ?? NULL_TEXT).length;
  const joined = Buffer.allocUnsafe(size);
  joined[0] = OPEN;
  let at = 1;
  for (let i = 0; i < count; i++) {
    if (i > 0) joined[at++] = COMMA;
    const bytes = buffers[i] ?? NULL_TEXT;
    joined.set(bytes, at);
    at += bytes.length;
  }
  joined[at] = CLOSE;
  let parsed: unknown;
  try {
    parsed = JSON.parse(joined.toString('utf8', 0, size));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== count) {
    return buffers.map((bytes) =>
      bytes === null
        ? null
        : decodeStoredValue(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString()),
    );
  }
  const values = new Array<StoredValue | null>(count);
  for (let i = 0; i < count; i++) values[i] = storedValueOf(parsed[i]);
  return values;
}

/** A parsed `{"v":…,"t":…}` as a `StoredValue`; anything else (a foreign value) is `null`. */
function storedValueOf(item: unknown): StoredValue | null {
  if (typeof item !== 'object' || item === null || !('t' in item) || !('v' in item)) return null;
  const { v, t } = item as { v: unknown; t: unknown };
  return typeof t === 'number' ? { value: v, observedAt: t } : null;
}
