//! The `qdp` command line: run and check pipelines, inspect plugins,
//! category schemas and disk buffers, and run the benchmarks.

mod access;
mod bench;
mod bench_buffer;
mod bench_history;
mod bench_macro;
mod bench_realtime;
mod bench_realtime_raw;
mod buffer;
mod catalog;
mod demo_macro;
mod demo_realtime;
mod iceberg;
mod lineage;
mod logging;
mod plugins;
mod reconcile;
mod reconcile_count;
mod reconcile_read;
mod run;
mod schemas;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "qdp",
    version,
    about = "qdp: a plugin-based connector framework for quant data platforms"
)]
struct Cli {
    /// Log format: text or json (default: the pipeline's `log.format`, else text).
    #[arg(long, global = true)]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline until its sources end, or SIGINT/SIGTERM, then drain and exit.
    Run {
        /// The pipeline file.
        file: PathBuf,
        /// Stop (gracefully) after this long, e.g. 20s.
        #[arg(long = "for")]
        run_for: Option<String>,
        /// Print a summary as JSON on stdout at the end.
        #[arg(long)]
        summary_json: bool,
        /// Run every scheduled source (`schedule`, `release_calendar`) for
        /// one pass now, then drain and exit (for an external scheduler).
        #[arg(long)]
        once: bool,
        /// Release drills: scheduled sources read a clock that runs at wall
        /// speed while work happens and jumps ahead whenever every one of
        /// them waits; its offset is kept in this file (created when
        /// missing), so a restarted run goes on at the same time.
        #[arg(long, value_name = "CLOCK_FILE")]
        fast_forward: Option<PathBuf>,
    },
    /// Check a pipeline file and every component it names, without running it.
    Validate {
        /// The pipeline file.
        file: PathBuf,
    },
    /// List or inspect plugins.
    Plugins {
        #[command(subcommand)]
        command: plugins::PluginsCommand,
    },
    /// Inspect or verify a disk buffer directory.
    Buffer {
        #[command(subcommand)]
        command: buffer::BufferCommand,
    },
    /// Access as code: plan, apply or diff the roles and grants an
    /// access policy file declares, on Postgres and ClickHouse.
    Access {
        #[command(subcommand)]
        command: access::AccessCommand,
    },
    /// Build the data catalogue: datasets, fields, owners, classification
    /// and lineage of every pipeline.
    Catalog {
        #[command(subcommand)]
        command: catalog::CatalogCommand,
    },
    /// Inspect and compact the Iceberg tables a pipeline writes.
    Iceberg {
        #[command(subcommand)]
        command: iceberg::IcebergCommand,
    },
    /// List category schemas, or print one with its glossary.
    Schemas {
        /// A schema name; without it, all are listed.
        name: Option<String>,
        /// md or json.
        #[arg(long, default_value = "md")]
        format: String,
    },
    /// Check from the Kafka topics that every raw row became a category or
    /// unqualified row; exit 1 on any imbalance, 2 on usage or connection errors.
    Reconcile(reconcile::ReconcileArgs),
    /// Run the realtime lane (feed → Kafka → ClickHouse) on throwaway local
    /// services, when they are installed.
    DemoRealtime {
        /// Simulated ticks to send.
        #[arg(long, default_value_t = 200_000)]
        ticks: u64,
    },
    /// Run the batch lane (EIA and CFTC samples served on loopback → lake +
    /// Postgres warehouse) with examples/pipelines/macro-warehouse.toml, when
    /// a Postgres is reachable.
    DemoMacro {
        /// A Postgres the demo may create `qdp_demo_warehouse` on.
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        postgres: String,
        /// The database the demo (re)creates as its warehouse.
        #[arg(long, default_value = "qdp_demo_warehouse")]
        database: String,
    },
    /// Run a benchmark and print its `bench ...` line.
    Bench {
        /// Which benchmark: foundation, buffer, realtime, macro or history.
        #[arg(default_value = "foundation")]
        name: String,
        /// Ticks to push through (default: 5M for foundation, realtime and history, 2M for buffer).
        #[arg(long)]
        ticks: Option<u64>,
        /// Repetitions; medians are reported.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// macro: weekly releases simulated.
        #[arg(long, default_value_t = 100)]
        releases: usize,
        /// macro: seed of the faults and the numbers.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// macro: a Postgres the run may create a throwaway database on.
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        postgres: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Reconcile(args) = &cli.command {
        return reconcile::main(args);
    }
    if let Command::Access { command } = cli.command {
        // Exit codes of its own: `diff` exits 1 on drift.
        return access::main(command);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Run {
                file,
                run_for,
                summary_json,
                once,
                fast_forward,
            } => {
                run::run(
                    &file,
                    run::RunFlags {
                        run_for: run_for.as_deref(),
                        summary_json,
                        once,
                        fast_forward: fast_forward.as_deref(),
                    },
                    cli.log_format.as_deref(),
                )
                .await
            }
            Command::Validate { file } => {
                logging::init(cli.log_format.as_deref().unwrap_or("text"));
                run::validate(&file).await
            }
            Command::Plugins { command } => plugins::main(command),
            Command::Buffer { command } => buffer::main(command),
            Command::Iceberg { command } => iceberg::main(command).await,
            Command::Catalog { command } => catalog::main(command).await,
            // Run above: it has exit codes of its own.
            Command::Access { .. } => Ok(()),
            Command::Schemas { name, format } => schemas::main(name.as_deref(), &format),
            // Run above: it has exit codes of its own.
            Command::Reconcile(_) => Ok(()),
            Command::DemoMacro { postgres, database } => {
                logging::init(cli.log_format.as_deref().unwrap_or("text"));
                demo_macro::run(&postgres, &database).await
            }
            Command::DemoRealtime { ticks } => {
                logging::init(cli.log_format.as_deref().unwrap_or("text"));
                demo_realtime::run(ticks).await
            }
            Command::Bench {
                name,
                ticks,
                runs,
                releases,
                seed,
                postgres,
            } => {
                logging::init(cli.log_format.as_deref().unwrap_or("text"));
                if name == "macro" {
                    bench_macro::run(bench_macro::Args {
                        releases: releases.max(1),
                        seed,
                        admin_url: postgres,
                        limit: std::time::Duration::from_secs(40 * 60),
                    })
                    .await
                } else {
                    bench::main(&name, ticks, runs).await
                }
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("{}", msg.trim_end());
            ExitCode::FAILURE
        }
    }
}
