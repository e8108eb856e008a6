-- The sample shop database behind the `shop_db` data source (embedded PGlite under `slate up`, created
-- from this file at start; see slate.yaml). In production `shop_db` is your PostgreSQL.
create table if not exists segments (
  customer_id int primary key,
  segment text not null,
  credit_limit double precision not null
);
insert into segments (customer_id, segment, credit_limit) values
  (1, 'retail', 500),
  (2, 'wholesale', 25000),
  (3, 'retail', 1200)
on conflict (customer_id) do nothing;
