//! The data catalogue and its lineage, built from schemas and pipeline files.
