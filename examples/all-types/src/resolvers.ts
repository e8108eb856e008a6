import { online } from '@slate/sdk';
import { Customer, Purchase, Store } from './features.ts';
import { customers, purchases, stores } from './sample-data.ts';

export const get_customer = online({
  inputs: { id: Customer.id },
  outputs: {
    name: Customer.name,
    score: Customer.score,
    is_vip: Customer.is_vip,
    signup_date: Customer.signup_date,
    last_login: Customer.last_login,
    tier: Customer.tier,
    tags: Customer.tags,
    lucky_numbers: Customer.lucky_numbers,
    address: Customer.address,
    nickname: Customer.nickname,
    home_store_id: Customer.home_store_id,
  },
  fn: ({ id }) => {
    const found = customers.find((c) => c.id === id);
    if (!found) throw new Error(`no customer ${id}`);
    return {
      name: found.name,
      score: found.score,
      is_vip: found.is_vip,
      signup_date: found.signup_date,
      last_login: new Date(found.last_login),
      tier: found.tier,
      tags: found.tags.slice(),
      lucky_numbers: found.lucky_numbers.slice(),
      address: { ...found.address },
      nickname: found.nickname,
      home_store_id: found.home_store_id,
    };
  },
});

export const get_store = online({
  inputs: { id: Store.id },
  outputs: { name: Store.name, city: Store.city },
  fn: ({ id }) => {
    const found = stores.find((s) => s.id === id);
    if (!found) throw new Error(`no store ${id}`);
    return { name: found.name, city: found.city };
  },
});

export const customer_purchases = online({
  inputs: { id: Customer.id },
  outputs: { purchases: Customer.purchases },
  fn: ({ id }) => ({
    purchases: purchases
      .filter((p) => p.customer_id === id)
      .map((p) => ({ ...p, placed_at: new Date(p.placed_at) })),
  }),
});

export const get_purchase = online({
  inputs: { id: Purchase.id },
  outputs: {
    customer_id: Purchase.customer_id,
    amount: Purchase.amount,
    items: Purchase.items,
    placed_at: Purchase.placed_at,
  },
  fn: ({ id }) => {
    const found = purchases.find((p) => p.id === id);
    if (!found) throw new Error(`no purchase ${id}`);
    return { ...found, placed_at: new Date(found.placed_at) };
  },
});

export const purchase_stats = online({
  inputs: { purchases: Customer.purchases.select('amount') },
  outputs: { count: Customer.purchase_count, total: Customer.total_spent },
  fn: ({ purchases }) => ({
    count: purchases.length,
    total: Math.round(purchases.reduce((sum, p) => sum + p.amount, 0) * 100) / 100,
  }),
});
