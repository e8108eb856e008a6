import { SlateError } from '@slate/graph';
import { type Table, tableFromIPC } from 'apache-arrow';
import { DictionaryBatch } from 'apache-arrow/fb/dictionary-batch';
import { Field } from 'apache-arrow/fb/field';
import { Footer } from 'apache-arrow/fb/footer';
import { Message } from 'apache-arrow/fb/message';
import { MessageHeader } from 'apache-arrow/fb/message-header';
import { RecordBatch } from 'apache-arrow/fb/record-batch';
import { Schema } from 'apache-arrow/fb/schema';
import { ByteBuffer } from 'flatbuffers';

const FILE_MAGIC = 'ARROW1';
/** Rows a batch may declare beyond 8 per body byte (null-typed columns take no body at all). */
const ROWS_WITHOUT_BODY = 1_024;

/**
 * Decodes an Arrow IPC stream or file sent by an untrusted client. apache-arrow trusts the flatbuffer
 * metadata: a few flipped bits can make a 300-byte body declare millions of buffers, fields or rows and
 * keep a core busy for seconds. So the framing is checked first: every message (and, for a file, the
 * footer and each block it points at) must lie inside the body, every metadata vector must fit in its
 * metadata, and the rows declared must stay within `maxRows`.
 *
 * @throws SlateError `PARSE_FAILED` (kind `input`) for bytes that are not Arrow IPC, `INVALID_QUERY` for
 * more rows than `maxRows`.
 * @example
 * const table = decodeArrowIpc(body, 50_000);
 */
export function decodeArrowIpc(bytes: Uint8Array, maxRows: number): Table {
  const rows = isFile(bytes) ? checkFile(bytes) : checkStream(bytes);
  if (rows > maxRows) {
    throw new SlateError(
      'input',
      'INVALID_QUERY',
      `the Arrow body declares ${rows} rows; this data plane accepts at most ${maxRows} per request`,
    );
  }
  try {
    return tableFromIPC(bytes);
  } catch (error) {
    throw malformed(error instanceof Error ? error.message : String(error));
  }
}

function malformed(why: string): SlateError {
  return new SlateError('input', 'PARSE_FAILED', `the Arrow body is malformed: ${why}`);
}

function isFile(bytes: Uint8Array): boolean {
  return bytes.length >= 6 && Buffer.from(bytes.subarray(0, 6)).toString('latin1') === FILE_MAGIC;
}

/** Walks a stream's messages up to its end-of-stream marker; returns the rows its batches declare. */
function checkStream(bytes: Uint8Array): number {
  let offset = 0;
  let rows = 0;
  let messages = 0;
  while (offset + 4 <= bytes.length) {
    const message = checkMessage(bytes, offset, bytes.length);
    if (!message) break;
    messages++;
    rows += message.rows;
    offset = message.next;
  }
  if (messages === 0) throw malformed('it holds no message');
  return rows;
}

/**
 * A file is magic, padding, messages, the footer (schema + blocks pointing at the messages), the footer's
 * int32 length and the magic again. Readers follow the footer's blocks, so those are what is checked.
 */
function checkFile(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 18 || Buffer.from(bytes.subarray(-6)).toString('latin1') !== FILE_MAGIC)
    throw malformed('an Arrow file must end with its footer and magic');
  const footerLength = view.getInt32(bytes.length - 10, true);
  const footerStart = bytes.length - 10 - footerLength;
  if (footerLength <= 0 || footerStart < 8) throw malformed('the footer does not fit in the file');
  let rows = 0;
  try {
    const footer = Footer.getRootAsFooter(
      new ByteBuffer(bytes.subarray(footerStart, footerStart + footerLength)),
    );
    const schema = footer.schema();
    if (schema) checkFields(schema.fieldsLength(), (i) => schema.fields(i), Math.ceil(footerLength / 4));
    // A block is a 24-byte struct inside the footer.
    const blocks = footer.recordBatchesLength() + footer.dictionariesLength();
    if (blocks > footerLength / 24) throw malformed('the footer declares more blocks than it holds');
    const check = (offset: bigint | undefined) => {
      const at = Number(offset);
      if (!Number.isSafeInteger(at) || at < 8 || at >= footerStart)
        throw malformed('a block points outside the file');
      const message = checkMessage(bytes, at, footerStart);
      if (!message) throw malformed('a block points at the end-of-stream marker');
      return message.rows;
    };
    for (let i = 0; i < footer.dictionariesLength(); i++) check(footer.dictionaries(i)?.offset());
    for (let i = 0; i < footer.recordBatchesLength(); i++) rows += check(footer.recordBatches(i)?.offset());
  } catch (error) {
    if (error instanceof SlateError) throw error;
    throw malformed('the footer does not decode');
  }
  return rows;
}

/**
 * Checks the message at `offset` (continuation marker, int32 metadata length, flatbuffer metadata, body),
 * all before `limit`. `undefined` for the end-of-stream marker.
 */
