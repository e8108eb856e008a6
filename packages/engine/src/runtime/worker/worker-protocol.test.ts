import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CallContext, ResolverOutcome } from '../resolver-runtime.ts';
import { packCalls, packResults, unpackCalls, unpackResults } from './worker-protocol.ts';

const contextOf = (environment: string): CallContext => ({
  now: new Date(0),
  environment,
  deploymentId: 'd1',
  tags: [],
  queryContext: {},
});

const outcome: fc.Arbitrary<ResolverOutcome> = fc.oneof(
  fc.record({ ok: fc.constant(true as const), outputs: fc.dictionary(fc.string(), fc.double()) }),
  fc.record({
    ok: fc.constant(false as const),
    error: fc.record({ kind: fc.string(), message: fc.string(), stacktrace: fc.string() }),
  }),
  fc.record({
    ok: fc.constant(false as const),
    timedOut: fc.constant(true),
    error: fc.record({ kind: fc.string(), message: fc.string(), stacktrace: fc.string() }),
  }),
);

describe('worker protocol', () => {
  it('carries calls across unchanged, each query’s context once', () => {
    const contexts = [contextOf('a'), contextOf('b')];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            id: fc.nat(),
            resolver: fc.string(),
            rows: fc.array(fc.dictionary(fc.string(), fc.integer())),
            context: fc.constantFrom(...contexts),
          }),
        ),
        (calls) => {
          const packed = packCalls(calls);
          expect(packed.contexts.length).toBe(new Set(calls.map((call) => call.context)).size);
          expect(unpackCalls(structuredClone(packed))).toEqual(calls);
        },
      ),
    );
  });

  it('carries results across unchanged, all-succeeded calls as bare outputs', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ id: fc.nat(), outcomes: fc.array(outcome) })), (results) => {
        const packed = packResults(results);
        results.forEach((result, i) => {
          expect(packed.outcomes[i] === null).toBe(result.outcomes.every((o) => o.ok));
        });
        expect(unpackResults(structuredClone(packed))).toEqual(results);
      }),
    );
  });
});
