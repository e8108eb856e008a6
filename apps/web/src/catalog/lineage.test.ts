import { describe, expect, it } from 'vitest';
import { graphFixture } from '../test-support/graph-fixture.ts';
import { createGraphIndex, resolverKind, resolverKindLabel } from './graph-index.ts';
import { featureLineage, layoutLineage, MAX_NODES_PER_COLUMN, resolverLineage } from './lineage.ts';

const graph = graphFixture({
  namespaces: [
    {
      name: 'user',
      primaryKey: 'user.id',
      features: [
        { fqn: 'user.id', kind: 'scalar', dtype: { type: 'int' } },
        { fqn: 'user.name', kind: 'scalar', dtype: { type: 'string' } },
        { fqn: 'user.greeting', kind: 'scalar', dtype: { type: 'string' } },
        {
          fqn: 'user.account',
          kind: 'has_one',
          target: 'account',
          join: [{ local: 'user.id', foreign: 'account.user_id' }],
        },
      ],
    },
  ],
  resolvers: [
    {
      fqn: 'get_name',
      kind: 'online',
      inputs: [{ type: 'feature', param: 'id', fqn: 'user.id' }],
      outputs: [{ param: 'name', fqn: 'user.name' }],
    },
    { fqn: 'greet', kind: 'online', inputs: ['user.name'], outputs: ['user.greeting', 'user.account'] },
    { fqn: 'names_sql', kind: 'offline', inputs: [], outputs: ['user.name'], sql: { dataSource: 'pg' } },
    { fqn: 'names_stream', kind: 'online', inputs: [], outputs: ['user.name'], stream: { topic: 'names' } },
    { fqn: 'nightly', kind: 'offline', inputs: [], outputs: ['user.name'], cron: '0 3 * * *' },
  ],
});

describe('resolver kinds', () => {
  it('tells streaming, SQL and cron resolvers apart from plain online ones', () => {
    expect(graph.resolvers.map(resolverKind)).toEqual(['online', 'online', 'sql', 'streaming', 'cron']);
    expect(resolverKindLabel(graph.resolvers[2]!)).toBe('SQL · offline');
  });
});

describe('lineage', () => {
  const index = createGraphIndex(graph);
  const ids = (columns: readonly (readonly { id: string }[])[]) => columns.map((c) => c.map((n) => n.id));

  it('draws a feature between the resolvers that compute it and those that read it', () => {
    const lineage = featureLineage(index, 'user.name');
    expect(ids(lineage.columns)).toEqual([
      ['f:user.id'],
      ['r:get_name', 'r:names_sql', 'r:names_stream', 'r:nightly'],
      ['f:user.name'],
      ['r:greet'],
      ['f:user.greeting', 'f:user.account'],
    ]);
    expect(lineage.edges).toContainEqual({ from: 'f:user.id', to: 'r:get_name' });
    expect(lineage.edges).toContainEqual({ from: 'r:greet', to: 'f:user.account' });
  });

  it('follows a resolver output that is a relationship to its target namespace', () => {
    const lineage = resolverLineage(index, 'greet');
    expect(ids(lineage.columns)).toEqual([
      ['f:user.name'],
      ['r:greet'],
      ['f:user.greeting', 'f:user.account'],
      ['n:account'],
    ]);
    expect(lineage.edges).toContainEqual({ from: 'f:user.account', to: 'n:account' });
  });

  it('folds a crowded column into "+N more"', () => {
    const many = graphFixture({
      namespaces: [{ name: 'x', primaryKey: 'x.id', features: [{ fqn: 'x.id', kind: 'scalar' }] }],
      resolvers: Array.from({ length: 12 }, (_, i) => ({
        fqn: `r${i}`,
        kind: 'online' as const,
        inputs: ['x.id'],
        outputs: [`x.f${i}`],
      })),
    });
    const lineage = featureLineage(createGraphIndex(many), 'x.id');
    const consumers = lineage.columns[1]!;
    expect(consumers).toHaveLength(MAX_NODES_PER_COLUMN);
    expect(consumers.at(-1)).toMatchObject({ type: 'more', label: '+5 more' });
  });

  it('lays columns out left to right, centred, with edges from right edge to left edge', () => {
    const layout = layoutLineage(resolverLineage(index, 'get_name'), {
      nodeWidth: 100,
      nodeHeight: 20,
      columnGap: 50,
      rowGap: 10,
      pad: 0,
    });
    expect(layout.width).toBe(3 * 100 + 2 * 50);
    expect(layout.height).toBe(20);
    expect(layout.nodes.map((n) => [n.id, n.x, n.y])).toEqual([
      ['f:user.id', 0, 0],
      ['r:get_name', 150, 0],
      ['f:user.name', 300, 0],
    ]);
    expect(layout.edges[0]!.path).toBe('M100,10 C125,10 125,10 150,10');
  });

  it('runs top to bottom for narrow screens, each layer a centred row', () => {
    const sizes = { nodeWidth: 100, nodeHeight: 20, columnGap: 30, rowGap: 10, pad: 0 };
    const layout = layoutLineage(featureLineage(index, 'user.greeting'), sizes, 'down');
    // Layers: user.name → greet → user.greeting; one box each, so one box wide and three deep.
    expect([layout.width, layout.height]).toEqual([100, 3 * 20 + 2 * 30]);
    expect(layout.nodes.map((n) => [n.id, n.x, n.y])).toEqual([
      ['f:user.name', 0, 0],
      ['r:greet', 0, 50],
      ['f:user.greeting', 0, 100],
    ]);
    expect(layout.edges.find((e) => e.from === 'f:user.name')?.path).toBe('M50,20 C50,35 50,35 50,50');
  });
});
