import { dataFrame, offline, scheduledQuery, stream, windowedStream } from '@slate/sdk';
import { User } from './features.ts';
import { users } from './sample-data.ts';

/**
 * A streaming resolver: every message on the `page-views` topic (`{"user_id": 1, "page": "/pricing"}`) sets
 * `user.last_page`. Messages without a user are skipped; a message that is not JSON goes to the
 * `page-views.dead-letter` topic. Feed it with `scripts/produce-page-views.mjs`.
 */
export const page_views = stream({
  source: { topic: 'page-views' },
  outputs: { user_id: User.id, page: User.last_page },
  lateArrivalDeadline: '1d',
  parse: ({ value }) => {
    const view = JSON.parse(value) as { user_id?: number; page?: string };
    if (typeof view.user_id !== 'number' || typeof view.page !== 'string') return undefined;
    return { user_id: view.user_id, page: view.page };
  },
});

/**
 * A windowed streaming resolver on the same topic: counts each user's page views over the windows of
 * `user.num_page_views` (`user.num_page_views__600__` for 10 minutes, `__3600__` for the hour), by when each
 * message was published. The counts shrink on their own as views fall out of a window.
 */
export const page_view_counts = windowedStream({
  source: { topic: 'page-views' },
  parse: ({ value }) => {
    const view = JSON.parse(value) as { user_id?: number };
    return typeof view.user_id === 'number' ? { user_id: view.user_id } : undefined;
  },
  key: (view) => view.user_id,
  lateArrivalDeadline: '1d',
  aggregate: (agg) => [agg.count(User.num_page_views)],
});

/**
 * A scheduled resolver: every hour (UTC) it snapshots every user's name and email into the offline store.
 * Trigger it now with `POST /v1/runs/trigger {"resolver_fqn": "user_directory"}`.
 */
export const user_directory = offline({
  inputs: {},
  outputs: { users: dataFrame(User, 'id', 'name', 'email') },
  total: true,
  cron: '1h',
  fn: () => ({ users: users.map((u) => ({ id: u.id, name: u.name, email: u.email })) }),
});

/**
 * A scheduled query: every day at 03:00 UTC the metadata plane fires it and the data plane recomputes
 * `user.risk_score` for every user the offline store knows (incrementally: only users with new values since
 * the previous run), at 03:00, and stores the scores online and offline.
 */
export const daily_risk = scheduledQuery({
  name: 'daily_risk',
  schedule: '0 3 * * *',
  output: [User.risk_score],
  recomputeFeatures: true,
  storeOnline: true,
  storeOffline: true,
});
