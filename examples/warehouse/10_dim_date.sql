-- Calendar days from the earliest to the latest day the warehouse's
-- economic data mention (reference periods and release days, UTC).
create or replace view gold.dim_date as
with days as (
    select gold.period_start(reference_period) as d from silver.numeric_economic_data
    union all
    select (release_time at time zone 'UTC')::date from silver.numeric_economic_data
    union all
    select (release_time at time zone 'UTC')::date from silver.economic_data_releases
    where release_time is not null
), bounds as (
    select min(d) as lo, max(d) as hi from days
)
select g::date                                   as date_key,
       extract(year from g)::int                 as year,
       extract(quarter from g)::int              as quarter,
       extract(month from g)::int                as month,
       extract(day from g)::int                  as day_of_month,
       extract(isoyear from g)::int              as iso_year,
       extract(week from g)::int                 as iso_week,
       extract(isodow from g)::int               as iso_day_of_week,
       extract(isodow from g)::int in (6, 7)     as is_weekend,
       -- The Friday ending the EIA week the day belongs to (Saturday..Friday).
       (g::date + ((5 - extract(isodow from g)::int + 7) % 7))::date as week_ending_friday
from bounds, generate_series(bounds.lo::timestamp, bounds.hi::timestamp, interval '1 day') as g;
