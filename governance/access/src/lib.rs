//! Access as code: an `access.toml` policy planned, applied and checked for drift.
