import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import * as accounts from './fixtures/account-module.ts';
import { createTestPlane, type TestPlane } from './fixtures/test-plane.ts';

/** Deterministic pseudo-random numbers (mulberry32), so a failing case can be replayed. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = random(20260401);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const fqns = [
  'user.id',
  'user.name',
  'user.transactions',
  'user.nope',
  'nope',
  '',
  'user.',
  '.x',
  'transaction.amount',
];

function value(depth = 0): unknown {
  const kinds = depth > 2 ? 6 : 9;
  switch (Math.floor(rand() * kinds)) {
    case 0:
      return null;
    case 1:
      return pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 1, 42]);
    case 2:
      return pick(['', 'x', '1', '2026-01-01T00:00:00Z', 'a'.repeat(300), '\u0000', '💥']);
    case 3:
      return rand() < 0.5;
    case 4:
      return pick(fqns);
    case 5:
      return pick([[], {}, [null], { '': null }]);
    case 6:
      return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
    case 7:
      return Object.fromEntries(
        Array.from({ length: Math.floor(rand() * 4) }, () => [pick(fqns), value(depth + 1)]),
      );
    default:
      return { inputs: value(depth + 1), outputs: value(depth + 1) };
  }
}

function queryBody(): unknown {
  const body: Record<string, unknown> = {};
  const fields = [
    'inputs',
    'outputs',
    'staleness',
    'context',
    'include_meta',
    'explain',
    'now',
    'query_name',
    'query_name_version',
    'correlation_id',
    'meta',
    'query_context',
    'planner_options',
    'encoding_options',
  ];
  for (const field of fields) if (rand() < 0.08) body[field] = value();
  if (rand() < 0.6) body.inputs = { [pick(fqns)]: rand() < 0.5 ? pick([1, 2, '3', 42]) : value() };
  if (rand() < 0.6) body.outputs = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(fqns));
  return body;
}

const validFeather = (() => {
  const header = Buffer.from(JSON.stringify({ outputs: ['user.name'] }));
  const body = Buffer.from(tableToIPC(tableFromArrays({ 'user.id': [1, 2] }), 'stream'));
  const u64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  };
  return Buffer.concat([Buffer.from('chal1'), u64(header.length), header, u64(body.length), body]);
})();

function mangled(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  switch (Math.floor(rand() * 4)) {
    case 0:
      return copy.subarray(0, Math.floor(rand() * copy.length));
    case 1:
      for (let i = 0; i < 1 + rand() * 8; i++)
        copy[Math.floor(rand() * copy.length)] = Math.floor(rand() * 256);
      return copy;
    case 2:
      return Buffer.concat([
        copy,
        Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 40) }, () => Math.floor(rand() * 256))),
      ]);
    default:
      return Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
  }
}

let plane: TestPlane;
beforeAll(async () => {
  plane = await createTestPlane();
});

describe('malformed requests', () => {
  it('never answers a client’s mistake with a 5xx (400 generated bodies)', async () => {
    const token = await plane.token();
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    const jsonRoutes = [
      ['POST', '/v1/query/online'],
      ['POST', '/v1/upload/single'],
      ['DELETE', '/v1/features/rows'],
    ] as const;
    for (let i = 0; i < 400; i++) {
      const kind = i % 4;
      let method: 'POST' | 'DELETE' = 'POST';
      let url: string;
      let payload: string | Buffer;
      let contentType = 'application/json';
      if (kind === 0 || kind === 1) {
        const [m, u] = pick(jsonRoutes);
        method = m;
        url = u;
        payload =
          kind === 0
            ? JSON.stringify(queryBody())
            : JSON.stringify(value()).slice(0, Math.floor(rand() * 60));
      } else {
        url = pick(['/v1/query/feather', '/v1/upload_features/multi']);
        contentType = pick(['application/octet-stream', 'application/json', 'text/plain']);
        payload = mangled(
          kind === 2 ? validFeather : Buffer.from(`CHALK_BYTE_TRANSMISSION${JSON.stringify(value())}`),
        );
      }
      const response = await plane.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
        payload,
      });
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      if (response.statusCode >= 500)
        failures.push(
          `${method} ${url} ${JSON.stringify(payload.toString().slice(0, 200))} → ${response.body}`,
        );
      else if (response.statusCode >= 400) {
        const body = response.json();
        if (typeof body.code !== 'string' || typeof body.detail !== 'string' || body.trace !== null)
          failures.push(`${url}: error body of the wrong shape: ${response.body}`);
      }
    }
    expect(failures).toEqual([]);
    // The generator must actually reach both outcomes, or it proves nothing.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(100);
    // (Bodies holding a NUL string are now refused at the edge, so fewer of them get through.)
    expect(statuses.get(200) ?? 0).toBeGreaterThan(5);
  });

  it('answers a body over the configured limit with 413 BODY_TOO_LARGE', async () => {
    const small = await createTestPlane({ server: { bodyLimit: 1024 } });
    const response = await small.app.inject({
      method: 'POST',
      url: '/v1/query/online',
      headers: { authorization: `Bearer ${await small.token()}`, 'content-type': 'application/json' },
      payload: JSON.stringify({
        inputs: { 'user.id': 1 },
        outputs: ['user.name'],
        meta: { pad: 'x'.repeat(2000) },
      }),
    });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ code: 'BODY_TOO_LARGE', trace: null });
    const feather = await small.app.inject({
      method: 'POST',
      url: '/v1/query/feather',
      headers: { authorization: `Bearer ${await small.token()}`, 'content-type': 'application/octet-stream' },
      payload: Buffer.alloc(4096, 1),
    });
    expect(feather.statusCode).toBe(413);
  });
});

describe('per-environment concurrency limit', () => {
  it('answers 429 with Retry-After past the limit, and serves the admitted queries', async () => {
    const limited = await createTestPlane({ module: accounts, server: { maxInFlightPerEnvironment: 2 } });
    const token = await limited.token();
    const ask = () =>
      limited.app.inject({
        method: 'POST',
        url: '/v1/query/online',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ inputs: { 'account.id': 2 }, outputs: ['account.slow_score'] }),
      });
    const responses = await Promise.all(Array.from({ length: 6 }, ask));
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
    const refused = responses.find((r) => r.statusCode === 429)!;
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toMatchObject({ code: 'TOO_MANY_REQUESTS', trace: null });
    for (const ok of responses.filter((r) => r.statusCode === 200)) expect(ok.json().data[0].value).toBe(20);
    // Slots are given back: the next query is admitted.
    expect((await ask()).statusCode).toBe(200);
  });
});

describe('row limit', () => {
  it('refuses a feather request declaring more rows than allowed', async () => {
    const small = await createTestPlane({ server: { maxRowsPerRequest: 3 } });
    const ids = tableToIPC(tableFromArrays({ 'user.id': [1, 2, 3, 4] }), 'stream');
    const header = Buffer.from(JSON.stringify({ outputs: ['user.name'] }));
    const u64 = (n: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(n));
      return b;
    };
    const response = await small.app.inject({
      method: 'POST',
      url: '/v1/query/feather',
      headers: { authorization: `Bearer ${await small.token()}`, 'content-type': 'application/octet-stream' },
      payload: Buffer.concat([
        Buffer.from('chal1'),
        u64(header.length),
        header,
        u64(ids.length),
        Buffer.from(ids),
      ]),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      code: 'INVALID_QUERY',
      detail: expect.stringMatching(/declares 4 rows/),
    });
  });
});
