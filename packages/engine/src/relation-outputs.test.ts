import {
  collectGraph,
  datetime,
  features,
  float,
  hasMany,
  hasOne,
  int,
  online,
  string,
  windowed,
} from '@slate/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine } from './engine.ts';
import { createInProcessRuntime } from './runtime/in-process/in-process-runtime.ts';

const Shop = features('shop', { id: int(), city: string() });
const Sale = features('sale', { id: int(), seller_id: int(), amount: float(), at: datetime() });
const Seller = features(
  'seller',
  {
    id: int(),
    shop_id: int(),
    shop: hasOne(() => Shop, { on: { id: 'shop_id' } }),
    sales: hasMany(() => Sale, { on: { seller_id: 'id' } }),
    recent_sales: windowed('1d', '7d', { type: int(), default: 0 }),
  },
  {
    expressions: (_) => ({ recent_sales: _.sales.where((s) => s.at.gt(_.chalk_window)).count() }),
  },
);
const NOW = Date.parse('2026-02-01T00:00:00Z');
const HOUR = 3_600_000;
// Seller 1 sold 2 h, 30 h and 10 days before NOW: 1 sale in the last day, 2 in the last week.
const saleTimes = [NOW - 2 * HOUR, NOW - 30 * HOUR, NOW - 240 * HOUR];
const get_seller = online({
  inputs: { id: Seller.id },
  outputs: { shop_id: Seller.shop_id },
  fn: ({ id }) => ({ shop_id: id * 10 }),
});
const get_shop = online({
  inputs: { id: Shop.id },
  outputs: { city: Shop.city },
  fn: ({ id }) => ({ city: `city-${id}` }),
});
const seller_sales = online({
  inputs: { id: Seller.id },
  outputs: { sales: Seller.sales },
  fn: ({ id }) => ({
    sales: saleTimes.map((at, i) => ({ id: id * 100 + i, seller_id: id, amount: 1, at: new Date(at) })),
  }),
});

const { artifact, functions } = collectGraph({ Shop, Sale, Seller, get_seller, get_shop, seller_sales });
const engine = createEngine({
  graph: artifact,
  runtime: createInProcessRuntime(functions),
  environment: 'e',
  deploymentId: 'd',
});
afterAll(() => engine.close());

const answer = async (outputs: string[]) => {
  const result = await engine.query({ inputs: { 'seller.id': [1] }, outputs, now: new Date(NOW) });
  expect(result.errors).toEqual([]);
  return result.columns.map((column) => [column.fqn, column.values[0]]);
};

describe('relation outputs beside other outputs', () => {
  it('keeps every window of a windowed bare name when a has-one is asked for as a whole', async () => {
    // Found by the compatibility suite: the rewrite for `seller.shop` dropped the bare name's windows.
    expect(await answer(['seller.recent_sales', 'seller.shop'])).toEqual([
      ['seller.recent_sales__86400__', 1],
      ['seller.recent_sales__604800__', 2],
      ['seller.shop', { id: 10, city: 'city-10' }],
    ]);
  });

  it('keeps them beside a has-many sub-feature too', async () => {
    expect(await answer(['seller.sales.amount', 'seller.recent_sales'])).toEqual([
      ['seller.sales.amount', [{ amount: 1 }, { amount: 1 }, { amount: 1 }]],
      ['seller.recent_sales__86400__', 1],
      ['seller.recent_sales__604800__', 2],
    ]);
  });

  it('answers the windows alone as without a rewrite', async () => {
    expect(await answer(['seller.recent_sales'])).toEqual([
      ['seller.recent_sales__86400__', 1],
      ['seller.recent_sales__604800__', 2],
    ]);
  });
});
