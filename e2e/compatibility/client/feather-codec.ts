/**
 * The seed product's binary query framing, written from the reference (chalk.md §3.5, §3.6) and its clients'
 * documented layout, with Apache Arrow's own library for the tables: no Slate code.
 *
 * - Request (`POST /v1/query/feather`): ASCII `chal1`, then per query a u64-BE header length, the JSON
 *   header (the online-query fields without `inputs`), a u64-BE body length and the inputs as Arrow IPC.
 * - Response and upload body: the "byte model": ASCII `CHALK_BYTE_TRANSMISSION`, then four u64-BE-length
 *   sections: JSON attrs, JSON "pydantic" attrs, a JSON map attr → byte length followed by those bytes,
 *   and the same for "serializables".
 */
import { DataType, type Table, tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';

const QUERY_MAGIC = 'chal1';
const BYTE_MODEL_MAGIC = 'CHALK_BYTE_TRANSMISSION';

/** One query of a bulk or multi request: column-major inputs and the JSON header's fields. */
export interface FeatherQuery {
  readonly inputs: Record<string, readonly unknown[]>;
  readonly header: Record<string, unknown>;
}

/** A column as Arrow wants it: ints as BigInt64Array (int64, what the seed product's clients send). */
function arrowColumn(values: readonly unknown[]): unknown {
  if (values.length > 0 && values.every((v) => typeof v === 'number' && Number.isInteger(v))) {
    return BigInt64Array.from(values as number[], (v) => BigInt(v));
  }
  if (values.every((v) => typeof v === 'number')) return Float64Array.from(values as number[]);
  return values;
}

/** Arrow IPC (stream format) of column-major values. */
export function arrowIpc(columns: Record<string, readonly unknown[]>): Uint8Array {
  const arrays = Object.fromEntries(
    Object.entries(columns).map(([name, values]) => [name, arrowColumn(values)]),
  );
  return tableToIPC(tableFromArrays(arrays as Parameters<typeof tableFromArrays>[0]), 'stream');
}

const u64 = (n: number) => {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(n));
  return out;
};

/** The `chal1` request body of one (bulk) or several (multi) queries. */
export function encodeFeatherRequest(queries: readonly FeatherQuery[]): Buffer {
  const parts: Buffer[] = [Buffer.from(QUERY_MAGIC, 'ascii')];
  for (const query of queries) {
    const header = Buffer.from(
      JSON.stringify({
        ...query.header,
        feather_body_type: 'RECORD_BATCHES',
        response_compression_scheme: 'uncompressed',
        client_supports_64bit: true,
      }),
      'utf8',
    );
    const body = Buffer.from(arrowIpc(query.inputs));
    parts.push(u64(header.length), header, u64(body.length), body);
  }
  return Buffer.concat(parts);
}

/** A decoded byte model: its JSON attrs and its byte / serializable sections by attribute. */
export interface ByteModel {
  readonly attrs: Record<string, unknown>;
  readonly pydantic: Record<string, unknown>;
  readonly bytes: Record<string, Buffer>;
  readonly serializables: Record<string, Buffer>;
}

/** Reads a byte model; throws on a wrong magic string or a truncated section. */
export function decodeByteModel(raw: Buffer): ByteModel {
  if (raw.subarray(0, BYTE_MODEL_MAGIC.length).toString('ascii') !== BYTE_MODEL_MAGIC) {
    throw new Error(
      `not a byte model: starts with ${JSON.stringify(raw.subarray(0, 24).toString('latin1'))}`,
    );
  }
  let offset = BYTE_MODEL_MAGIC.length;
  const take = (length: number): Buffer => {
    if (offset + length > raw.length)
      throw new Error(`byte model truncated at ${offset} (+${length} > ${raw.length})`);
    const out = raw.subarray(offset, offset + length);
    offset += length;
    return out;
  };
  const section = (): Buffer => take(Number(take(8).readBigUInt64BE(0)));
  const attrs = JSON.parse(section().toString('utf8')) as Record<string, unknown>;
  const pydantic = JSON.parse(section().toString('utf8')) as Record<string, unknown>;
  const entries = (): Record<string, Buffer> => {
    const lengths = JSON.parse(section().toString('utf8')) as Record<string, number>;
    return Object.fromEntries(Object.entries(lengths).map(([name, length]) => [name, take(length)]));
  };
  const bytes = entries();
  const serializables = entries();
  return { attrs, pydantic, bytes, serializables };
}

