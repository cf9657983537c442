-- One row per source, release, reference period and field: the latest
-- published value (a later edition that republishes a period wins), in the
-- unit it was published in, with the unit split for normalisation.
create or replace view gold.fact_economic_release as
with ranked as (
    select n.*,
           count(*) over (partition by n.source_system_name, n.release_code, n.reference_period, n.release_field) as editions
    from silver.numeric_economic_data n
)
select distinct on (r.source_system_name, r.release_code, r.reference_period, r.release_field)
       r.source_system_name,
       r.publisher_code,
       r.release_code,
       d.release_key,
       r.release_time,
       r.reference_period,
       gold.period_start(r.reference_period)                     as period_start_date,
       r.release_field,
       r.release_field_value                                     as value,
       r.release_field_value_unit                                as unit,
       gold.unit_amount(r.release_field_value_unit)              as unit_amount,
       gold.unit_name(r.release_field_value_unit)                as unit_name,
       r.release_field_value::numeric * gold.unit_amount(r.release_field_value_unit) as value_in_base_unit,
       r.editions,
       r.ingestion_time,
       r.loaded_at
from ranked r
left join gold.dim_release d on d.release_code = r.release_code and d.release_time = r.release_time
order by r.source_system_name, r.release_code, r.reference_period, r.release_field, r.release_time desc;
