import { describe, expect, it } from 'vitest';
import type { Deployment } from '../api/index.ts';
import { graphFixture } from '../test-support/graph-fixture.ts';
import { versionsOf } from './entry-versions.ts';

const deployment = (id: string): Deployment => ({
  id,
  environment_id: 'dev',
  status: 'SUCCESS',
  created_at: '2026-01-01T00:00:00Z',
  activated_at: null,
  error: null,
  git: null,
});
const graphWith = (description: string | null, line = 1) =>
  graphFixture({
    namespaces: [
      {
        name: 'user',
        primaryKey: 'user.id',
        features: [
          { fqn: 'user.id', kind: 'scalar' },
          ...(description === null
            ? []
            : [{ fqn: 'user.name', kind: 'scalar', description, source: { file: 'a.ts', line } }]),
        ],
      },
    ],
    resolvers: [],
  });

describe('versionsOf', () => {
  it('lists the deployments where the definition was added, changed or removed, newest first', () => {
    // Oldest last, as the API lists them: d1 adds it, d2 only moves it in the file, d3 changes it, d4 drops it.
    const history = [
      { deployment: deployment('d4'), graph: graphWith(null) },
      { deployment: deployment('d3'), graph: graphWith('the name', 9) },
      { deployment: deployment('d2'), graph: graphWith('a name', 5) },
      { deployment: deployment('d1'), graph: graphWith('a name', 1) },
    ];
    expect(versionsOf(history, 'feature', 'user.name').map((v) => [v.deployment.id, v.change])).toEqual([
      ['d4', 'removed'],
      ['d3', 'changed'],
      ['d1', 'added'],
    ]);
  });
});
