//! incremental extraction from Postgres and MariaDB/MySQL by an updated_at watermark. (work in progress).
