-- When each release edition first landed in silver, next to when it was due
-- (release_time, from the release calendar), seen from the warehouse side.
-- Filled by the sink from numeric_economic_data rows; the first load wins.
-- The runtime's own SLA record (expected, first seen at the source, loaded,
-- status, polls) is ops.release_sla, written by the scheduler.
create table if not exists {ops}.release_load (
    source_system_name text        not null,
    release_code       text        not null,
    release_time       timestamptz not null,
    reference_period   text,
    first_ingested_at  timestamptz not null,
    first_loaded_at    timestamptz not null default now(),
    rows_first_load    bigint      not null,
    primary key (source_system_name, release_code, release_time)
);
