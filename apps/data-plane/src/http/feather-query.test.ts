import { type Table, tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { transactions, users } from '../../../../examples/quickstart/src/sample-data.ts';
import * as profiles from './fixtures/profile-module.ts';
import { createTestPlane, type TestPlane } from './fixtures/test-plane.ts';

/**
 * The wire format is checked with a reader written here from the seed product's documented client logic
 * (chalk.md §3.5: `parseByteModel` and the per-query walk), not with the server's own encoder.
 */
interface ParsedModel {
  attrs: Record<string, unknown>;
  pydantic: Record<string, unknown>;
  byteLengths: Record<string, number>;
  bytes: Buffer;
  serializableLengths: Record<string, number>;
  serializables: Buffer;
}

function parseByteModel(raw: Buffer): ParsedModel {
  const magic = 'CHALK_BYTE_TRANSMISSION';
  expect(raw.subarray(0, magic.length).toString()).toBe(magic);
  let offset = magic.length;
  const section = () => {
    const length = Number(raw.readBigUInt64BE(offset));
    offset += 8;
    const text = raw.subarray(offset, offset + length).toString();
    offset += length;
    return JSON.parse(text) as Record<string, unknown>;
  };
  const attrs = section();
  const pydantic = section();
  const byteLengths = section() as Record<string, number>;
  const total1 = Object.values(byteLengths).reduce((a, b) => a + b, 0);
  const bytes = raw.subarray(offset, offset + total1);
  offset += total1;
  const serializableLengths = section() as Record<string, number>;
  const total2 = Object.values(serializableLengths).reduce((a, b) => a + b, 0);
  const serializables = raw.subarray(offset, offset + total2);
  return { attrs, pydantic, byteLengths, bytes, serializableLengths, serializables };
}

interface QueryChunk {
  key: string;
  hasData: boolean;
  table: Table;
  errors: Record<string, unknown>[];
  meta: Record<string, unknown>;
  groups: Record<string, Table>;
}

/** The client's walk: outer serializable `query_results_bytes` → inner byte entries in sorted key order. */
function parseFeatherResponse(body: Buffer): QueryChunk[] {
  const outer = parseByteModel(body);
  const inner = parseByteModel(
    outer.serializables.subarray(0, outer.serializableLengths.query_results_bytes),
  );
  const keys = Object.keys(inner.byteLengths).sort();
  let offset = 0;
  return keys.map((key) => {
    const length = inner.byteLengths[key]!;
    const chunk = parseByteModel(inner.bytes.subarray(offset, offset + length));
    offset += length;
    const groupsModel = parseByteModel(
      chunk.serializables.subarray(0, chunk.serializableLengths.groups_data),
    );
    const groups: Record<string, Table> = {};
    let groupOffset = 0;
    for (const name of Object.keys(groupsModel.byteLengths)) {
      const size = groupsModel.byteLengths[name]!;
      groups[name] = tableFromIPC(groupsModel.bytes.subarray(groupOffset, groupOffset + size));
      groupOffset += size;
    }
    return {
      key,
      hasData: chunk.attrs.has_data as boolean,
      // The TS client hands the whole byte section to Arrow: it must hold `scalar_data` alone.
      table: tableFromIPC(chunk.bytes),
      errors: (chunk.attrs.errors as string[]).map((e) => JSON.parse(e)),
      meta: JSON.parse(chunk.attrs.meta as string),
      groups,
    };
  });
}

/** `chal1` + (u64 header length, JSON header, u64 body length, Arrow IPC) per query. */
function featherRequest(queries: { header: Record<string, unknown>; body: Uint8Array }[]): Buffer {
  const parts: Buffer[] = [Buffer.from('chal1')];
  for (const { header, body } of queries) {
    const json = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(json.length));
    const bodyLength = Buffer.alloc(8);
    bodyLength.writeBigUInt64BE(BigInt(body.length));
    parts.push(length, json, bodyLength, Buffer.from(body));
  }
  return Buffer.concat(parts);
}

