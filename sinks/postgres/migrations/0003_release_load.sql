-- When each release edition was first seen in the warehouse, next to when it
-- was due (release_time, from the release calendar): the publication-to-
-- warehouse delay analysts and operators watch. Filled by the sink from
-- numeric_economic_data rows; the first sighting wins.
create table if not exists {ops}.release_sla (
    source_system_name text        not null,
    release_code       text        not null,
    release_time       timestamptz not null,
    reference_period   text,
    first_ingested_at  timestamptz not null,
    first_loaded_at    timestamptz not null default now(),
    rows_first_load    bigint      not null,
    primary key (source_system_name, release_code, release_time)
);
