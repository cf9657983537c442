//! Built-in transforms: map, validate, enrich.
