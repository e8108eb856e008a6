/**
 * Deterministic sample data the example's resolvers serve, standing in for a database. The README lists
 * what queries return for it; the compatibility suite (e2e/compatibility/) derives its expected values
 * from these rows by its own code.
 */
/** One customer row, as the shop's database would hold it. */
export interface CustomerRow {
  readonly id: number;
  readonly name: string;
  readonly score: number;
  readonly is_vip: boolean;
  readonly signup_date: string;
  readonly last_login: string;
  readonly tier: 'bronze' | 'silver' | 'gold';
  readonly tags: readonly string[];
  readonly lucky_numbers: readonly number[];
  readonly address: { readonly street: string; readonly city: string; readonly zip: string };
  readonly nickname: string | null;
  readonly home_store_id: number;
}

export const customers: readonly CustomerRow[] = [
  {
    id: 1,
    name: 'Ada Lovelace',
    score: 0.25,
    is_vip: true,
    signup_date: '2024-03-15',
    last_login: '2026-01-30T08:15:00.000Z',
    tier: 'gold',
    tags: ['early-adopter', 'newsletter'],
    lucky_numbers: [3, 7, 11],
    address: { street: '12 Analytical Row', city: 'London', zip: 'NW1 6XE' },
    nickname: 'Countess',
    home_store_id: 10,
  },
  {
    id: 2,
    name: 'Grace Hopper',
    score: 0.5,
    is_vip: false,
    signup_date: '2025-07-01',
    last_login: '2026-01-12T17:45:30.000Z',
    tier: 'silver',
    tags: ['wholesale'],
    lucky_numbers: [],
    address: { street: '1 Navy Yard', city: 'Arlington', zip: '22202' },
    nickname: null,
    home_store_id: 20,
  },
  {
    id: 3,
    name: 'Alan Turing',
    score: 0.875,
    is_vip: false,
    signup_date: '2025-12-24',
    last_login: '2026-01-31T23:59:59.000Z',
    tier: 'bronze',
    tags: [],
    lucky_numbers: [42],
    address: { street: '78 High Street', city: 'Wilmslow', zip: 'SK9 1AA' },
    nickname: 'Prof',
    home_store_id: 10,
  },
  {
    id: 4,
    name: 'Edsger Dijkstra',
    score: 0,
    is_vip: false,
    signup_date: '2026-01-31',
    last_login: '2026-01-31T12:00:00.000Z',
    tier: 'bronze',
    tags: ['new'],
    lucky_numbers: [1, 2],
    address: { street: 'Den Dolech 2', city: 'Eindhoven', zip: '5612 AZ' },
    nickname: null,
    home_store_id: 30,
  },
];

export const stores = [
  { id: 10, name: 'Camden', city: 'London' },
  { id: 20, name: 'Pentagon City', city: 'Arlington' },
  { id: 30, name: 'Strijp', city: 'Eindhoven' },
] as const;

/** Purchases; the windowed features count them back from the query's `now` (the suite uses 2026-02-01). */
export const purchases = [
  { id: 1001, customer_id: 1, amount: 19.99, items: 1, placed_at: '2026-01-29T10:00:00.000Z' },
  { id: 1002, customer_id: 1, amount: 250, items: 3, placed_at: '2026-01-10T14:30:00.000Z' },
  { id: 1003, customer_id: 1, amount: 5.5, items: 2, placed_at: '2025-11-02T09:00:00.000Z' },
  { id: 2001, customer_id: 2, amount: 1200.75, items: 40, placed_at: '2026-01-20T08:00:00.000Z' },
  { id: 3001, customer_id: 3, amount: 42, items: 1, placed_at: '2026-01-31T18:00:00.000Z' },
  { id: 3002, customer_id: 3, amount: 8.25, items: 1, placed_at: '2026-01-31T19:00:00.000Z' },
] as const;
