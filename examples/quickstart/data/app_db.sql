-- The sample app database `slate up` serves as the `app_db` data source (an embedded PGlite database,
-- created from this file at start; see slate.yaml). In production `app_db` is your PostgreSQL.
create table if not exists plans (
  user_id int primary key,
  plan text not null,
  seats int not null
);
insert into plans (user_id, plan, seats) values
  (1, 'team', 5),
  (2, 'enterprise', 250),
  (3, 'free', 1),
  (5, 'pro', 2)
on conflict (user_id) do nothing;