const clientHeader = {
  feather_body_type: 'RECORD_BATCHES',
  response_compression_scheme: 'uncompressed',
  client_supports_64bit: false,
  client_supported_64bit_types: ['Int64', 'LargeBinary', 'UInt64', 'LargeUtf8', 'Float64'],
};

let plane: TestPlane;
beforeAll(async () => {
  plane = await createTestPlane();
});

async function post(body: Buffer, headers: Record<string, string> = {}, target?: TestPlane) {
  const on = target ?? plane;
  return on.app.inject({
    method: 'POST',
    url: '/v1/query/feather',
    headers: {
      authorization: `Bearer ${await on.token()}`,
      'content-type': 'application/octet-stream',
      ...headers,
    },
    payload: body,
  });
}

const countOf = (id: number) => transactions.filter((t) => t.user_id === id).length;

describe('POST /v1/query/feather', () => {
  it('answers a bulk query sent in Arrow file format, with int64 columns', async () => {
    const ids = [1, 3, 4];
    // Like the TS client's bulk path: numbers become Float64 and the body is the IPC *file* format.
    const body = tableToIPC(tableFromArrays({ 'user.id': ids }), 'file');
    const response = await post(
      featherRequest([
        { header: { ...clientHeader, outputs: ['user.name', 'user.transaction_count'] }, body },
      ]),
    );
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/octet-stream');
    const [chunk] = parseFeatherResponse(response.rawPayload);
    expect(chunk!.hasData).toBe(true);
    expect(chunk!.errors).toEqual([]);
    const rows = chunk!.table.toArray().map((row) => row.toJSON());
    expect(rows.map((row) => row['user.name'])).toEqual(
      ids.map((id) => users.find((u) => u.id === id)!.name),
    );
    expect(rows.map((row) => row['user.transaction_count'])).toEqual(ids.map((id) => BigInt(countOf(id))));
    expect(rows.map((row) => row['user.id'])).toEqual(ids.map(BigInt));
    expect(chunk!.table.schema.fields.find((f) => f.name === 'user.transaction_count')!.type.toString()).toBe(
      'Int64',
    );
    expect(typeof rows[0]!.__ts__).toBe('number');
    expect(chunk!.meta).toMatchObject({
      deployment_id: 'cdep1',
      environment_id: 'dev',
      environment_name: 'Development',
      query_id: expect.any(String),
      query_hash: expect.any(String),
    });
  });

  it('answers a multi-query in stream format, keyed so clients read it back in order', async () => {
    const ids = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1];
    const body = featherRequest(
      ids.map((id) => ({
        header: { ...clientHeader, outputs: ['user.name'] },
        body: tableToIPC(tableFromArrays({ 'user.id': new BigInt64Array([BigInt(id)]) }), 'stream'),
      })),
    );
    const chunks = parseFeatherResponse((await post(body)).rawPayload);
    expect(chunks.map((c) => c.key)).toEqual(['0', '1', '10', '2', '3', '4', '5', '6', '7', '8', '9']);
    for (const chunk of chunks) {
      const id = ids[Number(chunk.key)]!;
      expect(chunk.table.get(0)!.toJSON()['user.name']).toBe(users.find((u) => u.id === id)!.name);
    }
  });

  it('reports an undefined output in that query only, with an empty table', async () => {
    const body = featherRequest([
      {
        header: { outputs: ['user.name'] },
        body: tableToIPC(tableFromArrays({ 'user.id': [2] }), 'stream'),
      },
      {
        header: { outputs: ['user.nope'] },
        body: tableToIPC(tableFromArrays({ 'user.id': [2] }), 'stream'),
      },
    ]);
    const [ok, bad] = parseFeatherResponse((await post(body)).rawPayload);
    expect(ok!.errors).toEqual([]);
    expect(ok!.table.numRows).toBe(1);
    expect(bad!.hasData).toBe(false);
    expect(bad!.table.numRows).toBe(0);
    expect(bad!.errors).toEqual([
      {
        code: 'PARSE_FAILED',
        category: 'REQUEST',
        feature: 'user.nope',
        message: "Query output referenced undefined feature 'user.nope'",
      },
    ]);
    expect(bad!.meta.query_hash).toBeNull();
  });

  it('reports a failing row as a field error and a null value', async () => {
    const body = featherRequest([
      {
        header: { outputs: ['user.name'] },
        body: tableToIPC(tableFromArrays({ 'user.id': [1, 42] }), 'file'),
      },
    ]);
    const [chunk] = parseFeatherResponse((await post(body)).rawPayload);
    expect(chunk!.table.toArray().map((r) => r.toJSON()['user.name'])).toEqual(['Ada Lovelace', null]);
    expect(chunk!.errors).toEqual([
      expect.objectContaining({ code: 'RESOLVER_FAILED', category: 'FIELD', feature: 'user.name' }),
    ]);
  });

  it('returns has-many outputs in groups_data, and packed into list columns when asked', async () => {
    const body = featherRequest([
      {
        header: {
          outputs: ['user.transactions'],
          planner_options: { pack_groups_into_structs: true, pack_groups_avoid_large_list: true },
        },
        body: tableToIPC(tableFromArrays({ 'user.id': [5, 4] }), 'stream'),
      },
    ]);
    const [chunk] = parseFeatherResponse((await post(body)).rawPayload);
    const group = chunk!.groups['user.transactions']!;
    const expected = transactions.filter((t) => t.user_id === 5);
    const rows = group.toArray().map((r) => r.toJSON());
    expect(rows.map((r) => r['transaction.id'])).toEqual(expected.map((t) => BigInt(t.id)));
    expect(rows.map((r) => r['user.id'])).toEqual(expected.map(() => 5n));
    expect(rows.map((r) => r['transaction.amount'])).toEqual(expected.map((t) => t.amount));
    const packed = chunk!.table.getChild('user.transactions.amount')!;
    expect([...packed.get(0)!]).toEqual(expected.map((t) => t.amount));
    expect([...packed.get(1)!]).toEqual([]);
  });

  it('answers a has-many sub-feature with the has-many table restricted to that column', async () => {
    const body = featherRequest([
      {
        header: { outputs: ['user.transactions.amount'] },
        body: tableToIPC(tableFromArrays({ 'user.id': [5, 4] }), 'stream'),
      },
    ]);
    const [chunk] = parseFeatherResponse((await post(body)).rawPayload);
    expect(chunk!.errors).toEqual([]);
    const group = chunk!.groups['user.transactions.amount']!;
    const expected = transactions.filter((t) => t.user_id === 5);
    expect(group.schema.fields.map((f) => f.name).sort()).toEqual(['transaction.amount', 'user.id']);
    const rows = group.toArray().map((r) => r.toJSON());
    expect(rows.map((r) => r['transaction.amount'])).toEqual(expected.map((t) => t.amount));
    expect(rows.map((r) => r['user.id'])).toEqual(expected.map(() => 5n));
  });

  it('answers a has-one asked for as a whole as a struct column', async () => {
    const profilePlane = await createTestPlane({ module: profiles });
    const body = featherRequest([
      {
        header: { ...clientHeader, outputs: ['member.profile'] },
        body: tableToIPC(tableFromArrays({ 'member.id': [2, 0] }), 'stream'),
      },
    ]);
    const [chunk] = parseFeatherResponse((await post(body, {}, profilePlane)).rawPayload);
    expect(chunk!.errors).toEqual([]);
    const column = chunk!.table.getChild('member.profile')!;
    // The fixture's rule: profile id = member id × 10; member 0 has none.
    expect(column.get(0)!.toJSON()).toEqual({ id: 20n, email: 'p20@example.com', age: 40n });
    expect(column.get(1)).toBeNull();
  });

  it('answers a has-one sub-feature path as its own column, beside the whole has-one', async () => {
    // Found by the compatibility suite: `member.profile.email` was dropped from the scalar table.
    const profilePlane = await createTestPlane({ module: profiles });
    const body = featherRequest([
      {
        header: { ...clientHeader, outputs: ['member.profile.email', 'member.profile'] },
        body: tableToIPC(tableFromArrays({ 'member.id': [3] }), 'stream'),
      },
    ]);
    const [chunk] = parseFeatherResponse((await post(body, {}, profilePlane)).rawPayload);
    expect(chunk!.errors).toEqual([]);
    expect(chunk!.table.getChild('member.profile.email')?.get(0)).toBe('p30@example.com');
    expect(chunk!.table.getChild('member.profile')?.get(0)?.toJSON()).toMatchObject({ id: 30n });
  });

  it.each([
    [{ feather_body_type: 'TABLE' }, /feather_body_type 'TABLE' is not supported/],
    [{ response_compression_scheme: 'zstd' }, /response_compression_scheme 'zstd' is not supported/],
    [
      { client_supports_64bit: false, client_supported_64bit_types: ['LargeUtf8'] },
      /'user\.id' is Int64, which the client does not read/,
    ],
  ])('refuses the header fields %j with a clear 400', async (fields, message) => {
    const body = featherRequest([
      {
        header: { ...clientHeader, ...fields, outputs: ['user.name'] },
        body: tableToIPC(tableFromArrays({ 'user.id': [1] }), 'stream'),
      },
    ]);
    const response = await post(body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'INVALID_QUERY', detail: expect.stringMatching(message) });
  });

  it('answers Int64 to a client that says no 64-bit support but lists Int64, or lists nothing', async () => {
    for (const fields of [
      { client_supports_64bit: false, client_supported_64bit_types: ['Int64', 'Float64'] },
      { client_supports_64bit: false, client_supported_64bit_types: undefined },
      { client_supports_64bit: true, client_supported_64bit_types: [] },
    ]) {
      const body = featherRequest([
        {
          header: { ...clientHeader, ...fields, outputs: ['user.name'] },
          body: tableToIPC(tableFromArrays({ 'user.id': [1] }), 'stream'),
        },
      ]);
      const response = await post(body);
      expect(response.statusCode).toBe(200);
      expect(parseFeatherResponse(response.rawPayload)[0]!.table.get(0)!.toJSON()['user.id']).toBe(1n);
    }
  });

  it.each([
    ['a wrong prefix', Buffer.from('chal2xxxxxxxx'), 'PARSE_FAILED'],
    ['no query at all', Buffer.from('chal1'), 'PARSE_FAILED'],
    [
      'a truncated header',
      Buffer.concat([Buffer.from('chal1'), Buffer.from([0, 0, 0, 0, 0, 0, 1, 0])]),
      'PARSE_FAILED',
    ],
    [
      'a header that is not JSON',
      featherRequest([{ header: {}, body: new Uint8Array() }]).fill(0x41, 13, 15),
      'PARSE_FAILED',
    ],
    [
      'an Arrow body that is garbage',
      featherRequest([{ header: { outputs: ['user.name'] }, body: Buffer.from('not arrow at all') }]),
      'PARSE_FAILED',
    ],
    [
      'a header of the wrong shape',
      featherRequest([
        { header: { outputs: 'user.name' }, body: tableToIPC(tableFromArrays({ 'user.id': [1] })) },
      ]),
      'INVALID_QUERY',
    ],
  ])('answers %s with 400', async (_name, body, code) => {
    const response = await post(body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code, trace: null, detail: expect.any(String) });
  });

  it('takes the body whatever content type is declared', async () => {
    const body = featherRequest([
      { header: { outputs: ['user.name'] }, body: tableToIPC(tableFromArrays({ 'user.id': [1] })) },
    ]);
    const response = await plane.app.inject({
      method: 'POST',
      url: '/v1/query/feather',
      headers: { authorization: `Bearer ${await plane.token()}` },
      payload: body,
    });
    expect(response.statusCode).toBe(200);
    expect(parseFeatherResponse(response.rawPayload)[0]!.table.get(0)!.toJSON()['user.name']).toBe(
      'Ada Lovelace',
    );
  });
});
