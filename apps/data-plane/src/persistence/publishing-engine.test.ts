import { describe, expect, it } from 'vitest';
import { createTestPlane } from '../http/fixtures/test-plane.ts';
import { engineQuery } from '../http/online-query.ts';
import { resultMessage } from './publishing-engine.ts';

describe('the query log entry of an online query', () => {
  it('carries query_name (a label even when no named query matches) and correlation_id', async () => {
    const plane = await createTestPlane();
    const engine = plane.engineFor('cdep1');
    const environment = {
      id: 'dev',
      name: 'Development',
      teamId: 'acme',
      projectId: 'fraud',
      deployment: null,
    };
    const query = engineQuery(
      { outputs: ['user.name'], query_name: 'checkout_page', correlation_id: 'corr-7' },
      { environment, deploymentId: 'cdep1', engine },
      { 'user.id': [1] },
      new Date(),
    );
    const result = await engine.query(query);
    const message = resultMessage(engine, query, result, { environment: 'dev' }, new Date(), new Date());
    expect(message.queryLog).toMatchObject({ query_name: 'checkout_page', correlation_id: 'corr-7' });
    await engine.close();
  });
});
