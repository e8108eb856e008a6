import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OnlineQueryRequestSchema } from './online-query.ts';
import { parseOnlineQueryRequest } from './online-query-request.ts';

/** What the schema makes of a body: its output, or the issues it refuses the body with. */
function bySchema(body: unknown) {
  const parsed = OnlineQueryRequestSchema.safeParse(body);
  return parsed.success ? { ok: parsed.data } : { issues: parsed.error.issues };
}

function byFastPath(body: unknown) {
  try {
    return { ok: parseOnlineQueryRequest(body) };
  } catch (error) {
    return { issues: (error as { issues?: unknown }).issues };
  }
}

const anyValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.string(),
  fc.array(fc.oneof(fc.string(), fc.integer())),
  fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())),
);
const fieldValues: Record<string, fc.Arbitrary<unknown>> = {
  inputs: fc.oneof(fc.dictionary(fc.string(), anyValue), anyValue),
  outputs: fc.oneof(fc.array(fc.string()), fc.array(fc.string({ minLength: 1 })), anyValue),
  staleness: fc.oneof(fc.dictionary(fc.string(), fc.string()), anyValue),
  include_meta: anyValue,
  explain: anyValue,
  query_name: anyValue,
  correlation_id: anyValue,
  deployment_id: anyValue,
  branch_id: anyValue,
  now: fc.oneof(fc.constant('2026-01-01T00:00:00Z'), anyValue),
  meta: anyValue,
  unknown_field: anyValue,
};
/** Bodies near the everyday shape, where the fast path answers: every field well typed but for a few. */
const optionalString = fc.option(fc.string(), { nil: null });
const optionalBoolean = fc.option(fc.boolean(), { nil: null });
const everyday = fc.record(
  {
    inputs: fc.dictionary(fc.string(), anyValue),
    outputs: fc.option(fc.array(fc.string({ maxLength: 3 })), { nil: null }),
    staleness: fc.option(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())), { nil: null }),
    include_meta: fc.oneof(optionalBoolean, fc.integer()),
    explain: optionalBoolean,
    store_plan_stages: optionalBoolean,
    query_name: fc.oneof(optionalString, fc.integer()),
    query_name_version: optionalString,
    correlation_id: optionalString,
    deployment_id: optionalString,
    branch_id: optionalString,
  },
  { requiredKeys: ['inputs'] },
);
const bodies = fc.oneof(
  everyday,
  fc.record(fieldValues, { requiredKeys: [] }),
  fc.record(fieldValues, { requiredKeys: ['inputs'] }),
  anyValue,
);

describe('parseOnlineQueryRequest', () => {
  it('accepts and refuses exactly what the zod schema does, with the same output', () => {
    fc.assert(
      fc.property(bodies, (body) => {
        // JSON bodies only: what Fastify's parser hands the route.
        const json = JSON.parse(JSON.stringify(body) ?? 'null');
        expect(byFastPath(json)).toEqual(bySchema(json));
      }),
      { numRuns: 3000 },
    );
  });

  it('answers the everyday query shape as it was sent', () => {
    const body = {
      inputs: { 'user.id': 1 },
      outputs: ['user.name', 'user.risk_score'],
      include_meta: true,
      query_name: null,
    };
    expect(parseOnlineQueryRequest(body)).toEqual(body);
  });

  it('refuses an empty output name and a non-object inputs as the schema does', () => {
    expect(() => parseOnlineQueryRequest({ inputs: { 'user.id': 1 }, outputs: [''] })).toThrow();
    expect(() => parseOnlineQueryRequest({ inputs: [1], outputs: ['user.name'] })).toThrow();
    expect(() => parseOnlineQueryRequest({ outputs: ['user.name'] })).toThrow();
  });
});
