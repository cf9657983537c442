-- Every document exactly as a batch source received it, content-addressed:
-- the same bytes seen again (a replay, an unchanged poll) add nothing.
create table if not exists {bronze}.raw_object (
    source_system_name   text        not null,
    object_name          text        not null,
    extension            text        not null,
    sha256               text        not null,
    received_time        timestamptz not null,
    content              bytea       not null,
    size                 bigint      not null,
    source_table_name    text        not null,
    platform_worker_name text        not null,
    loaded_at            timestamptz not null default now(),
    constraint raw_object_sha256_key unique (sha256)
);
comment on table {bronze}.raw_object is
    'Documents as received (qdp raw_object batches); one row per distinct content (sha256).';
