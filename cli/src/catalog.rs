//! `qdp catalog build --out DIR`: the data catalogue (see `qdp-catalog`).

use clap::Subcommand;
use std::path::PathBuf;

/// Catalogue subcommands.
#[derive(Subcommand)]
pub enum CatalogCommand {
    /// Build the catalogue as HTML, Markdown and JSON.
    Build {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs a catalogue subcommand.
pub async fn main(cmd: CatalogCommand) -> Result<(), String> {
    let _ = cmd;
    Err("not built yet".into())
}
