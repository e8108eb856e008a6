import { describe, expectTypeOf, it } from 'vitest';
import { datetime, features, float, hasMany, int, online, type RowOf, string } from './index.ts';

const Item = features('item', { id: int(), order_id: int(), price: float(), at: datetime() });
const Order = features('order', {
  id: string(),
  note: string().nullable(),
  items: hasMany(() => Item, { on: { order_id: 'id' } }),
  total: float(),
});

describe('types flow from features to resolvers', () => {
  it('gives each reference its fully qualified name and value type', () => {
    expectTypeOf(Order.note.fqn).toEqualTypeOf<'order.note'>();
    expectTypeOf(Order.note.__value).toEqualTypeOf<string | null>();
    expectTypeOf<RowOf<typeof Item>>().toEqualTypeOf<{
      id: number;
      order_id: number;
      price: number;
      at: Date;
    }>();
  });

  it('types inputs and outputs of a resolver', () => {
    online({
      inputs: { items: Order.items.select('price'), note: Order.note },
      outputs: { total: Order.total },
      fn: (inputs) => {
        expectTypeOf(inputs.items).toEqualTypeOf<{ price: number }[]>();
        expectTypeOf(inputs.note).toEqualTypeOf<string | null>();
        return { total: inputs.items.reduce((sum, item) => sum + item.price, 0) };
      },
    });
  });

  it('rejects a resolver returning the wrong type', () => {
    online({
      inputs: { id: Order.id },
      outputs: { total: Order.total },
      // @ts-expect-error total must be a number
      fn: () => ({ total: 'ten' }),
    });
  });

  it('rejects a resolver that omits an output', () => {
    online({
      inputs: { id: Order.id },
      outputs: { total: Order.total, note: Order.note },
      // @ts-expect-error note is missing
      fn: () => ({ total: 1 }),
    });
  });

  it('rejects a feature that does not exist', () => {
    online({
      // @ts-expect-error order has no feature 'missing'
      inputs: { id: Order.missing },
      outputs: { total: Order.total },
      fn: () => ({ total: 1 }),
    });
  });

  it('rejects a join on a field the target does not have', () => {
    features('shop', {
      id: int(),
      // @ts-expect-error item has no field 'shop_id'
      items: hasMany(() => Item, { on: { shop_id: 'id' } }),
    });
  });
});
