import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GraphArtifactSchema, lintGraph } from '@slate/graph';
import { describe, expect, it } from 'vitest';
import {
  collectGraph,
  dataFrame,
  F,
  features,
  float,
  hasMany,
  int,
  namedQuery,
  online,
  string,
  windowed,
} from './index.ts';

const thisFile = /lint\.test\.ts:\d+: /;
/** The line of this file where `marker` first appears: where a definition stands, without hard-coding numbers. */
const lineOf = (marker: string) =>
  readFileSync(fileURLToPath(import.meta.url), 'utf8')
    .split('\n')
    .findIndex((line) => line.includes(marker)) + 1;

const Item = features('item', { id: int(), order_id: int(), price: float(), label: string() });

describe('lintGraph over SDK definitions', () => {
  it('stores expressions as kind-tagged nodes that survive JSON and the schema', () => {
    const Order = features(
      'order',
      {
        id: int(),
        items: hasMany(() => Item, { on: { order_id: 'id' } }),
        total: float(),
        n: windowed('10m', '1d', { expression: (_) => _.items!.count(), default: 0 }),
      },
      { expressions: (_) => ({ total: _.items.where((i) => i.price.gt(10)).sum((i) => i.price) }) },
    );
    const { artifact } = collectGraph({ Order });
    const order = artifact.namespaces.find((ns) => ns.name === 'order')!;
    const total = order.features.find((f) => f.name === 'total')!;
    expect(total).toMatchObject({
      kind: 'scalar',
      expression: {
        kind: 'aggregate',
        fn: 'sum',
        relation: 'order.items',
        where: {
          kind: 'binary',
          op: 'gt',
          left: { kind: 'column', name: 'price' },
          right: { kind: 'literal', value: 10 },
        },
        select: { kind: 'column', name: 'price' },
      },
    });
    expect(
      order.features
        .filter((f) => f.name.startsWith('n__'))
        .map((f) => [f.name, f.kind === 'scalar' && f.window]),
    ).toEqual([
      ['n__600__', { base: 'n', seconds: 600 }],
      ['n__86400__', { base: 'n', seconds: 86_400 }],
    ]);
    const windowType = order.features.find((f) => f.name === 'n__600__');
    expect(windowType).toMatchObject({ dtype: { type: 'int' }, nullable: false, default: 0 });
    const roundTripped = GraphArtifactSchema.parse(JSON.parse(JSON.stringify(artifact)));
    expect(roundTripped).toEqual(artifact);
    expect(lintGraph(artifact)).toEqual([]);
  });

  it('reports an expression whose type does not fit its feature, at the feature line', () => {
    const A = features('a', {
      id: int(),
      name: string(),
      // A cast hides the mismatch from TypeScript, as a JavaScript user would write it.
      bad: int().expression((_) => F.lower(_.name!) as never), // marker:bad-type
    });
    const issues = lintGraph(collectGraph({ A }).artifact);
    expect(issues.map((i) => i.code)).toEqual(['TYPE_MISMATCH']);
    expect(issues[0]!.message).toMatch(thisFile);
    expect(issues[0]!.source?.line).toBe(lineOf('marker:bad-type'));
    expect(issues[0]!.message).toContain('a.bad is int, but its expression F.lower(_.name) is string');
  });

  it('reports operators applied to the wrong types', () => {
    const B = features('b', {
      id: int(),
      name: string(),
      n: int().expression((_) => _.name!.add(1)),
      c: int().expression((_) => F.abs(_.name as never)),
    });
    const messages = lintGraph(collectGraph({ B }).artifact).map((i) => `${i.code} ${i.message}`);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toContain('TYPE_MISMATCH');
    expect(messages[0]).toContain("'add' needs numbers, got string and int");
    expect(messages[1]).toContain('F.abs() argument 1 must be int or float, got string');
  });

  it('reports unknown features read by expressions and named queries', () => {
    const C = features('c', {
      id: int(),
      x: int().expression((_) => _.nope!.add(1)), // marker:unknown
    });
    const q = namedQuery({ name: 'q', inputs: [C.id], outputs: [C.x] });
    const { artifact } = collectGraph({ C, q });
    const broken = { ...artifact, namedQueries: [{ ...artifact.namedQueries[0]!, outputs: ['c.ghost'] }] };
    const issues = lintGraph(broken);
    expect(issues.map((i) => i.code)).toEqual(['UNKNOWN_FEATURE', 'UNKNOWN_FEATURE']);
    expect(issues[0]!.message).toContain("c.x: the expression reads unknown feature 'c.nope'");
    expect(issues[0]!.source?.line).toBe(lineOf('marker:unknown'));
    expect(issues[1]!.message).toBe("named query q references unknown feature 'c.ghost'");
  });

  it('reports reserved names and bad staleness durations', () => {
    const D = features('d', { id: int(), chalk_score: int(), a__b: int() });
    const q = namedQuery({
      name: 'fresh',
      inputs: [D.id],
      outputs: [D.chalk_score],
      staleness: { 'd.chalk_score': 'soon' },
    });
    const codes = lintGraph(collectGraph({ D, q }).artifact).map((i) => i.code);
    expect(codes).toEqual(['RESERVED_NAME', 'RESERVED_NAME', 'INVALID_DURATION']);
  });

  it('rejects a bad duration at definition time, with the file and line', () => {
    expect(() => features('e', { id: int(), x: int().maxStaleness('soon') })).toThrow(thisFile);
    expect(() =>
      features('e', { id: int(), w: windowed('10 parsecs', { expression: (_) => _.x!.count() }) }),
    ).toThrow(thisFile);
  });

  it('reports two resolvers producing a feature in the same scope, but not scoped ones', () => {
    const G = features('g', { id: int(), score: float() });
    const first = online({ inputs: { id: G.id }, outputs: { score: G.score }, fn: () => ({ score: 1 }) });
    const second = online({ inputs: { id: G.id }, outputs: { score: G.score }, fn: () => ({ score: 2 }) }); // marker:second
    const scoped = online({
      inputs: { id: G.id },
      outputs: { score: G.score },
      environment: 'prod',
      fn: () => ({ score: 3 }),
    });
    const issues = lintGraph(collectGraph({ G, first, second, scoped }).artifact);
    expect(issues.map((i) => i.code)).toEqual(['AMBIGUOUS_RESOLVER']);
    expect(issues[0]!.source?.line).toBe(lineOf('marker:second'));
    expect(issues[0]!.message).toContain('g.score is produced by first and second in the same scope');
  });

  it('reports a cycle through an expression', () => {
    const H = features('h', { id: int(), a: int(), b: int() }, { expressions: (_) => ({ b: _.a.add(1) }) });
    const back = online({ inputs: { b: H.b }, outputs: { a: H.a }, fn: ({ b }) => ({ a: b }) });
    expect(lintGraph(collectGraph({ H, back }).artifact).map((i) => i.code)).toContain('CYCLE');
  });

  it('accepts versions, windows and has-one paths as resolver inputs, and checks data-frame resolvers', () => {
    const K = features('k', { id: int(), score: float().version(2, { default: 2 }), label: string() });
    const v1 = online({ inputs: { id: K.id }, outputs: { score: K.score.at(1) }, fn: () => ({ score: 1 }) });
    const v2 = online({ inputs: { id: K.id }, outputs: { score: K.score }, fn: () => ({ score: 2 }) });
    const frame = online({ inputs: {}, outputs: { rows: dataFrame(K, 'label') }, fn: () => ({ rows: [] }) });
    const issues = lintGraph(collectGraph({ K, v1, v2, frame }).artifact);
    expect(issues.map((i) => i.code)).toEqual(['INVALID_DATAFRAME_RESOLVER']);
  });
});
