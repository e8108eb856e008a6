import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { decodeArrowIpc } from './arrow-ipc.ts';
import { tableToInputs } from './arrow-values.ts';

/**
 * A feather request found by the bad-input fuzzer: a few flipped bits in the record batch metadata made
 * apache-arrow walk millions of buffer entries (2.5 s of CPU for 350 bytes) before this check existed.
 */
const fuzzed = Buffer.from(
  'Y2hhbDEAAAAAAAAAGXsib3V0cHV0cyI6WyJ1c2VyLm5hbWUiXX0AAAAAAAABMP////+AAAAAEAAAAAAACgAQAA4ABwAIAAoAAAAAAAABEAAAAAAABAAIAAgAAAAEAAgAAAAEAAAAAQAAABQAAAAQABgABAALABMAFAAAAAwAEAAAABQAAAAAAAABGAAAAAAAAAMcAAAABwAAAHVzZXIuaWQAAAAAAAAABgAIAAYABgAAAAAAAgD/////iAAAABQAAAAAAAAADAAWABQADwAQAAQADAAAABAAAAAAAAAAAAAAAxAAAAAEAAoAGAAMAAgABAAKAAAAFAAAADgAAAACAAAAAAAAAAAAAAACAGEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAQAAAAJPAAAAAAAAAAAAAAAAAAAAAAAAAADwPwAAAAAAAABA/////wAAAAA=',
  'base64',
);
const arrowPart = fuzzed.subarray(5 + 8 + Number(fuzzed.readBigUInt64BE(5)) + 8);

/**
 * Upload tables found by the upload fuzzer (`e2e/fuzz`): a few flipped bits in a 704-byte Arrow stream. The
 * first declared a huge custom-metadata list that apache-arrow walked for 1-2 s (5 of 150 such bodies hung
 * for over 10 s on a loaded machine); the second decodes but has a column without data, which crashed
 * `tableToInputs` into a 500.
 */
const slowMetadata = Buffer.from(
  '//////gAAAAQAAAAAAAKABAADgAHAAgACgAAAAAAAAEIAAAAAAAEAJz///8EAAAAAgAAAIwAAAAUAAAAEAAcAAgADwAXABgABAAQ' +
    'ABAAAABEAAAAFAAAAAAAAAEkAAAAAAAABSQAAAAQAAAAYWNjb3VudC5uaWNrbmFtZQAAAAAAAAAABAAEAAQAAAAIEwgAAEUEAAgA' +
    'AAAMAAAACAAMGwgABwAIAAAAAAAAASAAAAAQABgABAALABMAFAAAAAwAEAAAABQAAAAAAAABHAAAAAAAAAMgAAAACgAAAGFjY291' +
    'bnQuaWQAAAAAAAAAAAYACAAGAAYAAAAAAAIAAAAAAP////+wAAAAFAAAAAAAAAAMABwAGgATABQABAAMAAAAGAAAAAAAAAAAAAAA' +
    'AAAAAhAAAAAAAAQACAAKAAAABAAIAAAAEAAAAAAACgAYAAwACAAEAAoAAAAUAAAASAAAAAMAAAAAAAAAAAAAAAMAAAAAAAAAAAAA' +
    'AAAAAAAAAAAAAAAAAAAAAAAQAAAAAAAAABAAAAAAAAAACAAAAAAAAAAAAAAAAQAAAAMAAAAAAAAAAAAAAAAAAAAAAAAAAQAAAAIA' +
    'AAADAAAAYWJjAAAAAAD/////uAAAABQAAAAAAAAADAAWABQADwAQAAQADAAAACgAAAAAAAAAAAAAAxAAAAAEAAoAGAAMAAgABAAK' +
    'AAAAFAAAAFgAAAADAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAGAAAAAAAAAAYAAAAAAAAAAAAAAAAAAAA' +
    'GAAAAAAAAAAQAAAAAAAAAAAAAAACAAAAAwAAAAAAAAAAAAAAAAAAAAMAAAAAAAAAAAAAAAAAAAAAALcAAABZQAAAAAAAQFlAAAAA' +
    'AACAWUAAAAAAAQAAAAIAAAAAAAAA/////wAAAAA=',
  'base64',
);
const columnWithoutData = Buffer.from(
  '//////gAAAAQAAAAAAAKABAADgAHAAgACgAAAAAAAAEIAAAAAAAEAJz///8EAAAAAgAAAIwAAQAUAAAAEAAcAAgAD/4XABgABAAQ' +
    'ABAAAABEAAAAFAAAAAAAAAEkAAAAAAAABSQAAAAQAAAAYWNjb3VudC5uaWNrbmFtZQAAAAAAAAAABAAEAAQAAAAIAAgAAAAEAAgA' +
    'AAAMAAAACAAMAAgABwAIAAAAAAAAASAAAAAQABgABAALABMAFAAAAAwAEAAAABQAAAAAAAABHAAAAAAAAAMgAAAACgAAAGFjY291' +
    'bnQuaWQAAAAAAAAAAAYACAAGAAYAAAAAAAIAAAAAAP////+wAAAAFAAAAAAAAAAMABwAGgATABQABAAMAAAAGAAAAAAAAAAAAAAA' +
    'AAAAAhAAAAAAAAQACAAKAAAABAAIAAAAEAAAAAAACgAYAAwACAAEAAoAAAAUAAAASAAAAO4AAAAAAAAAAAAAAAMAAAAAAAAAAAAA' +
    'AAAAAAAAAAAAAAAAAAAAAAAQAAAAAAAAABAAAAAAAAAACAAAAAAAAAAAAAAAAQAAAAMAAAAAAAAAAAAAAAAAAAAAAAAAAQAAAAIA' +
    'AAADAAAAYWJjAAAAAAD/////uAAAABQAAAAAAAAADAAWABQADwAQAAQADAAAACgAAAAAAAAAAAAAAxAAAAAEAAoAGAAMAAgABAAK' +
    'AAAAFAAAAFgAAAADAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAGAAAAAAAAAAYAAAAAAAAAAAAAAAAAAAA' +
    'GAAAAAAAAAAQAAAAAAAAAAAAAAACAAAAdQAAAAAAAAAAAAAAAAAAAAMAAAAAAAAAAAAAAAAAAAAAAAAAAABZQAAAAAAAQFlAAAAA' +
    'AACAWUAAAAAAAQAAAAIAAAAAAAAA/////wAAAAA=',
  'base64',
);

