-- One row per release edition (release_code + scheduled release_time),
-- whichever source reported it, with its frequency and the period it is
-- about (the latest reference period published under that edition).
create or replace view gold.dim_release as
with editions as (
    select publisher_code, release_code, release_time, release_frequency, release_content
    from silver.economic_data_releases
    where release_time is not null
    union all
    select publisher_code, release_code, release_time, null, null
    from silver.numeric_economic_data
), one as (
    select distinct on (release_code, release_time)
           publisher_code, release_code, release_time
    from editions
    order by release_code, release_time, release_frequency nulls last
), meta as (
    -- Frequency and wording: the edition's own row, else the code's latest.
    select distinct on (release_code) release_code, release_frequency
    from silver.economic_data_releases
    order by release_code, release_time desc nulls last
), content as (
    select distinct on (release_code, release_time) release_code, release_time, release_content
    from silver.economic_data_releases
    where release_time is not null
    order by release_code, release_time, ingestion_time desc
), periods as (
    select release_code, release_time, max(reference_period) as reference_period
    from silver.numeric_economic_data
    group by release_code, release_time
)
select o.release_code || '@' || to_char(o.release_time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as release_key,
       o.publisher_code,
       o.release_code,
       m.release_frequency,
       o.release_time,
       (o.release_time at time zone 'UTC')::date as release_date,
       p.reference_period,
       gold.period_start(p.reference_period)     as period_start_date,
       c.release_content
from one o
left join meta m     on m.release_code = o.release_code
left join content c  on c.release_code = o.release_code and c.release_time = o.release_time
left join periods p  on p.release_code = o.release_code and p.release_time = o.release_time;
