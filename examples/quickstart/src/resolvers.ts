import { online } from '@slate/sdk';
import { Transaction, User } from './features.ts';
import { freeMailDomains, transactions, users } from './sample-data.ts';

export const get_user = online({
  inputs: { id: User.id },
  outputs: { name: User.name, email: User.email },
  fn: ({ id }) => {
    const user = users.find((u) => u.id === id);
    if (!user) throw new Error(`no user ${id}`);
    return { name: user.name, email: user.email };
  },
});

export const email_domain = online({
  inputs: { email: User.email },
  outputs: { domain: User.email_domain },
  fn: ({ email }) => ({ domain: email.slice(email.indexOf('@') + 1).toLowerCase() }),
});

export const user_transactions = online({
  inputs: { id: User.id },
  outputs: { transactions: User.transactions },
  fn: ({ id }) => ({
    transactions: transactions
      .filter((t) => t.user_id === id)
      .map((t) => ({ id: t.id, user_id: t.user_id, amount: t.amount, at: new Date(t.at) })),
  }),
});

export const get_transaction = online({
  inputs: { id: Transaction.id },
  outputs: { user_id: Transaction.user_id, amount: Transaction.amount, at: Transaction.at },
  fn: ({ id }) => {
    const found = transactions.find((t) => t.id === id);
    if (!found) throw new Error(`no transaction ${id}`);
    return { user_id: found.user_id, amount: found.amount, at: new Date(found.at) };
  },
});

export const transaction_stats = online({
  inputs: { transactions: User.transactions.select('amount') },
  outputs: { count: User.transaction_count, total: User.total_spend },
  fn: ({ transactions }) => ({
    count: transactions.length,
    total: Math.round(transactions.reduce((sum, t) => sum + t.amount, 0) * 100) / 100,
  }),
});

/** A transparent score: activity and spend raise it, a free-mail address adds a fixed 0.2. */
export const risk_score = online({
  inputs: { count: User.transaction_count, total: User.total_spend, domain: User.email_domain },
  outputs: { score: User.risk_score },
  fn: ({ count, total, domain }) => {
    const freeMail = (freeMailDomains as readonly string[]).includes(domain) ? 0.2 : 0;
    const score = Math.min(1, 0.05 * count + total / 5000 + freeMail);
    return { score: Math.round(score * 1000) / 1000 };
  },
});
