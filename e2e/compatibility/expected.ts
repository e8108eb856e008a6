/**
 * What the compatibility suite expects `examples/all-types` to answer, derived from its sample rows by
 * plain loops here (not by the example's resolvers or Slate's engine). All windowed values are relative to
 * `NOW`, the `now` every query of the suite sends.
 */
import { customers, purchases, stores } from '../../examples/all-types/src/sample-data.ts';

export const NOW = '2026-02-01T00:00:00.000Z';
/** The windows of `customer.recent_purchases` / `recent_spend`, in seconds, as declared. */
export const WINDOWS = [86_400, 604_800, 2_592_000] as const;
export const CUSTOMER_IDS = customers.map((c) => c.id);
/** The rows of the SQL resolver's table (`data/shop_db.sql`), written out again here. */
const segments: Record<number, { segment: string; credit_limit: number }> = {
  1: { segment: 'retail', credit_limit: 500 },
  2: { segment: 'wholesale', credit_limit: 25000 },
  3: { segment: 'retail', credit_limit: 1200 },
};
export const PURCHASE_COLUMNS = ['id', 'customer_id', 'amount', 'items', 'placed_at'] as const;

/** Every scalar output the suite asks for, with its expected JSON value for one customer. */
export function expectedScalars(id: number): Record<string, unknown> {
  const c = customers.find((row) => row.id === id)!;
  const own = purchases.filter((p) => p.customer_id === id);
  let total = 0;
  for (const p of own) total += p.amount;
  const out: Record<string, unknown> = {
    'customer.name': c.name,
    'customer.score': c.score,
    'customer.is_vip': c.is_vip,
    'customer.signup_date': c.signup_date,
    'customer.last_login': c.last_login,
    'customer.tier': c.tier,
    'customer.tags': [...c.tags],
    'customer.lucky_numbers': [...c.lucky_numbers],
    'customer.nickname': c.nickname,
    'customer.home_store_id': c.home_store_id,
    'customer.home_store.name': stores.find((s) => s.id === c.home_store_id)!.name,
    'customer.purchase_count': own.length,
    'customer.total_spent': Math.round(total * 100) / 100,
    'customer.segment': segments[id]?.segment ?? null,
    'customer.credit_limit': segments[id]?.credit_limit ?? null,
  };
  for (const seconds of WINDOWS) {
    const since = Date.parse(NOW) - seconds * 1000;
    const inWindow = own.filter((p) => Date.parse(p.placed_at) > since);
    out[`customer.recent_purchases__${seconds}__`] = inWindow.length;
    let spent = 0;
    for (const p of inWindow) spent += p.amount;
    out[`customer.recent_spend__${seconds}__`] = Math.round(spent * 100) / 100;
  }
  return out;
}

/** The struct outputs: positional lists by default (declaration order), objects with `encode_structs_as_objects`. */
export function expectedStructs(id: number, asObjects: boolean): Record<string, unknown> {
  const c = customers.find((row) => row.id === id)!;
  const store = stores.find((s) => s.id === c.home_store_id)!;
  return asObjects
    ? {
        'customer.address': { street: c.address.street, city: c.address.city, zip: c.address.zip },
        'customer.home_store': { id: store.id, name: store.name, city: store.city },
      }
    : {
        'customer.address': [c.address.street, c.address.city, c.address.zip],
        'customer.home_store': [store.id, store.name, store.city],
      };
}

/** The has-many as the seed product's JSON carries it: column names and column-major values. */
export function expectedPurchases(id: number): { columns: string[]; values: unknown[][] } {
  const own = purchases.filter((p) => p.customer_id === id);
  return {
    columns: PURCHASE_COLUMNS.map((name) => `purchase.${name}`),
    values: PURCHASE_COLUMNS.map((name) => own.map((p) => p[name])),
  };
}

/**
 * The outputs of the suite's full online query, asked at `NOW`. `customer.loyalty_points` (uploaded, default
 * 0) is asked separately without `now`: a value uploaded today is observed after `NOW`, so a query as of
 * `NOW` does not see it.
 */
export const SCALAR_OUTPUTS = [
  'customer.name',
  'customer.score',
  'customer.is_vip',
  'customer.signup_date',
  'customer.last_login',
  'customer.tier',
  'customer.tags',
  'customer.lucky_numbers',
  'customer.nickname',
  'customer.home_store_id',
  'customer.home_store.name',
  'customer.purchase_count',
  'customer.total_spent',
  'customer.recent_purchases',
  'customer.recent_spend',
  'customer.segment',
  'customer.credit_limit',
];
export const STRUCT_OUTPUTS = ['customer.address', 'customer.home_store'];
