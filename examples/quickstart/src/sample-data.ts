/**
 * Deterministic sample data the example's resolvers serve, standing in for a database. The README lists
 * what queries return for it.
 */
export const users = [
  { id: 1, name: 'Ada Lovelace', email: 'ada@analytical.io' },
  { id: 2, name: 'Grace Hopper', email: 'grace@navy.mil' },
  { id: 3, name: 'Alan Turing', email: 'alan@gmail.com' },
  { id: 4, name: 'Edsger Dijkstra', email: 'edsger@tue.nl' },
  { id: 5, name: 'Barbara Liskov', email: 'barbara@yahoo.com' },
] as const;

export const transactions = [
  { id: 101, user_id: 1, amount: 12.5, at: '2026-01-03T09:15:00Z' },
  { id: 102, user_id: 1, amount: 80, at: '2026-01-04T18:40:00Z' },
  { id: 103, user_id: 1, amount: 7.25, at: '2026-01-09T12:00:00Z' },
  { id: 201, user_id: 2, amount: 250, at: '2026-01-02T08:00:00Z' },
  { id: 301, user_id: 3, amount: 999.99, at: '2026-01-05T23:59:00Z' },
  { id: 302, user_id: 3, amount: 450, at: '2026-01-06T00:10:00Z' },
  { id: 303, user_id: 3, amount: 320.5, at: '2026-01-06T00:20:00Z' },
  { id: 304, user_id: 3, amount: 610, at: '2026-01-06T00:31:00Z' },
  { id: 501, user_id: 5, amount: 45, at: '2026-01-07T14:30:00Z' },
  { id: 502, user_id: 5, amount: 5, at: '2026-01-08T10:05:00Z' },
] as const;

/** Email providers anyone can sign up to; accounts there carry more risk. */
export const freeMailDomains = ['gmail.com', 'yahoo.com', 'hotmail.com', 'outlook.com'] as const;
