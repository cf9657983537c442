//! the Postgres warehouse (bronze, silver with upserts, unqualified, gold refresh). (work in progress).
