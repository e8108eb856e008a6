import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, createInProcessRuntime, createSqlRuntime } from '@slate/engine';
import { collectGraph, features, int, sqlResolver, string } from '@slate/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { createDataSourceRegistry, resolveSecretReferences } from './data-sources.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-sources-'));
afterAll(() => rm(root, { recursive: true, force: true }));

describe('resolveSecretReferences', () => {
  it(`puts URL-encoded secrets in place of \${secret:NAME}`, () => {
    expect(
      resolveSecretReferences(`postgres://app:\${secret:PW}@db:5432/\${secret:DB}`, {
        PW: 'p@ss/w:rd',
        DB: 'app',
      }),
    ).toBe('postgres://app:p%40ss%2Fw%3Ard@db:5432/app');
  });

  it('names a missing secret, never a value', () => {
    expect(() => resolveSecretReferences(`postgres://app:\${secret:NOPE}@db/app`, { PW: 'hunter2' })).toThrow(
      expect.objectContaining({ code: 'SECRET_NOT_FOUND', message: expect.not.stringContaining('hunter2') }),
    );
  });
});

describe('data source registry', () => {
  it('gives each environment its sources; an embedded PGlite source answers SQL resolvers with push-down', async () => {
    const init = join(root, 'init.sql');
    await writeFile(
      init,
      "create table plans (user_id int primary key, plan text); insert into plans values (1, 'pro'), (2, 'free'), (3, 'team');",
    );
    const registry = createDataSourceRegistry([
      { name: 'app_db', type: 'pglite', initFile: init, environment: 'dev' },
      { name: 'warehouse', type: 'postgres', url: `postgres://u:\${secret:PW}@127.0.0.1:1/w` },
    ]);
    expect([...registry.sourcesFor({ id: 'env-1', name: 'dev' }).keys()].sort()).toEqual([
      'app_db',
      'warehouse',
    ]);
    expect([...registry.sourcesFor({ id: 'env-2', name: 'prod' }).keys()]).toEqual(['warehouse']);

    const Account = features('account', { id: int(), plan: string().nullable() });
    const plans = sqlResolver({
      source: 'app_db',
      resolves: Account,
      query: 'select user_id as id, plan from plans',
    });
    const { artifact, functions } = collectGraph({ Account, plans });
    const sources = registry.sourcesFor({ id: 'env-1', name: 'dev' });
    const engine = createEngine({
      graph: artifact,
      runtime: createSqlRuntime({
        resolvers: artifact.resolvers,
        sources,
        fallback: createInProcessRuntime(functions),
      }),
      environment: 'env-1',
      deploymentId: 'd',
    });
    const result = await engine.query({ inputs: { 'account.id': [3, 1, 7] }, outputs: ['account.plan'] });
    const plain = await sources
      .get('app_db')!
      .query({ text: 'select user_id, plan from plans where user_id in (3, 1)', params: [] });
    const byId = new Map(plain.rows.map((row) => [row.user_id, row.plan]));
    expect(result.columns[0]!.values).toEqual([byId.get(3), byId.get(1), null]);
    // A source whose secret is missing fails its own queries only.
    await expect(
      registry
        .sourcesFor({ id: 'env-1', name: 'dev' })
        .get('warehouse')!
        .query({ text: 'select 1', params: [] }),
    ).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
    await engine.close();
    await registry.close();
  });
});
