-- Data-quality records of the loads: one row per category of every write
-- of the sink (a load), published or failed. A failed load is recorded
-- once per distinct set of batches (load_key); its retries add to attempts.
create table if not exists {ops}.load_quality (
    id               bigint generated always as identity primary key,
    load_key         text        not null,
    pipeline         text        not null,
    component        text        not null,
    category         text        not null,
    origins          text[]      not null,
    rows_in          bigint      not null,
    rows_qualified   bigint      not null,
    rows_unqualified bigint      not null,
    rows_out         bigint      not null,
    rows_unchanged   bigint      not null,
    null_counts      jsonb       not null,
    thresholds       jsonb       not null,
    status           text        not null check (status in ('published', 'failed')),
    reason           text,
    attempts         integer     not null default 1,
    recorded_at      timestamptz not null default now(),
    last_attempt_at  timestamptz not null default now(),
    alerted_at       timestamptz,
    released_at      timestamptz
);
create unique index if not exists load_quality_failed_once
    on {ops}.load_quality (load_key, component, category) where status = 'failed';
create index if not exists load_quality_by_category
    on {ops}.load_quality (category, recorded_at);
comment on table {ops}.load_quality is
    'Per load (one write of the postgres sink) and category: rows in, qualified, unqualified, out (inserted or updated in silver), nulls per nullable field, the thresholds applied, and whether the load was published or failed a gate.';
-- Gold views measured after each gold refresh (the views listed under the
-- sink's quality.gold), with the same published / failed status.
create table if not exists {ops}.gold_quality (
    id              bigint generated always as identity primary key,
    load_key        text        not null,
    pipeline        text        not null,
    component       text        not null,
    view_name       text        not null,
    row_count       bigint      not null,
    null_counts     jsonb       not null,
    thresholds      jsonb       not null,
    status          text        not null check (status in ('published', 'failed')),
    reason          text,
    attempts        integer     not null default 1,
    recorded_at     timestamptz not null default now(),
    last_attempt_at timestamptz not null default now(),
    alerted_at      timestamptz,
    released_at     timestamptz
);
create unique index if not exists gold_quality_failed_once
    on {ops}.gold_quality (load_key, component, view_name) where status = 'failed';
