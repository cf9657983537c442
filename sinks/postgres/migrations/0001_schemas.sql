-- The layers of the warehouse. `{ops}` itself and `{ops}.schema_migrations`
-- are created by the sink before any migration runs.
create schema if not exists {bronze};
create schema if not exists {silver};
create schema if not exists {gold};
