//! `qdp access plan|apply|diff POLICY`: access as code (see `qdp-access`).
//!
//! Exit codes: 0 done / no drift, 1 drift (`diff`), 2 an error (a bad
//! policy, an unreachable database, a refused statement).

use clap::Subcommand;
use qdp_access::{Policy, Report, change};
use std::path::PathBuf;
use std::process::ExitCode;

/// Access subcommands.
#[derive(Subcommand)]
pub enum AccessCommand {
    /// Print the statements `apply` would run (passwords and hashes redacted).
    Plan {
        /// The access policy file.
        policy: PathBuf,
    },
    /// Apply the policy, idempotently: a second apply changes nothing.
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
    let path = match &cmd {
        AccessCommand::Plan { policy }
        | AccessCommand::Apply { policy }
        | AccessCommand::Diff { policy } => policy.clone(),
    };
    let policy = match Policy::load(&path) {
        Ok(p) => p,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = rt.block_on(async {
        match cmd {
            AccessCommand::Plan { .. } => qdp_access::plan(&policy).await.map(|r| print_plan(&r)),
            AccessCommand::Apply { .. } => {
                qdp_access::apply(&policy).await.map(|r| print_apply(&r))
            }
            AccessCommand::Diff { .. } => qdp_access::diff(&policy).await.map(|r| print_diff(&r)),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn print_plan(r: &Report) -> ExitCode {
    if r.is_empty() {
        println!("No changes: Postgres and ClickHouse match the policy.");
        return ExitCode::SUCCESS;
    }
    for (target, changes) in [("Postgres", &r.postgres), ("ClickHouse", &r.clickhouse)] {
        if changes.is_empty() {
            continue;
        }
        println!("-- {target}: {} change(s)", changes.len());
        // SQL statements end in `;`; the ClickHouse change is a file's content.
        let end = if target == "Postgres" { ";" } else { "" };
        for s in change::ordered(changes) {
            println!("{}{end}", s.shown);
        }
    }
    ExitCode::SUCCESS
}

fn print_apply(r: &Report) -> ExitCode {
    if r.is_empty() {
        println!("No changes: Postgres and ClickHouse already match the policy.");
    } else {
        for c in r.changes() {
            println!("applied: {c}");
        }
        println!("{} change(s) applied.", r.changes().count());
    }
    ExitCode::SUCCESS
}

fn print_diff(r: &Report) -> ExitCode {
    if r.is_empty() {
        println!("No drift: Postgres and ClickHouse match the policy.");
        return ExitCode::SUCCESS;
    }
    for c in r.changes() {
        println!("{c}");
    }
    println!(
        "{} difference(s); `qdp access apply` repairs them.",
        r.changes().count()
    );
    ExitCode::from(1)
}
