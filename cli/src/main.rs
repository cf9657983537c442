//! The `qdp` command line.
fn main() {}
