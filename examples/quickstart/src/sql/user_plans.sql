-- The user's subscription plan and seat count, from the app database.
-- source: app_db
-- resolves: user
select user_id as id, plan, seats from plans