/** Writes a byte model (the upload body): attrs as JSON, byte attributes in order, no serializables. */
export function encodeByteModel(attrs: Record<string, unknown>, bytes: Record<string, Uint8Array>): Buffer {
  const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
  const framed = (buffer: Buffer) => [u64(buffer.length), buffer];
  const lengths = json(Object.fromEntries(Object.entries(bytes).map(([name, b]) => [name, b.length])));
  return Buffer.concat([
    Buffer.from(BYTE_MODEL_MAGIC, 'ascii'),
    ...framed(json(attrs)),
    ...framed(json({})),
    ...framed(lengths),
    ...Object.values(bytes).map((b) => Buffer.from(b)),
    ...framed(json({})),
  ]);
}

/** One query's answer in a feather response. */
export interface FeatherResult {
  readonly hasData: boolean;
  readonly errors: readonly Record<string, unknown>[];
  readonly meta: Record<string, unknown> | null;
  /** One row per input row, one column per scalar output (and the inputs). */
  readonly scalars: Table | null;
  /** Has-many output → its table. */
  readonly groups: Record<string, Table>;
}

const parseJsonish = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value);

/** Decodes a `POST /v1/query/feather` response into one result per query, in query order. */
export function decodeFeatherResponse(raw: Buffer): FeatherResult[] {
  const outer = decodeByteModel(raw);
  const inner = outer.serializables.query_results_bytes ?? outer.bytes.query_results_bytes;
  if (!inner) throw new Error(`no query_results_bytes in ${JSON.stringify(Object.keys(outer.attrs))}`);
  const perQuery = decodeByteModel(inner);
  return Object.keys(perQuery.bytes)
    .sort((a, b) => Number(a) - Number(b))
    .map((key) => {
      const model = decodeByteModel(perQuery.bytes[key]!);
      const errors = ((model.attrs.errors ?? []) as unknown[]).map(
        (e) => parseJsonish(e) as Record<string, unknown>,
      );
      const groupsRaw = model.bytes.groups_data ?? model.serializables.groups_data;
      const groups: Record<string, Table> = {};
      if (groupsRaw && groupsRaw.length > 0) {
        const groupModel = decodeByteModel(groupsRaw);
        for (const [name, bytes] of Object.entries({ ...groupModel.bytes, ...groupModel.serializables })) {
          groups[name] = tableFromIPC(bytes);
        }
      }
      const scalarBytes = model.bytes.scalar_data ?? model.serializables.scalar_data;
      return {
        hasData: model.attrs.has_data === true,
        errors,
        meta: (parseJsonish(model.attrs.meta ?? null) as Record<string, unknown> | null) ?? null,
        scalars: scalarBytes && scalarBytes.length > 0 ? tableFromIPC(scalarBytes) : null,
        groups,
      };
    });
}

/**
 * A table's rows as the JSON API would carry them: int64 → number, dates → `YYYY-MM-DD`, timestamps → ISO
 * strings, structs → objects, lists → arrays.
 */
export function tableRows(table: Table): Record<string, unknown>[] {
  return table.toArray().map((row) => {
    const plain: Record<string, unknown> = {};
    for (const field of table.schema.fields) {
      const value = row[field.name];
      if (value !== null && value !== undefined && DataType.isDate(field.type))
        plain[field.name] = new Date(Number(value)).toISOString().slice(0, 10);
      else if (value !== null && value !== undefined && DataType.isTimestamp(field.type))
        plain[field.name] = new Date(Number(value)).toISOString();
      else plain[field.name] = plainValue(value);
    }
    return plain;
  });
}

/** Arrow values as JSON would carry them. */
export function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    const json = (value as { toJSON?: () => unknown }).toJSON?.();
    if (json !== undefined && json !== value) return plainValue(json);
    if (Array.isArray(value)) return value.map(plainValue);
    if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<unknown>, plainValue);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainValue(v)]));
  }
  return value;
}
