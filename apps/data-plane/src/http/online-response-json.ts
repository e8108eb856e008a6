import type { FeatureResult, OnlineQueryResponse } from './online-query.ts';

/**
 * Feature names as JSON string literals, kept across queries: a deployment answers the same few hundred
 * features over and over. Bounded: past `MAX_FIELDS` names it is cleared and refilled.
 */
const quotedFields = new Map<string, string>();
const MAX_FIELDS = 10_000;

function quoted(field: string): string {
  let text = quotedFields.get(field);
  if (text === undefined) {
    if (quotedFields.size >= MAX_FIELDS) quotedFields.clear();
    text = JSON.stringify(field);
    quotedFields.set(field, text);
  }
  return text;
}

/** `JSON.stringify` of one value, or undefined when JSON would leave the key out (undefined, functions). */
const json = (value: unknown): string | undefined => JSON.stringify(value);

function entryJson(entry: FeatureResult): string | undefined {
  const value = json(entry.value);
  const pkey = json(entry.pkey);
  if (value === undefined || pkey === undefined) return undefined;
  let text = `{"field":${quoted(entry.field)},"value":${value},"pkey":${pkey},"ts":${entry.ts === null ? 'null' : json(entry.ts)},"valid":${entry.valid},"error":${entry.error === null ? 'null' : json(entry.error)}`;
  if (entry.meta !== undefined) text += `,"meta":${json(entry.meta)}`;
  return `${text}}`;
}

/**
 * The online query answer as JSON text, byte for byte what `JSON.stringify(response)` writes, built with
 * the response's shape known in advance: feature names are quoted once per process, each entry is written
 * in its fixed key order, and only values, keys and errors go through `JSON.stringify`. Anything outside
 * that shape (a value JSON would leave out, an entry with other keys) falls back to `JSON.stringify`.
 *
 * @throws TypeError as `JSON.stringify` does (a BigInt value, a cycle).
 */
export function onlineResponseJson(response: OnlineQueryResponse): string {
  if (!hasKeys(response, RESPONSE_KEYS, 2)) return JSON.stringify(response);
  const parts: string[] = new Array(response.data.length);
  for (let i = 0; i < response.data.length; i++) {
    const entry = response.data[i]!;
    const text = isPlainEntry(entry) ? entryJson(entry) : undefined;
    if (text === undefined) return JSON.stringify(response);
    parts[i] = text;
  }
  let text = `{"data":[${parts.join(',')}],"errors":${JSON.stringify(response.errors)}`;
  if (response.meta !== undefined) text += `,"meta":${JSON.stringify(response.meta)}`;
  return `${text}}`;
}

const ENTRY_KEYS = ['field', 'value', 'pkey', 'ts', 'valid', 'error', 'meta'] as const;
const RESPONSE_KEYS = ['data', 'errors', 'meta'] as const;

/**
 * Whether `object` has exactly the first `required` of `keys`, in that order, then possibly the next one
 * (the optional `meta`) when it is not undefined: the order `JSON.stringify` would write them in.
 */
function hasKeys(object: object, keys: readonly string[], required: number): boolean {
  let n = 0;
  for (const key in object) {
    if (key !== keys[n]) return false;
    n++;
  }
  return (
    n === required ||
    (n === required + 1 && (object as Record<string, unknown>)[keys[required]!] !== undefined)
  );
}

/** An entry with exactly the keys of `FeatureResult`, in the order `featureResults` sets them. */
function isPlainEntry(entry: FeatureResult): boolean {
  if (typeof entry.field !== 'string' || typeof entry.valid !== 'boolean') return false;
  if (entry.ts !== null && typeof entry.ts !== 'string') return false;
  return hasKeys(entry, ENTRY_KEYS, 6);
}
