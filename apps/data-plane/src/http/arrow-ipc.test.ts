import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { decodeArrowIpc } from './arrow-ipc.ts';

/**
 * A feather request found by the bad-input fuzzer: a few flipped bits in the record batch metadata made
 * apache-arrow walk millions of buffer entries (2.5 s of CPU for 350 bytes) before this check existed.
 */
const fuzzed = Buffer.from(
  'Y2hhbDEAAAAAAAAAGXsib3V0cHV0cyI6WyJ1c2VyLm5hbWUiXX0AAAAAAAABMP////+AAAAAEAAAAAAACgAQAA4ABwAIAAoAAAAAAAABEAAAAAAABAAIAAgAAAAEAAgAAAAEAAAAAQAAABQAAAAQABgABAALABMAFAAAAAwAEAAAABQAAAAAAAABGAAAAAAAAAMcAAAABwAAAHVzZXIuaWQAAAAAAAAABgAIAAYABgAAAAAAAgD/////iAAAABQAAAAAAAAADAAWABQADwAQAAQADAAAABAAAAAAAAAAAAAAAxAAAAAEAAoAGAAMAAgABAAKAAAAFAAAADgAAAACAAAAAAAAAAAAAAACAGEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAQAAAAJPAAAAAAAAAAAAAAAAAAAAAAAAAADwPwAAAAAAAABA/////wAAAAA=',
  'base64',
);
const arrowPart = fuzzed.subarray(5 + 8 + Number(fuzzed.readBigUInt64BE(5)) + 8);

describe('decodeArrowIpc', () => {
  const table = tableFromArrays({ id: [1, 2, 3], name: ['a', 'b', 'c'] });

  it.each(['stream', 'file'] as const)('decodes the %s format', (format) => {
    const decoded = decodeArrowIpc(tableToIPC(table, format), 10);
    expect(decoded.toArray().map((row) => row.toJSON())).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
      { id: 3, name: 'c' },
    ]);
  });

  it.each(['stream', 'file'] as const)('refuses more rows than allowed (%s)', (format) => {
    expect(() => decodeArrowIpc(tableToIPC(table, format), 2)).toThrow(/declares 3 rows/);
  });

  it('refuses metadata that declares more buffers than it holds, before apache-arrow walks them', () => {
    expect(() => decodeArrowIpc(arrowPart, 1000)).toThrow(/more buffers than its metadata holds/);
  });

  it.each([
    ['empty', new Uint8Array()],
    ['random', Buffer.from('not arrow at all, really')],
    ['a truncated stream', Buffer.from(tableToIPC(table, 'stream')).subarray(0, 50)],
    ['a file without its footer', Buffer.from(tableToIPC(table, 'file')).subarray(0, 100)],
  ])('refuses %s as PARSE_FAILED', (_name, bytes) => {
    expect(() => decodeArrowIpc(bytes, 10)).toThrow(expect.objectContaining({ code: 'PARSE_FAILED' }));
  });
});
