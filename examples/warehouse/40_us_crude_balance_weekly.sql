-- The U.S. crude balance per EIA week (ending Friday), one named column per
-- series, in thousand barrels (stocks), thousand barrels per day (flows) or
-- percent. Per week and series the WPSR CSV wins (it carries the latest
-- weeks first), else the API v2. Units are normalised with the unit column
-- (the CSV publishes stocks in million barrels, the API in thousand);
-- a row whose unit is not the series' kind of unit is left out, never guessed.
create or replace view gold.us_crude_balance_weekly as
with wanted(release_field, col, target_amount, target_unit) as (
    values ('WCESTUS1',              'commercial_crude', 1000::numeric, 'barrels'),
           ('W_EPC0_SAX_YCUOK_MBBL', 'cushing',          1000,          'barrels'),
           ('WGTSTUS1',              'gasoline',         1000,          'barrels'),
           ('WDISTUS1',              'distillate',       1000,          'barrels'),
           ('WPULEUS3',              'utilisation',      1,             'percent'),
           ('WCRFPUS2',              'production',       1000,          'barrels_per_day'),
           ('WCRNTUS2',              'net_imports',      1000,          'barrels_per_day')
), picked as (
    select distinct on (f.period_start_date, f.release_field)
           f.period_start_date as week_ending,
           w.col,
           f.source_system_name,
           (f.value_in_base_unit / w.target_amount)::double precision as v
    from gold.fact_economic_release f
    join wanted w on w.release_field = f.release_field
    where f.reference_period ~ '^\d{4}-\d{2}-\d{2}$'
      and f.unit_name = w.target_unit
    order by f.period_start_date, f.release_field,
             case f.source_system_name when 'eia_wpsr_csv' then 1 when 'eia_api_v2' then 2 else 3 end,
             f.release_time desc
), weeks as (
    select week_ending,
           max(v) filter (where col = 'commercial_crude') as commercial_crude_stocks_kbbl,
           max(v) filter (where col = 'cushing')          as cushing_crude_stocks_kbbl,
           max(v) filter (where col = 'gasoline')         as gasoline_stocks_kbbl,
           max(v) filter (where col = 'distillate')       as distillate_stocks_kbbl,
           max(v) filter (where col = 'utilisation')      as refinery_utilisation_pct,
           max(v) filter (where col = 'production')       as crude_production_kbd,
           max(v) filter (where col = 'net_imports')      as crude_net_imports_kbd,
           string_agg(col || '=' || source_system_name, ', ' order by col) as sources
    from picked
    group by week_ending
)
select week_ending,
       commercial_crude_stocks_kbbl,
       -- Only against the week just before: a gap gives NULL, not a 2-week change.
       case when lag(week_ending) over w = week_ending - 7
            then commercial_crude_stocks_kbbl - lag(commercial_crude_stocks_kbbl) over w
       end as commercial_crude_stocks_change_kbbl,
       cushing_crude_stocks_kbbl,
       gasoline_stocks_kbbl,
       distillate_stocks_kbbl,
       refinery_utilisation_pct,
       crude_production_kbd,
       crude_net_imports_kbd,
       sources
from weeks
window w as (order by week_ending);
