import {
  bool,
  date,
  datetime,
  enumOf,
  features,
  float,
  hasMany,
  hasOne,
  int,
  list,
  string,
  struct,
  windowed,
} from '@slate/sdk';

export const Store = features('store', {
  id: int(),
  name: string(),
  city: string(),
});

export const Purchase = features('purchase', {
  id: int(),
  customer_id: int(),
  amount: float().describe('Amount in USD'),
  items: int(),
  placed_at: datetime().describe('When the purchase was placed'),
});

export const Customer = features(
  'customer',
  {
    id: int(),
    // Scalars, one of each primitive type.
    name: string(),
    score: float().describe('0 to 1'),
    is_vip: bool(),
    signup_date: date(),
    last_login: datetime(),
    tier: enumOf('bronze', 'silver', 'gold'),
    // Lists and a struct.
    tags: list(string()),
    lucky_numbers: list(int()),
    address: struct({ street: string(), city: string(), zip: string() }),
    // Nullable, and a default.
    nickname: string().nullable().describe('null when the customer has none'),
    loyalty_points: int()
      .default(0)
      .maxStaleness('infinity')
      .describe('Uploaded by the loyalty system (no resolver): 0 until a value is uploaded'),
    // A has-one and a has-many.
    home_store_id: int(),
    home_store: hasOne(() => Store, { on: { id: 'home_store_id' } }),
    purchases: hasMany(() => Purchase, { on: { customer_id: 'id' } }),
    purchase_count: int(),
    total_spent: float().describe('Sum of purchase amounts, to the cent'),
    // Windowed: one feature per window (`customer.recent_spend__604800__`, …), relative to the query's `now`.
    recent_purchases: windowed('1d', '7d', '30d', { type: int(), default: 0 }),
    recent_spend: windowed('1d', '7d', '30d', { type: float(), default: 0 }),
    // From the shop database by a SQL file resolver (src/sql/customer_segments.sql); null without a row.
    segment: string().nullable(),
    credit_limit: float().nullable(),
  },
  {
    owner: 'shop-team@example.com',
    expressions: (_) => ({
      recent_purchases: _.purchases.where((p) => p.placed_at.gt(_.chalk_window)).count(),
      recent_spend: _.purchases.where((p) => p.placed_at.gt(_.chalk_window)).sum((p) => p.amount),
    }),
  },
);
