//! `qdp access plan|apply|diff POLICY`: access as code (see `qdp-access`).

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

/// Access subcommands.
#[derive(Subcommand)]
pub enum AccessCommand {
    /// Print the statements `apply` would run.
    Plan {
        /// The access policy file.
        policy: PathBuf,
    },
    /// Apply the policy, idempotently.
    Apply {
        /// The access policy file.
        policy: PathBuf,
    },
    /// Report drift between the policy and the databases; exit 1 on drift.
    Diff {
        /// The access policy file.
        policy: PathBuf,
    },
}

/// Runs an access subcommand.
pub fn main(cmd: AccessCommand) -> ExitCode {
    let _ = cmd;
    eprintln!("error: not built yet");
    ExitCode::from(2)
}
