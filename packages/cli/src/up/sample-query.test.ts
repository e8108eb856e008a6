import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectProject } from '../deploy/build-deployment.ts';
import { createTempFeatureRepo, repositoryRoot } from '../temp-feature-repo.ts';
import { chooseSampleQuery } from './sample-query.ts';

async function sampleOf(files: Readonly<Record<string, string>>) {
  const repo = await createTempFeatureRepo({ 'slate.yaml': 'project: t\nentry: src/index.ts\n', ...files });
  try {
    return chooseSampleQuery((await collectProject(repo.dir, { typeCheck: false })).artifact);
  } finally {
    await repo.remove();
  }
}

describe('chooseSampleQuery', () => {
  it("keeps the quickstart's own sample", async () => {
    const { artifact } = await collectProject(join(repositoryRoot, 'examples', 'quickstart'), {
      typeCheck: false,
    });
    expect(chooseSampleQuery(artifact)).toEqual({
      inputs: { 'user.id': 1 },
      outputs: [
        'user.name',
        'user.email_domain',
        'user.transaction_count',
        'user.total_spend',
        'user.risk_score',
      ],
      entity: 'user 1',
    });
  });

  it('picks, in examples/all-types, the class with the most features computed from its key', async () => {
    const { artifact } = await collectProject(join(repositoryRoot, 'examples', 'all-types'), {
      typeCheck: false,
    });
    // customer: get_customer and the SQL customer_segments take customer.id alone (store has 2, purchase 4);
    // the first five in resolver order are get_customer's first outputs (src/resolvers.ts).
    expect(chooseSampleQuery(artifact)).toEqual({
      inputs: { 'customer.id': 1 },
      outputs: [
        'customer.name',
        'customer.score',
        'customer.is_vip',
        'customer.signup_date',
        'customer.last_login',
      ],
      entity: 'customer 1',
    });
  });

  it("asks for '1' when the key is a string, and skips resolvers with other inputs", async () => {
    const sample = await sampleOf({
      'src/index.ts': [
        "import { features, online, string } from '@slate/sdk';",
        "export const Account = features('account', { id: string(), owner: string(), label: string() });",
        "export const owner = online({ inputs: { id: Account.id }, outputs: { owner: Account.owner }, fn: () => ({ owner: 'x' }) });",
        "export const label = online({ inputs: { owner: Account.owner }, outputs: { label: Account.label }, fn: () => ({ label: 'y' }) });",
        '',
      ].join('\n'),
    });
    expect(sample).toEqual({
      inputs: { 'account.id': '1' },
      outputs: ['account.owner'],
      entity: 'account 1',
    });
  });

  it('gives nothing when no online resolver takes a key alone', async () => {
    const sample = await sampleOf({
      'src/index.ts': [
        "import { features, int, offline, string } from '@slate/sdk';",
        "export const Item = features('item', { id: int(), title: string() });",
        "export const title = offline({ inputs: { id: Item.id }, outputs: { title: Item.title }, fn: () => ({ title: 't' }) });",
        '',
      ].join('\n'),
    });
    expect(sample).toBeUndefined();
  });
});
