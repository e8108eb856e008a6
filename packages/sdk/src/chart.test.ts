import { GraphArtifactSchema, lintGraph } from '@slate/graph';
import { describe, expect, it } from 'vitest';
import { chart, collectGraph, driftCheck, features, float, int, online, series, string } from './index.ts';

const Account = features('account', { id: int(), score: float(), label: string() });
const getScore = online({
  inputs: { id: Account.id },
  outputs: { score: Account.score },
  fn: () => ({ score: 1 }),
});

const codes = (exports: Record<string, unknown>) =>
  lintGraph(collectGraph(exports).artifact)
    .filter((issue) => issue.severity === 'error')
    .map((issue) => issue.code);

describe('charts and drift checks as code', () => {
  it('ship in the artifact with resolver objects named by their export', () => {
    const errors = chart({ name: 'score-errors', window: '5m' })
      .withSeries(series('resolver_errors', { name: 'failed', where: getScore }))
      .withSeries(series('resolver_count', { name: 'calls', where: 'getScore' }))
      .withFormula('rate', 'ratio', ['failed', 'calls'])
      .withTrigger({
        name: 'score-failing',
        series: 'rate',
        threshold: 0.1,
        severity: 'critical',
        owner: 'risk',
      })
      .withLink(getScore);
    const drift = driftCheck({
      name: 'score-drift',
      feature: Account.score,
      dataset: 'training',
      threshold: 0.3,
      owner: 'risk',
    });
    const { artifact } = collectGraph({ Account, getScore, errors, drift });
    expect(artifact.charts).toEqual([
      {
        name: 'score-errors',
        windowS: 300,
        everyS: 60,
        series: [
          {
            name: 'failed',
            metric: 'resolver_errors',
            windowFunction: 'sum',
            filters: { resolver: ['getScore'] },
            groupBy: [],
          },
          {
            name: 'calls',
            metric: 'resolver_count',
            windowFunction: 'sum',
            filters: { resolver: ['getScore'] },
            groupBy: [],
          },
        ],
        formulas: [{ name: 'rate', kind: 'ratio', operands: ['failed', 'calls'] }],
        trigger: {
          name: 'score-failing',
          series: 'rate',
          threshold: 0.1,
          direction: 'above',
          severity: 'critical',
          owner: 'risk',
        },
        links: ['getScore'],
        source: expect.objectContaining({ file: expect.stringMatching(/chart\.test\.ts$/) }),
      },
    ]);
    expect(artifact.driftChecks).toMatchObject([
      {
        name: 'score-drift',
        feature: 'account.score',
        dataset: 'training',
        windowS: 86_400,
        everyS: 3_600,
        threshold: 0.3,
      },
    ]);
    // The artifact survives JSON and the schema, and lints clean.
    expect(GraphArtifactSchema.parse(JSON.parse(JSON.stringify(artifact))).charts).toEqual(artifact.charts);
    expect(codes({ Account, getScore, errors, drift })).toEqual([]);
  });

  it('lints unknown resolvers and features, wrong dimensions, bad windows, unknown series and non-numeric drift', () => {
    const base = { Account, getScore };
    const unknownResolver = chart({ name: 'a', window: '5m' }).withSeries(
      series('resolver_errors', { name: 's', where: 'getScor' }),
    );
    expect(codes({ ...base, unknownResolver })).toEqual(['UNKNOWN_RESOLVER']);
    const unknownFeature = chart({ name: 'b', window: '5m' }).withSeries(
      series('feature_null_ratio', { name: 's', where: 'account.nope' }),
    );
    expect(codes({ ...base, unknownFeature })).toEqual(['UNKNOWN_FEATURE']);
    const wrongDimension = chart({ name: 'c', window: '5m' }).withSeries(
      series('resolver_count', { name: 's', where: Account.score }),
    );
    expect(codes({ ...base, wrongDimension })).toEqual(['UNKNOWN_RESOLVER']);
    const badWindow = chart({ name: 'd', window: '90s' }).withSeries(series('query_count', { name: 's' }));
    expect(codes({ ...base, badWindow })).toEqual(['INVALID_WINDOW']);
    const unknownSeries = chart({ name: 'e', window: '5m' })
      .withSeries(series('query_count', { name: 's' }))
      .withFormula('f', 'ratio', ['s'])
      .withTrigger({ name: 't', series: 'nope', threshold: 1, severity: 'info', owner: 'o' });
    expect(codes({ ...base, unknownSeries }).sort()).toEqual(['INVALID_FORMULA', 'UNKNOWN_SERIES']);
    const textDrift = driftCheck({
      name: 'g',
      feature: Account.label,
      dataset: 'd',
      threshold: 0.5,
      owner: 'o',
    });
    expect(codes({ ...base, textDrift })).toEqual(['INVALID_DRIFT_CHECK']);
    expect(() => chart({ name: 'h', window: 'soon' })).toThrow(/INVALID_DURATION|not a duration|soon/);
  });
});