/** A feather query's input table (fuzzer, seed 12): 43,779 rows declared over a 24-byte body (a 23 MB answer). */
const rowsWithoutBody = Buffer.from(
  '/////4AAAAAQAAAAAAAKABAADgAHAAgACgAAAAAAAAEQAAAAAAAEAAgACAAAAAQACAAAAAQAAAABAAAAFAAAABAAGAAEAAsAEwAU' +
    'AAAADAAQAAAAFAAAAAAAAAEYAAAAAAAAAxwAAAAHAAAAdXNlci5pZAAAAAAAAAAGAAgABgAGAAAAAAACAP////+IAAAAFAAAAAAA' +
    'AAAMABYAFAAPABAABAAMAAAAGAAAAAAAAAAAAAADEAAAAAQACgAYAAwACAAEAAoAAAAUAAAAOAAAAAOrAAAAAAAAAAAAAAIAAAAA' +
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAYAAAAAAAAAAAAAAABAAAAAwAAAAAAAAAAAAAAAAAAAAAAAAAAAPA/AAAAAAAAAEAAAAAA' +
    'AAAIQP////8AAAAA',
  'base64',
);

describe('decodeArrowIpc on fuzzed uploads', () => {
  it('refuses a batch declaring more rows than its body can hold', () => {
    expect(() => decodeArrowIpc(rowsWithoutBody, 50_000)).toThrow(
      expect.objectContaining({ code: 'PARSE_FAILED', message: expect.stringMatching(/43779 rows/) }),
    );
  });

  it('refuses a schema whose metadata list length was flipped (apache-arrow spent 2 s walking it)', () => {
    expect(() => decodeArrowIpc(slowMetadata, 50_000)).toThrow(
      expect.objectContaining({ code: 'PARSE_FAILED', message: expect.stringMatching(/declares more/) }),
    );
  });

  it('answers a batch whose column has no data as PARSE_FAILED, not a crash (was a 500)', () => {
    expect(() => tableToInputs(decodeArrowIpc(columnWithoutData, 50_000))).toThrow(
      expect.objectContaining({ code: 'PARSE_FAILED' }),
    );
  });
});

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
