import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OnlineQueryResponse } from './online-query.ts';
import { onlineResponseJson } from './online-response-json.ts';

const value = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string(),
  fc.date({ noInvalidDate: true }),
  fc.array(fc.oneof(fc.string(), fc.double(), fc.constant(null))),
  fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.constant(undefined))),
);
const error = fc.record({
  code: fc.constantFrom('RESOLVER_FAILED', 'PARSE_FAILED'),
  category: fc.constantFrom('FIELD', 'REQUEST'),
  feature: fc.string(),
  message: fc.string(),
});
const entry = fc.record(
  {
    field: fc.oneof(fc.string(), fc.constantFrom('user.name', 'user.risk_score', 'a"b\\c\u2028')),
    value,
    pkey: value,
    ts: fc.oneof(
      fc.constant(null),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    ),
    valid: fc.boolean(),
    error: fc.oneof(fc.constant(null), error),
    meta: fc.record({
      chosen_resolver_fqn: fc.option(fc.string(), { nil: null }),
      cache_hit: fc.boolean(),
      primitive_type: fc.option(fc.string(), { nil: null }),
      version: fc.integer(),
    }),
  },
  { requiredKeys: ['field', 'value', 'pkey', 'ts', 'valid', 'error'] },
);
const response = fc.record(
  {
    data: fc.array(entry, { maxLength: 20 }),
    errors: fc.array(error, { maxLength: 3 }),
    meta: fc.dictionary(fc.string(), value),
  },
  { requiredKeys: ['data', 'errors'] },
);

describe('onlineResponseJson', () => {
  it('writes exactly what JSON.stringify writes', () => {
    fc.assert(
      fc.property(response, (r) => {
        expect(onlineResponseJson(r as OnlineQueryResponse)).toBe(JSON.stringify(r));
      }),
      { numRuns: 2000 },
    );
  });

  it('writes an everyday answer as JSON.stringify does, entries in their key order', () => {
    const answer: OnlineQueryResponse = {
      data: [
        {
          field: 'user.name',
          value: 'Ada',
          pkey: 1,
          ts: '2026-01-01T00:00:00.000Z',
          valid: true,
          error: null,
        },
        { field: 'user.risk_score', value: 0.25, pkey: 1, ts: null, valid: true, error: null },
      ],
      errors: [],
    };
    expect(onlineResponseJson(answer)).toBe(
      '{"data":[{"field":"user.name","value":"Ada","pkey":1,"ts":"2026-01-01T00:00:00.000Z","valid":true,"error":null},{"field":"user.risk_score","value":0.25,"pkey":1,"ts":null,"valid":true,"error":null}],"errors":[]}',
    );
  });

  it('throws as JSON.stringify does on a BigInt', () => {
    expect(() =>
      onlineResponseJson({
        data: [{ field: 'a.b', value: 1n, pkey: 1, ts: null, valid: true, error: null }],
        errors: [],
      }),
    ).toThrow(TypeError);
  });
});
