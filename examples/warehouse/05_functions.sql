-- Small helpers the gold views share. Immutable, so the planner may inline them.

-- First day of a reference period as the publisher writes it:
-- '2026-04-24' (a day or week ending), '2026-04' (a month), '2026' (a year).
create or replace function gold.period_start(p text) returns date
language sql immutable as $$
    select case
        when p ~ '^\d{4}-\d{2}-\d{2}$' then p::date
        when p ~ '^\d{4}-\d{2}$' then (p || '-01')::date
        when p ~ '^\d{4}$' then (p || '-01-01')::date
    end
$$;

-- The amount of a unit written `<amount>_<unit>`: 1000 for '1000_barrels'.
create or replace function gold.unit_amount(u text) returns numeric
language sql immutable as $$
    select case when split_part(u, '_', 1) ~ '^[0-9]+(\.[0-9]+)?$'
                then split_part(u, '_', 1)::numeric end
$$;

-- The unit without its amount: 'barrels' for '1000_barrels',
-- 'USD_per_barrel' for '1_USD_per_barrel'.
create or replace function gold.unit_name(u text) returns text
language sql immutable as $$
    select case when gold.unit_amount(u) is not null
                then substr(u, strpos(u, '_') + 1) end
$$;

-- The step of the last published digit, in base units: a value published
-- as 457.182 in '1000000_barrels' moves in steps of 1000 barrels. Two
-- sources agree when they differ by less than half the coarser step.
-- Values are stored as floats, which keep no trailing zeros: 222.310 shows
-- as 222.31, so its step (and the tolerance) comes out ten times coarser.
create or replace function gold.published_step(v double precision, amount numeric) returns numeric
language sql immutable as $$
    select amount * power(10::numeric, -scale(v::numeric))
$$;
