import { SlateError } from '@slate/graph';

/** The magic prefix of the seed product's "byte model" (chalk.md §3.5). */
export const BYTE_MODEL_MAGIC = 'CHALK_BYTE_TRANSMISSION';

/**
 * One byte model: JSON attributes, JSON "pydantic" attributes, named byte values and named "serializable"
 * byte values (nested models). Byte entries are written in the order given, which is also the order of
 * their length map; callers that nest per-query results pass them sorted by key, as clients read them.
 */
export interface ByteModel {
  readonly attrs?: Readonly<Record<string, unknown>>;
  readonly pydantic?: Readonly<Record<string, unknown>>;
  readonly bytes?: readonly (readonly [string, Uint8Array])[];
  readonly serializables?: readonly (readonly [string, Uint8Array])[];
}

/** A decoded byte model: byte values are views into the decoded buffer (not copies). */
export interface DecodedByteModel {
  readonly attrs: Record<string, unknown>;
  readonly pydantic: Record<string, unknown>;
  readonly bytes: Map<string, Uint8Array>;
  readonly serializables: Map<string, Uint8Array>;
}

const encoder = new TextEncoder();

/**
 * Encodes a byte model: `CHALK_BYTE_TRANSMISSION`, then u64-BE length + JSON attrs, u64-BE length + JSON
 * pydantic attrs, u64-BE length + JSON `{name: byteLength}` followed by the byte values, and the same again
 * for serializables.
 *
 * @example
 * const body = encodeByteModel({ attrs: { has_data: true }, bytes: [['scalar_data', ipc]] });
 */
export function encodeByteModel(model: ByteModel): Buffer {
  const parts: Uint8Array[] = [encoder.encode(BYTE_MODEL_MAGIC)];
  const pushJson = (text: string) => {
    const bytes = encoder.encode(text);
    parts.push(u64(bytes.length), bytes);
  };
  const pushEntries = (entries: readonly (readonly [string, Uint8Array])[]) => {
    // Written by hand: JSON.stringify would move integer-like keys ("0", "10", "2") into numeric order.
    pushJson(`{${entries.map(([name, value]) => `${JSON.stringify(name)}:${value.byteLength}`).join(',')}}`);
    for (const [, value] of entries) parts.push(value);
  };
  pushJson(JSON.stringify(model.attrs ?? {}));
  pushJson(JSON.stringify(model.pydantic ?? {}));
  pushEntries(model.bytes ?? []);
  pushEntries(model.serializables ?? []);
  return Buffer.concat(parts);
}

/**
 * Decodes a byte model (as `POST /v1/upload_features/multi` sends one).
 *
 * @throws SlateError `PARSE_FAILED` (kind `input`) when the bytes are not a complete, well-formed model.
 */
export function decodeByteModel(raw: Uint8Array): DecodedByteModel {
  const buffer = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  let offset = 0;
  const fail = (why: string): never => {
    throw new SlateError('input', 'PARSE_FAILED', `the body is not a valid byte model: ${why}`);
  };
  const take = (length: number, what: string): Buffer => {
    if (!Number.isSafeInteger(length) || length < 0 || offset + length > buffer.length)
      fail(`${what} runs past the end of the body`);
    const slice = buffer.subarray(offset, offset + length);
    offset += length;
    return slice;
  };
  const takeLength = (what: string): number => {
    const bytes = take(8, `the length of ${what}`);
    const length = bytes.readBigUInt64BE(0);
    return length > BigInt(Number.MAX_SAFE_INTEGER) ? fail(`${what} is too long`) : Number(length);
  };
  const takeJson = (what: string): Record<string, unknown> => {
    const text = take(takeLength(what), what).toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      fail(`${what} is not JSON`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      fail(`${what} is not a JSON object`);
    return value as Record<string, unknown>;
  };
  const takeEntries = (what: string): Map<string, Uint8Array> => {
    const text = take(takeLength(what), what).toString('utf8');
    const entries = new Map<string, Uint8Array>();
    for (const [name, length] of lengthMapEntries(text) ?? fail(`${what} is not a JSON map of lengths`))
      entries.set(name, take(length, `'${name}'`));
    return entries;
  };
  if (take(BYTE_MODEL_MAGIC.length, 'the magic prefix').toString('latin1') !== BYTE_MODEL_MAGIC)
    fail(`it does not start with ${BYTE_MODEL_MAGIC}`);
  const attrs = takeJson('the attributes');
  const pydantic = takeJson('the pydantic attributes');
  const bytes = takeEntries('the byte attributes');
  const serializables = offset < buffer.length ? takeEntries('the serializable attributes') : new Map();
  return { attrs, pydantic, bytes, serializables };
}

/**
 * The entries of a flat JSON object of non-negative integers in their textual order (which is the order of
 * the bytes that follow it; `JSON.parse` would reorder integer-like keys). `undefined` when it is not one.
 */
function lengthMapEntries(text: string): [string, number][] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const entries: [string, number][] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"\s*:\s*(\d+)\s*[,}]/g;
  for (const match of text.matchAll(pattern)) entries.push([JSON.parse(`"${match[1]}"`), Number(match[2])]);
  const values = Object.values(parsed);
  if (entries.length !== values.length || !values.every((v) => Number.isSafeInteger(v) && (v as number) >= 0))
    return undefined;
  return entries;
}

function u64(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(8);
  bytes.writeBigUInt64BE(BigInt(value));
  return bytes;
}
