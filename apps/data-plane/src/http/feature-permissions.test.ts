import { describe, expect, it } from 'vitest';
import * as accounts from './fixtures/account-module.ts';
import { createTestPlane } from './fixtures/test-plane.ts';

async function ask(rules: unknown, outputs: string[]) {
  const plane = await createTestPlane({ module: accounts });
  const token = await plane.token({ feature_permissions: rules });
  const response = await plane.app.inject({
    method: 'POST',
    url: '/v1/query/online',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ inputs: { 'account.id': 7, 'account.card_number': '4111' }, outputs }),
  });
  const body = response.json();
  return {
    values: Object.fromEntries(body.data.map((d: { field: string; value: unknown }) => [d.field, d.value])),
    errors: body.errors as { code: string; feature: string; message: string }[],
  };
}

describe('service-token feature rules', () => {
  it('refuses outputs carrying a denied tag and answers the rest', async () => {
    const { values, errors } = await ask({ default: 'ALLOW', tags: { sensitive: 'DENY' } }, [
      'account.card_number',
      'account.card_brand',
    ]);
    // card_brand is computed from the sensitive card number: rules guard outputs, not intermediates.
    expect(values).toEqual({ 'account.card_brand': 'visa' });
    expect(errors).toEqual([
      {
        code: 'UNAUTHORIZED',
        category: 'NETWORK',
        feature: 'account.card_number',
        message: "Feature 'account.card_number' is not authorized for this environment for tag sensitive",
      },
    ]);
  });

  it('denies by default and allows by tag', async () => {
    const { values, errors } = await ask({ default: 'DENY', tags: { sensitive: 'ALLOW' } }, [
      'account.card_number',
      'account.nickname',
    ]);
    expect(values).toEqual({ 'account.card_number': '4111' });
    expect(errors.map((e) => [e.code, e.feature])).toEqual([['UNAUTHORIZED', 'account.nickname']]);
  });

  it('changes nothing for a token without rules', async () => {
    const { values, errors } = await ask(undefined, ['account.card_number', 'account.nickname']);
    expect(errors).toEqual([]);
    expect(values).toEqual({ 'account.card_number': '4111', 'account.nickname': 'account-7' });
  });
});