function checkMessage(
  bytes: Uint8Array,
  offset: number,
  limit: number,
): { next: number; rows: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (offset + 4 > limit) throw malformed('a message length is cut off');
  let length = view.getInt32(offset, true);
  offset += 4;
  if (length === -1) {
    if (offset + 4 > limit) throw malformed('a message length is cut off');
    length = view.getInt32(offset, true);
    offset += 4;
  }
  if (length === 0) return undefined;
  if (length < 0 || offset + length > limit) throw malformed('a message runs past the end of the body');
  const metadata = bytes.subarray(offset, offset + length);
  offset += length;
  let rows = 0;
  let bodyLength = 0;
  try {
    const message = Message.getRootAsMessage(new ByteBuffer(metadata));
    // Key-value metadata entries are at least a 4-byte offset each: a flipped length must not make the
    // decoder walk millions of them (it did, for seconds, on a 700-byte upload).
    const budget = Math.ceil(length / 4);
    if (message.customMetadataLength() > budget)
      throw malformed('a message declares more metadata than it holds');
    bodyLength = Number(message.bodyLength());
    if (!Number.isSafeInteger(bodyLength) || bodyLength < 0 || offset + bodyLength > limit)
      throw malformed('a message body runs past the end of the body');
    switch (message.headerType()) {
      case MessageHeader.Schema: {
        const schema = message.header(new Schema()) as Schema | null;
        if (schema) {
          const left = budget - schema.customMetadataLength();
          if (left < 0) throw malformed('a schema declares more metadata than it holds');
          checkFields(schema.fieldsLength(), (i) => schema.fields(i), left);
        }
        break;
      }
      case MessageHeader.RecordBatch: {
        const batch = message.header(new RecordBatch()) as RecordBatch | null;
        if (batch) rows = checkBatch(batch, length, bodyLength);
        break;
      }
      case MessageHeader.DictionaryBatch: {
        const batch = (message.header(new DictionaryBatch()) as DictionaryBatch | null)?.data();
        if (batch) checkBatch(batch, length, bodyLength);
        break;
      }
      default:
        throw malformed('it holds a message that is neither a schema nor a batch');
    }
  } catch (error) {
    if (error instanceof SlateError) throw error;
    throw malformed('a message header does not decode');
  }
  if (!Number.isSafeInteger(bodyLength) || bodyLength < 0 || offset + bodyLength > limit)
    throw malformed('a message body runs past the end of the body');
  return { next: offset + bodyLength, rows };
}

/**
 * Field nodes and buffers are 16-byte structs inside the metadata: their counts are bounded by its size.
 * Every buffer must lie inside the message body, and a column cannot hold more values than its bits: a
 * node longer than both the batch and 8 × the body's bytes is a flipped length (only null columns take no
 * bytes, and those are as long as the batch).
 */
function checkBatch(batch: RecordBatch, metadataLength: number, bodyLength: number): number {
  const limit = metadataLength / 16;
  if (batch.nodesLength() > limit || batch.buffersLength() > limit)
    throw malformed('a batch declares more buffers than its metadata holds');
  const rows = Number(batch.length());
  if (!Number.isSafeInteger(rows) || rows < 0) throw malformed('a batch declares an impossible row count');
  // Every column but a null one takes at least a bit per row: a 376-byte body declaring 40,000 rows made
  // apache-arrow read past its buffers and the query answer 23 MB. A few rows of null columns need no body.
  if (rows > Math.max(bodyLength * 8, ROWS_WITHOUT_BODY))
    throw malformed(`a batch declares ${rows} rows but its body of ${bodyLength} bytes cannot hold them`);
  const maxNode = Math.max(rows, bodyLength * 8);
  for (let i = 0; i < batch.nodesLength(); i++) {
    const node = batch.nodes(i);
    const length = Number(node?.length() ?? 0);
    const nulls = Number(node?.nullCount() ?? 0);
    if (!(length >= 0 && length <= maxNode && nulls >= 0 && nulls <= length))
      throw malformed('a column declares more values than the batch holds');
  }
  for (let i = 0; i < batch.buffersLength(); i++) {
    const buffer = batch.buffers(i);
    const start = Number(buffer?.offset() ?? 0);
    const end = start + Number(buffer?.length() ?? 0);
    if (!(start >= 0 && end >= start && end <= bodyLength))
      throw malformed('a buffer lies outside its message');
  }
  return rows;
}

/**
 * Each field, and each of its metadata entries, is at least one 4-byte offset in the metadata, so the whole
 * tree is bounded by `budget`.
 */
function checkFields(count: number, field: (index: number) => Field | null, budget: number): number {
  let left = budget - count;
  if (left < 0) throw malformed('a schema declares more fields than its metadata holds');
  for (let i = 0; i < count; i++) {
    const child = field(i);
    if (!child) continue;
    left -= child.customMetadataLength();
    if (left < 0) throw malformed('a field declares more metadata than its schema holds');
    left = checkFields(child.childrenLength(), (j) => child.children(j, new Field()), left);
  }
  return left;
}
