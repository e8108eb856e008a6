import type { JsonValue } from '@slate/client';
import type { DType } from '../api/index.ts';

/** A value typed by a person, read as its feature's type, or why it cannot be. */
export type ParsedValue =
  | { readonly ok: true; readonly value: JsonValue }
  | { readonly ok: false; readonly error: string };

const typeOf = (dtype: DType | undefined): string => (dtype === undefined ? 'string' : dtype.type);

/**
 * Reads `text` as a value of `dtype`: integers and floats as numbers, booleans from true/false/1/0,
 * dates and times as ISO strings (checked), lists, sets, structs, vectors and documents as JSON, everything
 * else as the text itself. An empty cell is `null`.
 *
 * @example
 * parseInputValue('42', { type: 'int' }); // { ok: true, value: 42 }
 */
export function parseInputValue(text: string, dtype: DType | undefined): ParsedValue {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, value: null };
  switch (typeOf(dtype)) {
    case 'int': {
      if (!/^[-+]?\d+$/.test(trimmed)) return { ok: false, error: `“${trimmed}” is not a whole number` };
      const value = Number(trimmed);
      if (!Number.isSafeInteger(value))
        return { ok: false, error: `${trimmed} is too large for a JSON number` };
      return { ok: true, value };
    }
    case 'float': {
      const value = Number(trimmed);
      return Number.isFinite(value)
        ? { ok: true, value }
        : { ok: false, error: `“${trimmed}” is not a number` };
    }
    case 'bool': {
      const lower = trimmed.toLowerCase();
      if (lower === 'true' || lower === '1') return { ok: true, value: true };
      if (lower === 'false' || lower === '0') return { ok: true, value: false };
      return { ok: false, error: `“${trimmed}” is not true or false` };
    }
    case 'date':
    case 'datetime':
      return Number.isNaN(Date.parse(trimmed))
        ? { ok: false, error: `“${trimmed}” is not an ISO-8601 ${typeOf(dtype)}` }
        : { ok: true, value: trimmed };
    case 'list':
    case 'set':
    case 'struct':
    case 'vector':
    case 'document':
      try {
        return { ok: true, value: JSON.parse(trimmed) as JsonValue };
      } catch {
        return { ok: false, error: `“${trimmed}” is not JSON (a ${typeOf(dtype)} is written as JSON)` };
      }
    default:
      return { ok: true, value: text };
  }
}

/** A table of text cells with a header row. */
export interface TextTable {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** Rows read from a pasted or uploaded table at most; more is an offline query of its own (a spine SQL). */
export const MAX_INPUT_ROWS = 10_000;

/**
 * Parses CSV (RFC 4180: quoted fields, `""` escapes, CRLF or LF) or, when the header line holds a tab,
 * tab-separated text as spreadsheets paste it. The first row names the columns; blank lines are skipped.
 *
 * @throws Error when a row has another number of cells than the header, a quote is left open, or there are
 *   more than {@link MAX_INPUT_ROWS} rows.
 */
export function parseTable(text: string): TextTable {
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  const delimiter = firstLine.includes('\t') ? '\t' : ',';
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endRecord = () => {
    record.push(field);
    field = '';
    if (!(record.length === 1 && record[0]!.trim() === '')) records.push(record);
    record = [];
    if (records.length > MAX_INPUT_ROWS + 1)
      throw new Error(`more than ${MAX_INPUT_ROWS.toLocaleString()} rows: use a spine SQL query instead`);
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === delimiter) {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
    } else field += c;
    i++;
  }
  if (quoted) throw new Error('a quoted cell is not closed');
  if (field !== '' || record.length > 0) endRecord();
  const [header, ...rows] = records;
  if (!header) return { columns: [], rows: [] };
  const columns = header.map((c) => c.trim());
  rows.forEach((row, n) => {
    if (row.length !== columns.length)
      throw new Error(`row ${n + 2} has ${row.length} cells; the header has ${columns.length}`);
  });
  return { columns, rows };
}

/** Column names that carry each row's time instead of a feature (the data plane's names). */
export const TIME_COLUMNS: readonly string[] = ['__ts__', '__chalk__.CHALK_TS'];

/** The `input`/`input_times` of an offline query, or the cells that could not be read. */
export type OfflineInput =
  | {
      readonly ok: true;
      readonly input: { columns: string[]; values: JsonValue[][] };
      readonly inputTimes?: string[];
    }
  | { readonly ok: false; readonly errors: readonly string[] };

/**
 * Turns a text table into an offline query's column-major `input`, each cell read as its column's feature
 * type (`dtypeOf` answers undefined for a column that is not a known feature: an error). A time column
 * becomes `input_times`.
 */
export function tableToOfflineInput(
  table: TextTable,
  dtypeOf: (fqn: string) => DType | undefined | null,
): OfflineInput {
  const errors: string[] = [];
  const columns: string[] = [];
  const values: JsonValue[][] = [];
  let inputTimes: string[] | undefined;
  table.columns.forEach((column, c) => {
    const cells = table.rows.map((row) => row[c] ?? '');
    if (TIME_COLUMNS.includes(column)) {
      inputTimes = cells.map((cell) => cell.trim());
      cells.forEach((cell, r) => {
        if (Number.isNaN(Date.parse(cell)))
          errors.push(`row ${r + 2}, ${column}: “${cell}” is not an ISO-8601 time`);
      });
      return;
    }
    const dtype = dtypeOf(column);
    if (dtype === null) {
      errors.push(`column “${column}” is not a feature of this deployment`);
      return;
    }
    columns.push(column);
    values.push(
      cells.map((cell, r) => {
        const parsed = parseInputValue(cell, dtype);
        if (parsed.ok) return parsed.value;
        if (errors.length < 20) errors.push(`row ${r + 2}, ${column}: ${parsed.error}`);
        return null;
      }),
    );
  });
  if (columns.length === 0 && errors.length === 0) errors.push('the table has no feature columns');
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, input: { columns, values }, ...(inputTimes ? { inputTimes } : {}) };
}
