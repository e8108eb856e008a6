import { SlateError } from '@slate/graph';
import { type DataType, type Table, Type } from 'apache-arrow';

/** The 64-bit Arrow types the seed product's TypeScript client lists as read (chalk.md §3.5). */
const DEFAULT_64BIT_TYPES = ['Int64', 'LargeBinary', 'UInt64', 'LargeUtf8', 'Float64'];

/** The feather header's wire fields (chalk.md §3.5). */
export interface FeatherWireOptions {
  readonly feather_body_type?: string | null;
  readonly response_compression_scheme?: string | null;
  readonly client_supports_64bit?: boolean | null;
  readonly client_supported_64bit_types?: readonly string[] | null;
}

/**
 * Refuses a feather header asking for a response this server does not produce: a body type other than
 * `RECORD_BATCHES` or a compression other than `uncompressed` (the only values the seed product's clients
 * send). Absent fields mean those defaults.
 *
 * @throws SlateError `INVALID_QUERY` (kind `input`) naming the field, the value and what is supported.
 */
export function checkFeatherWireOptions(header: FeatherWireOptions): void {
  const body = header.feather_body_type;
  if (body && body.toUpperCase() !== 'RECORD_BATCHES' && body !== 'FEATHER_BODY_TYPE_RECORD_BATCHES') {
    throw new SlateError(
      'input',
      'INVALID_QUERY',
      `feather_body_type '${body}' is not supported; this server answers RECORD_BATCHES`,
    );
  }
  const compression = header.response_compression_scheme;
  if (compression && compression.toLowerCase() !== 'uncompressed') {
    throw new SlateError(
      'input',
      'INVALID_QUERY',
      `response_compression_scheme '${compression}' is not supported; this server answers uncompressed`,
    );
  }
}

/**
 * Checks that every 64-bit type in the response tables is one the client reads. A client that sets
 * `client_supports_64bit: false` reads only the types it lists in `client_supported_64bit_types` (without a
 * list, the list the seed product's TypeScript client sends); absent or `true`, it reads all.
 *
 * @throws SlateError `INVALID_QUERY` (kind `input`) naming the column and its type, when the client does not
 * read it: Slate does not narrow 64-bit values, which could lose precision.
 */
export function check64BitSupport(header: FeatherWireOptions, tables: readonly Table[]): void {
  if (header.client_supports_64bit !== false) return;
  const supported = new Set(header.client_supported_64bit_types ?? DEFAULT_64BIT_TYPES);
  for (const table of tables) {
    for (const field of table.schema.fields) {
      const needed = wide(field.type).find((name) => !supported.has(name));
      if (needed) {
        throw new SlateError(
          'input',
          'INVALID_QUERY',
          `column '${field.name}' is ${needed}, which the client does not read (client_supports_64bit is false and client_supported_64bit_types lacks ${needed}); this server does not narrow 64-bit values`,
        );
      }
    }
  }
}

/** The 64-bit type names (as clients list them) inside an Arrow type. */
function wide(type: DataType): string[] {
  switch (type.typeId) {
    case Type.Int:
      return (type as unknown as { bitWidth: number }).bitWidth === 64
        ? [(type as unknown as { isSigned: boolean }).isSigned ? 'Int64' : 'UInt64']
        : [];
    case Type.Float:
      return (type as unknown as { precision: number }).precision === 2 ? ['Float64'] : [];
    case Type.LargeUtf8:
      return ['LargeUtf8'];
    case Type.LargeBinary:
      return ['LargeBinary'];
    default:
      return (type.children ?? []).flatMap((child) => wide(child.type));
  }
}
