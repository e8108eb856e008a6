-- The customer's segment and credit limit, from the shop database.
-- source: shop_db
-- resolves: customer
select customer_id as id, segment, credit_limit from segments
