import { SlateError } from '@slate/graph';
import type { Table } from 'apache-arrow';
import { decodeArrowIpc } from './arrow-ipc.ts';

/** The magic prefix of a feather query request (chalk.md §3.5). */
export const FEATHER_REQUEST_MAGIC = 'chal1';

/** One query of a feather request: its JSON header and its input rows. */
export interface FeatherRequestQuery {
  readonly header: unknown;
  readonly inputs: Table;
}

/**
 * Splits a `POST /v1/query/feather` body into its queries: `chal1`, then per query a u64-BE length + UTF-8
 * JSON header and a u64-BE length + Arrow IPC body of the input columns. Arrow bodies may be in the IPC
 * stream or file format (the seed product's clients send both).
 *
 * @throws SlateError `PARSE_FAILED` (kind `input`) for a wrong prefix, truncated frames, a header that is
 * not JSON, an Arrow body that does not decode, or a body holding no query; `INVALID_QUERY` for an Arrow
 * body declaring more than `maxRows` rows.
 */
export function decodeFeatherRequest(body: Uint8Array, maxRows: number): FeatherRequestQuery[] {
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const fail = (why: string): never => {
    throw new SlateError('input', 'PARSE_FAILED', `the feather request is malformed: ${why}`);
  };
  if (buffer.subarray(0, FEATHER_REQUEST_MAGIC.length).toString('latin1') !== FEATHER_REQUEST_MAGIC)
    fail(`it does not start with '${FEATHER_REQUEST_MAGIC}'`);
  let offset = FEATHER_REQUEST_MAGIC.length;
  const take = (what: string): Buffer => {
    if (offset + 8 > buffer.length) fail(`the length of ${what} is missing`);
    const length = buffer.readBigUInt64BE(offset);
    offset += 8;
    if (length > BigInt(buffer.length - offset)) fail(`${what} runs past the end of the body`);
    const slice = buffer.subarray(offset, offset + Number(length));
    offset += Number(length);
    return slice;
  };
  const queries: FeatherRequestQuery[] = [];
  while (offset < buffer.length) {
    const what = `query ${queries.length}`;
    const headerBytes = take(`the header of ${what}`);
    let header: unknown;
    try {
      header = JSON.parse(headerBytes.toString('utf8'));
    } catch {
      fail(`the header of ${what} is not JSON`);
    }
    const arrowBytes = take(`the Arrow body of ${what}`);
    queries.push({ header, inputs: decodeArrowIpc(arrowBytes, maxRows) });
  }
  if (queries.length === 0) fail('it holds no query');
  return queries;
}
