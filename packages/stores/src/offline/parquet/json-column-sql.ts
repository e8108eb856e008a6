import type { DType } from '@slate/graph';

/**
 * The DuckDB SQL turning a column of JSON-text values (how the offline store keeps every value) into the
 * column type of `dtype`: BIGINT, DOUBLE, BOOLEAN, VARCHAR, DATE, TIMESTAMPTZ; composites stay JSON text.
 * A value that does not convert becomes NULL rather than failing the query.
 *
 * @example
 * jsonToColumnSql('f0.value', { type: 'int' }); // 'TRY_CAST(f0.value AS BIGINT)'
 */
export function jsonToColumnSql(column: string, dtype: DType | undefined): string {
  switch (dtype?.type) {
    case 'int':
      return `TRY_CAST(${column} AS BIGINT)`;
    case 'float':
      return `TRY_CAST(${column} AS DOUBLE)`;
    case 'bool':
      return `TRY_CAST(${column} AS BOOLEAN)`;
    case 'string':
    case 'enum':
      return `json_extract_string(${column}, '$')`;
    case 'date':
      return `TRY_CAST(json_extract_string(${column}, '$') AS DATE)`;
    case 'datetime':
      return `TRY_CAST(json_extract_string(${column}, '$') AS TIMESTAMPTZ)`;
    default:
      return column;
  }
}
