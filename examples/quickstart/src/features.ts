import { datetime, features, float, hasMany, int, string, windowed } from '@slate/sdk';

export const Transaction = features('transaction', {
  id: int(),
  user_id: int(),
  amount: float().describe('Amount in USD'),
  at: datetime().describe('When the payment was made'),
});

export const User = features(
  'user',
  {
    id: int(),
    name: string(),
    email: string(),
    email_domain: string().describe('The part of the email after @'),
    transactions: hasMany(() => Transaction, { on: { user_id: 'id' } }),
    transaction_count: int(),
    total_spend: float().describe('Sum of all transaction amounts, USD'),
    risk_score: float().describe('0 (safe) to 1 (risky)'),
    plan: string().nullable().describe('Subscription plan, from the app database (src/sql/user_plans.sql)'),
    seats: int().nullable().describe('Seats on the plan'),
    last_page: string()
      .nullable()
      .maxStaleness('1d')
      .etlOfflineToOnline()
      .describe('The last page the user viewed, from the page-views stream'),
    num_page_views: windowed('10m', '1h', {
      type: int(),
      default: 0,
      maxStaleness: '1d',
      etlOfflineToOnline: true,
      description: 'Page views in the last 10 minutes and hour, counted by the page-views stream',
    }),
  },
  { owner: 'fraud-team@example.com', tags: ['team:fraud'] },
);
