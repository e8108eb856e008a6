import { lintGraph, SlateError } from '@slate/graph';
import { describe, expect, it } from 'vitest';
import { collectGraph, features, float, int, string, windowed, windowedStream } from './index.ts';

const Card = features('card', {
  id: string(),
  swipes: windowed('10m', '1h', { type: int(), default: 0 }),
  spend: windowed('1h', '1d', 'all', {
    type: float(),
    default: 0,
    maxStaleness: '1d',
    etlOfflineToOnline: true,
  }),
  declines: windowed('10m', { default: 0 }),
});
interface Swipe {
  card: string;
  cents: number;
  declined: boolean;
  at: string;
}
const swipes = windowedStream({
  source: { topic: 'swipes' },
  parse: ({ value }) => JSON.parse(value) as Swipe,
  key: (swipe) => swipe.card,
  time: (swipe) => new Date(swipe.at),
  lateArrivalDeadline: '30m',
  aggregate: (agg) => [
    agg.count(Card.swipes),
    agg.sum(Card.spend, (swipe) => swipe.cents / 100),
    agg.count(Card.declines, (swipe) => swipe.declined),
  ],
});

describe('windowedStream', () => {
  const { artifact, functions } = collectGraph({ Card, swipes });

  it('describes the stream in the artifact: every window of every aggregated feature, keyed by the primary key', () => {
    const spec = artifact.resolvers.find((r) => r.fqn === 'swipes')!;
    expect(spec.outputs.map((o) => o.fqn)).toEqual([
      'card.id',
      'card.swipes__600__',
      'card.swipes__3600__',
      'card.spend__3600__',
      'card.spend__86400__',
      'card.spend__all__',
      'card.declines__600__',
    ]);
    expect(spec.stream).toEqual({
      topic: 'swipes',
      lateArrivalS: 1800,
      mode: 'windowed',
      windowed: {
        windowMode: 'continuous',
        // gcd(600, 3600, 86400) = 600; the largest divisor of it at most a tenth of it.
        bucketS: 60,
        aggregations: [
          {
            param: 'a0',
            feature: 'card.swipes',
            function: 'count',
            windows: [
              { fqn: 'card.swipes__600__', seconds: 600 },
              { fqn: 'card.swipes__3600__', seconds: 3600 },
            ],
          },
          {
            param: 'a1',
            feature: 'card.spend',
            function: 'sum',
            windows: [
              { fqn: 'card.spend__3600__', seconds: 3600 },
              { fqn: 'card.spend__86400__', seconds: 86400 },
              { fqn: 'card.spend__all__', seconds: null },
            ],
          },
          {
            param: 'a2',
            feature: 'card.declines',
            function: 'count',
            windows: [{ fqn: 'card.declines__600__', seconds: 600 }],
          },
        ],
      },
    });
    const card = artifact.namespaces[0]!.features;
    // An untyped counted window is an int; the spend windows are online (etlOfflineToOnline, max staleness).
    expect(card.find((f) => f.fqn === 'card.declines__600__')).toMatchObject({ dtype: { type: 'int' } });
    expect(card.find((f) => f.fqn === 'card.spend__all__')).toMatchObject({
      dtype: { type: 'float' },
      etlOfflineToOnline: true,
      maxStalenessS: 86400,
    });
    expect(card.find((f) => f.fqn === 'card.swipes__600__')).not.toHaveProperty('expression');
    expect(lintGraph(artifact)).toEqual([]);
  });

  it("parses a message into the row's key, event time and each aggregation's input", async () => {
    const fn = functions.get('swipes')!;
    const message = (body: unknown) => ({
      message: { value: JSON.stringify(body), key: 'k', publishedAt: new Date(0) },
    });
    const context = {} as Parameters<typeof fn>[1];
    expect(
      await fn(message({ card: 'c1', cents: 1250, declined: true, at: '2026-01-01T00:00:00Z' }), context),
    ).toEqual({ __key: 'c1', __time: Date.UTC(2026, 0, 1), a0: 1, a1: 12.5, a2: 1 });
    expect(
      await fn(message({ card: 'c1', cents: 0, declined: false, at: '2026-01-01T00:00:00Z' }), context),
    ).toMatchObject({ a0: 1, a2: 0 });
    expect(() => fn(message({ card: 'c1', cents: 1, at: 'not a time' }), context)).toThrow(/time/);
  });

  it('refuses what cannot be computed', () => {
    const refused = (make: () => unknown) => {
      try {
        make();
      } catch (error) {
        return error instanceof SlateError ? error.code : String(error);
      }
      return 'accepted';
    };
    const base = {
      source: { topic: 'swipes' },
      parse: ({ value }: { value: string }) => JSON.parse(value) as Swipe,
      key: (swipe: Swipe) => swipe.card,
    };
    expect(refused(() => windowedStream({ ...base, aggregate: () => [] }))).toBe('INVALID_RESOLVER');
    expect(
      refused(() =>
        windowedStream({ ...base, aggregate: (agg) => [agg.count(Card.swipes), agg.count(Card.swipes)] }),
      ),
    ).toBe('INVALID_RESOLVER');
    expect(
      refused(() =>
        windowedStream({ ...base, bucketDuration: '7m', aggregate: (agg) => [agg.count(Card.swipes)] }),
      ),
    ).toBe('INVALID_RESOLVER');
    const Other = features('other', { id: int(), n: windowed('1h', { type: int() }) });
    expect(
      refused(() =>
        windowedStream({ ...base, aggregate: (agg) => [agg.count(Card.swipes), agg.count(Other.n)] }),
      ),
    ).toBe('INVALID_RESOLVER');
    // A windowed feature without an expression that no stream computes.
    expect(refused(() => collectGraph({ Card }))).toBe('INVALID_FEATURE');
    // Tumbling windows are their own buckets.
    const tumbling = windowedStream({
      ...base,
      mode: 'tumbling',
      aggregate: (agg) => [agg.count(Card.swipes)],
    });
    const spec = collectGraph({ Card, swipes, tumbling }).artifact.resolvers.find(
      (r) => r.fqn === 'tumbling',
    )!;
    expect(spec.stream?.windowed).toMatchObject({ windowMode: 'tumbling', bucketS: 600 });
  });
});
