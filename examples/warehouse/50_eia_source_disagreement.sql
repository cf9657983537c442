-- Where the EIA API v2 and the WPSR CSV both publish a series for the same
-- period and disagree: different kinds of unit, or values that differ, in
-- base units, by more than half the coarser published step (so 457.182
-- million barrels and 457182 thousand barrels agree, 457.182 and 457190 do not).
create or replace view gold.eia_source_disagreement as
select a.release_field,
       a.reference_period,
       a.value                 as api_value,
       a.unit                  as api_unit,
       c.value                 as csv_value,
       c.unit                  as csv_unit,
       a.unit_name             as base_unit,
       (a.value_in_base_unit - c.value_in_base_unit)::double precision as difference_in_base_unit,
       (0.5 * greatest(gold.published_step(a.value, a.unit_amount),
                       gold.published_step(c.value, c.unit_amount)))::double precision as tolerance_in_base_unit,
       case when a.unit_name is distinct from c.unit_name then 'unit' else 'value' end as kind,
       a.release_time          as api_release_time,
       c.release_time          as csv_release_time
from gold.fact_economic_release a
join gold.fact_economic_release c
  on c.release_field = a.release_field
 and c.reference_period = a.reference_period
 and c.source_system_name = 'eia_wpsr_csv'
where a.source_system_name = 'eia_api_v2'
  and (a.unit_name is distinct from c.unit_name
       or abs(a.value_in_base_unit - c.value_in_base_unit)
          > 0.5 * greatest(gold.published_step(a.value, a.unit_amount),
                           gold.published_step(c.value, c.unit_amount)));
